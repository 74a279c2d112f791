import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type DynamoDBStreamsClient,
  type Shard,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import { matchesAnyPattern, type EventPattern } from './event-pattern.js';
import { toLambdaRecord } from './stream-record.js';

const REFRESH_MS = 1000;

/** Reads one shard: its iterator, the filtered records fetched but not yet handed out. */
export class ShardHandle {
  private iterator: string | undefined;
  private started = false;
  private lastSequence: string | undefined;
  private backlog: DynamoDBRecord[] = [];
  /** Whether the last `take` read any record from the stream (filtered out or not). */
  fetched = false;

  constructor(
    private readonly reader: ShardReader,
    readonly shardId: string,
    readonly parentId: string | undefined,
    private readonly position: 'TRIM_HORIZON' | 'LATEST',
  ) {}

  /** No record is left and the shard is closed. */
  get exhausted(): boolean {
    return this.started && this.iterator === undefined && this.backlog.length === 0;
  }

  private async acquire(): Promise<void> {
    const { client, streamArn } = this.reader;
    const out = await client.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId: this.shardId,
        ...(this.lastSequence
          ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: this.lastSequence }
          : { ShardIteratorType: this.position }),
      }),
    );
    this.iterator = out.ShardIterator;
    this.started = true;
  }

  /** Up to `max` filtered records, in order; reads the stream once when nothing is buffered. */
  async take(max: number): Promise<DynamoDBRecord[]> {
    this.fetched = false;
    if (!this.started) await this.acquire();
    if (this.backlog.length === 0 && this.iterator) {
      let out;
      try {
        out = await this.reader.client.send(new GetRecordsCommand({ ShardIterator: this.iterator, Limit: 1000 }));
      } catch (error) {
        // DynamoDB Local answers TrimmedDataAccessException for an iterator that idled on an empty shard: start over from the checkpoint.
        if (
          (error as Error).name !== 'ExpiredIteratorException' &&
          (error as Error).name !== 'TrimmedDataAccessException'
        )
          throw error;
        await this.acquire();
        out = await this.reader.client.send(new GetRecordsCommand({ ShardIterator: this.iterator!, Limit: 1000 }));
      }
      const records = out.Records ?? [];
      this.fetched = records.length > 0;
      this.iterator = out.NextShardIterator ?? undefined;
      for (const r of records) {
        this.lastSequence = r.dynamodb?.SequenceNumber ?? this.lastSequence;
        const lambda = toLambdaRecord(r, this.reader.streamArn, this.reader.region);
        if (matchesAnyPattern(this.reader.patterns, lambda)) this.backlog.push(lambda);
      }
    }
    return this.backlog.splice(0, max);
  }
}

/** Discovers the shards of a stream (DescribeStream) and keeps one {@link ShardHandle} per shard. */
export class ShardReader {
  private readonly handles = new Map<string, ShardHandle>();
  private refreshedAt = 0;
  private firstRefresh = true;
  private exhaustedSeen = 0;

  constructor(
    readonly client: DynamoDBStreamsClient,
    readonly streamArn: string,
    readonly region: string,
    readonly patterns: readonly EventPattern[],
    private readonly startingPosition: 'TRIM_HORIZON' | 'LATEST',
  ) {}

  private async describe(): Promise<Shard[]> {
    const shards: Shard[] = [];
    let start: string | undefined;
    do {
      const out = await this.client.send(
        new DescribeStreamCommand({ StreamArn: this.streamArn, ...(start ? { ExclusiveStartShardId: start } : {}) }),
      );
      shards.push(...(out.StreamDescription?.Shards ?? []));
      start = out.StreamDescription?.LastEvaluatedShardId;
    } while (start);
    return shards;
  }

  private async refresh(): Promise<void> {
    for (const shard of await this.describe()) {
      if (!shard.ShardId || this.handles.has(shard.ShardId)) continue;
      const closed = shard.SequenceNumberRange?.EndingSequenceNumber !== undefined;
      // At start with LATEST, closed shards hold only old records: skip them; new (child) shards start at their beginning.
      const position = this.firstRefresh && this.startingPosition === 'LATEST' ? 'LATEST' : 'TRIM_HORIZON';
      if (this.firstRefresh && this.startingPosition === 'LATEST' && closed) continue;
      this.handles.set(shard.ShardId, new ShardHandle(this, shard.ShardId, shard.ParentShardId, position));
    }
    this.firstRefresh = false;
    this.refreshedAt = Date.now();
  }

  /**
   * The shards to read now, parents before children: a child is returned only once its parent is
   * exhausted and `isDone(parent)` says its batches are handled.
   */
  async shards(isDone: (shardId: string) => boolean = () => true): Promise<ShardHandle[]> {
    // Look for new shards now and then, and at once when a shard closed (its children hold the next records).
    const exhausted = [...this.handles.values()].filter((h) => h.exhausted).length;
    if (this.firstRefresh || exhausted > this.exhaustedSeen || Date.now() - this.refreshedAt > REFRESH_MS) {
      this.exhaustedSeen = exhausted;
      await this.refresh();
    }
    const ready: ShardHandle[] = [];
    for (const h of this.handles.values()) {
      if (h.exhausted && isDone(h.shardId)) continue;
      const parent = h.parentId ? this.handles.get(h.parentId) : undefined;
      if (parent && !(parent.exhausted && isDone(parent.shardId))) continue;
      ready.push(h);
    }
    return ready;
  }

  /** Whether any shard read records in its last `take`. */
  fetchedInLastRound(): boolean {
    return [...this.handles.values()].some((h) => h.fetched);
  }
}

/**
 * Splits a shard's records into `factor` lanes by partition key (the item's key, `dynamodb.Keys`), as Lambda's
 * `ParallelizationFactor` does: records of one key always land in the same lane, in stream order, so they are never
 * in two concurrent batches. Each lane is cut into batches of at most `batchSize` records.
 */
export function laneBatches(
  records: readonly DynamoDBRecord[],
  factor: number,
  batchSize: number,
): DynamoDBRecord[][][] {
  const lanes: DynamoDBRecord[][] = Array.from({ length: factor }, () => []);
  for (const record of records) lanes[laneOf(record, factor)]!.push(record);
  return lanes.map((lane) => {
    const batches: DynamoDBRecord[][] = [];
    for (let i = 0; i < lane.length; i += batchSize) batches.push(lane.slice(i, i + batchSize));
    return batches;
  });
}

/** The lane of a record's partition key: a stable hash (FNV-1a) of its key attributes, sorted by name. */
function laneOf(record: DynamoDBRecord, factor: number): number {
  if (factor === 1) return 0;
  const keys = record.dynamodb?.Keys ?? {};
  const text = JSON.stringify(
    Object.keys(keys)
      .sort()
      .map((name) => [name, keys[name]]),
  );
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % factor;
}
