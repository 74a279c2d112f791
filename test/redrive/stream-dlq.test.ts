/**
 * `redrive stream-dlq` end to end: a commit whose dispatch keeps failing lands, via the stream poller's on-failure
 * destination, in the local SQS as Lambda's on-failure record; the redrive reads the stream at its coordinates,
 * loads the outbox item (consistent read), dispatches it with the dispatcher and deletes the message.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_AWS_CONFIG } from '../../lib/local/dynamodb-local.js';
import { streamFailureToSqs } from '../../lib/local/sqs-destination.js';
import { startLocalSqs, type LocalSqs } from '../../lib/local/sqs-endpoint.js';
import { redriveStreamDlq } from '../../lib/redrive/stream-dlq.js';
import { inUnitOfWork, messagesAbout } from '../support/jobs.js';
import { startTestStack, testDispatcher, type TestStack } from '../support/local-stack.js';

let stack: TestStack;
let sqs: LocalSqs;
let sqsClient: SQSClient;
let streams: DynamoDBStreamsClient;
let queueUrl: string;

beforeAll(async () => {
  sqs = await startLocalSqs();
  queueUrl = sqs.createQueue('stream-dlq');
  sqsClient = new SQSClient({ endpoint: sqs.endpoint, ...LOCAL_AWS_CONFIG, maxAttempts: 1 });
  stack = await startTestStack({ poller: { onFailure: streamFailureToSqs({ client: sqsClient, queueUrl }) } });
  streams = new DynamoDBStreamsClient({ endpoint: process.env.DYNAMODB_ENDPOINT, ...LOCAL_AWS_CONFIG });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
  streams?.destroy();
  sqsClient?.destroy();
  await sqs?.stop();
});

const redrive = (extra: Partial<Parameters<typeof redriveStreamDlq>[0]> = {}) =>
  redriveStreamDlq({
    sqs: sqsClient,
    queueUrl,
    streams,
    dynamodb: stack.clients.dynamodb,
    dispatcher: testDispatcher(stack),
    ...extra,
  });
const eventsWith = (id: string) => stack.eventBridge.events.filter((e) => JSON.stringify(e.detail).includes(id));

/** Commits an event and a job while EventBridge fails every call, until the batch is in the on-failure queue. */
async function failedCommit(): Promise<{ id: string; key: string }> {
  const id = randomUUID();
  const key = `job-${id}`;
  stack.eventBridge.failNext(10_000, { operation: 'PutEvents', type: 'InternalException', status: 500 });
  try {
    await inUnitOfWork(stack.doc, stack.tableName, (uow) => {
      uow.publish({ type: 'OrderPlaced', data: { id } });
      uow.schedule({ job: 'expire', payload: { id }, key, delay: 900 });
    });
    await stack.drain(20_000);
  } finally {
    stack.eventBridge.clearFaults();
  }
  expect(sqs.messages('stream-dlq').length).toBeGreaterThan(0);
  return { id, key };
}

describe('redriveStreamDlq', () => {
  it("the on-failure message is Lambda's record (DDBStreamBatchInfo, no local extras); --dry-run changes nothing; the redrive dispatches and deletes", async () => {
    const { id, key } = await failedCommit();
    const body = JSON.parse(sqs.messages('stream-dlq')[0]!.body);
    expect(body).toMatchObject({
      version: '1.0',
      requestContext: { condition: 'RetryAttemptsExhausted' },
      DDBStreamBatchInfo: { shardId: expect.any(String), streamArn: stack.streamArn },
    });
    expect(body.records).toBeUndefined();
    expect(eventsWith(id)).toHaveLength(0);

    const dry = await redrive({ dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, received: 1, deleted: 0, kept: 1 });
    expect(dry.messages[0]).toMatchObject({
      outcome: 'would-dispatch',
      items: [expect.stringMatching(/^outbox#/)],
      missing: [],
    });
    expect(eventsWith(id)).toHaveLength(0);
    expect(sqs.counts('stream-dlq')).toEqual({ visible: 1, notVisible: 0, delayed: 0 });

    const done = await redrive();
    expect(done).toMatchObject({
      dryRun: false,
      received: 1,
      deleted: 1,
      kept: 0,
      messages: [expect.objectContaining({ outcome: 'dispatched' })],
    });
    expect(eventsWith(id).map((e) => e.detailType)).toEqual(['OrderPlaced']);
    expect(stack.scheduler.getSchedule(key)).toBeDefined();
    expect(sqs.messages('stream-dlq')).toHaveLength(0);
  }, 60_000);

  it('a redrive whose dispatch fails again keeps the message (visible again) and says why; a later redrive publishes the event with its committed id', async () => {
    const { id } = await failedCommit();
    stack.eventBridge.failNext(10_000, { operation: 'PutEvents', type: 'InternalException', status: 500 });
    const again = await redrive({ dispatcher: testDispatcher(stack, { retry: { maxAttempts: 1 } }) });
    stack.eventBridge.clearFaults();
    expect(again).toMatchObject({
      deleted: 0,
      kept: 1,
      messages: [
        expect.objectContaining({ outcome: 'failed', reason: expect.stringMatching(/^not dispatched: outbox#/) }),
      ],
    });
    expect(sqs.counts('stream-dlq').visible).toBe(1);
    expect((await redrive()).deleted).toBe(1);
    expect(eventsWith(id)).toHaveLength(1);
    // the event keeps the id it was committed with (a repeated redrive publishes the same id: consumers dedupe on it)
    const committed = (await messagesAbout(stack.doc, stack.tableName, id)).find((m) => m.kind === 'event');
    expect((eventsWith(id)[0]!.detail as { id: string }).id).toBe(
      committed?.kind === 'event' ? committed.event.id : 'missing',
    );
  }, 60_000);

  it('an outbox item that is gone (TTL) makes the message incomplete: kept, nothing dispatched', async () => {
    const { id } = await failedCommit();
    const info = JSON.parse(sqs.messages('stream-dlq')[0]!.body).DDBStreamBatchInfo;
    expect(info.startSequenceNumber).toBeDefined();
    const dry = await redrive({ dryRun: true });
    const [pk, sk] = (dry.messages[0]!.items[0] as string).split('/');
    await stack.clients.dynamodb.send(
      new DeleteItemCommand({ TableName: stack.tableName, Key: { pk: { S: pk! }, sk: { S: sk! } } }),
    );
    const result = await redrive();
    expect(result).toMatchObject({
      deleted: 0,
      kept: 1,
      messages: [expect.objectContaining({ outcome: 'incomplete', missing: [`${pk}/${sk}`] })],
    });
    expect(eventsWith(id)).toHaveLength(0);
    await sqsClient.send(new (await import('@aws-sdk/client-sqs')).PurgeQueueCommand({ QueueUrl: queueUrl }));
  }, 60_000);

  it('a message that is not an on-failure record is kept as unreadable', async () => {
    await sqsClient.send(
      new (await import('@aws-sdk/client-sqs')).SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{"hello":1}' }),
    );
    const result = await redrive();
    expect(result.messages).toEqual([expect.objectContaining({ outcome: 'unreadable' })]);
    expect(result.kept).toBe(1);
    await sqsClient.send(new (await import('@aws-sdk/client-sqs')).PurgeQueueCommand({ QueueUrl: queueUrl }));
  });
});
