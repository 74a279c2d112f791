/** The `lambda-unit-of-work` CLI, in process and as the executable, against the local stack and the local SQS. */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { SQSClient } from '@aws-sdk/client-sqs';
import { runCli } from '../../lib/cli/main.js';
import { jobRunner, type JobRunnerInput } from '../../lib/jobs/index.js';
import { LOCAL_AWS_CONFIG } from '../../lib/local/dynamodb-local.js';
import { streamFailureToSqs } from '../../lib/local/sqs-destination.js';
import { startLocalSqs, type LocalSqs } from '../../lib/local/sqs-endpoint.js';
import { inUnitOfWork, jobRecord, memoryLogger } from '../support/jobs.js';
import { LOCAL_ARNS, startTestStack, type TestStack } from '../support/local-stack.js';

let stack: TestStack;
let sqs: LocalSqs;
let sqsClient: SQSClient;
let env: Record<string, string>;

beforeAll(async () => {
  sqs = await startLocalSqs();
  sqs.createQueue('stream-dlq');
  sqsClient = new SQSClient({ endpoint: sqs.endpoint, ...LOCAL_AWS_CONFIG, maxAttempts: 1 });
  stack = await startTestStack({
    poller: { onFailure: streamFailureToSqs({ client: sqsClient, queueUrl: sqs.queueUrl('stream-dlq') }) },
  });
  const runner = jobRunner({
    jobs: {
      work: async () => {
        throw new Error('card declined');
      },
    },
    outboxTable: stack.tableName,
    client: stack.doc,
    source: 'cli-test',
    logger: memoryLogger(),
    clock: () => stack.scheduler.clock.now(),
  });
  stack.scheduler.registerTarget(LOCAL_ARNS.jobRunner, (event, context) =>
    runner(event as JobRunnerInput, { awsRequestId: context.executionId, getRemainingTimeInMillis: () => 30_000 }),
  );
  env = {
    ...stack.env,
    DYNAMODB_ENDPOINT: process.env.DYNAMODB_ENDPOINT!,
    SQS_ENDPOINT: sqs.endpoint,
    SCHEDULER_ENDPOINT: stack.scheduler.endpoint,
    EVENTBRIDGE_ENDPOINT: stack.eventBridge.endpoint,
    UOW_STREAM_DLQ_URL: sqs.queueUrl('stream-dlq'),
  };
}, 60_000);
afterAll(async () => {
  await stack?.stop();
  sqsClient?.destroy();
  await sqs?.stop();
});

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (t) => out.push(t), err: (t) => err.push(t), env });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function deadJob(): Promise<string> {
  const key = `cli-${randomUUID()}`;
  await inUnitOfWork(stack.doc, stack.tableName, (uow) =>
    uow.schedule({
      job: 'work',
      payload: { n: 1 },
      key,
      at: new Date(stack.scheduler.clock.now() + 60_000),
      maxAttempts: 1,
    }),
  );
  await stack.drain();
  await stack.scheduler.advanceToNext(key);
  await stack.drain();
  return key;
}

describe('lambda-unit-of-work CLI', () => {
  it('jobs list / retry (dry run, then for real) / cancel', async () => {
    const key = await deadJob();
    const listed = await cli('jobs', 'list', 'DEAD');
    expect(listed.code).toBe(0);
    expect(listed.out).toMatch(new RegExp(`^DEAD\\s+${key}\\s+work\\s+1/1\\s+.*Error: card declined$`, 'm'));
    const dry = await cli('jobs', 'retry', key, '--dry-run');
    expect(dry).toMatchObject({
      code: 0,
      out: expect.stringMatching(new RegExp(`^retry ${key} \\(dry run: nothing changed\\): the job is DEAD v1`)),
    });
    expect(await jobRecord(stack.doc, stack.tableName, key)).toMatchObject({ jobStatus: 'DEAD' });
    const real = await cli('jobs', 'retry', key, '--delay', '600');
    expect(real.out).toMatch(
      new RegExp(`^retry ${key}: DEAD v1 -> SCHEDULED v\\d+, due .*Z; the dispatcher re-creates its schedule$`),
    );
    await stack.drain();
    expect(stack.scheduler.getSchedule(key)).toBeDefined();
    const cancelled = await cli('jobs', 'cancel', key);
    expect(cancelled.out).toMatch(
      new RegExp(`^cancel ${key}: SCHEDULED v\\d+ -> CANCELLED v\\d+; the dispatcher deletes its schedule$`),
    );
    await stack.drain();
    expect(stack.scheduler.getSchedule(key)).toBeUndefined();
    const again = await cli('jobs', 'cancel', key);
    expect(again).toMatchObject({ code: 1, err: expect.stringMatching(/the job is already CANCELLED/) });
    expect(await cli('jobs', 'retry', `missing-${randomUUID()}`)).toMatchObject({
      code: 1,
      err: expect.stringMatching(/retryJob: there is no job with this key/),
    });
  }, 60_000);

  it('redrive stream-dlq: dry run lists, the real run dispatches and deletes', async () => {
    const id = randomUUID();
    stack.eventBridge.failNext(10_000, { operation: 'PutEvents', type: 'InternalException', status: 500 });
    await inUnitOfWork(stack.doc, stack.tableName, (uow) => void uow.publish({ type: 'OrderPlaced', data: { id } }));
    await stack.drain(20_000);
    stack.eventBridge.clearFaults();
    const dry = await cli('redrive', 'stream-dlq', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.out).toMatch(/would-dispatch\s+shardId-\S+\s+1\s+outbox#/);
    expect(dry.out).toMatch(
      /redrive stream-dlq \(dry run: nothing changed\): 1 messages, 0 deleted, 1 kept in the queue$/,
    );
    const real = await cli('redrive', 'stream-dlq');
    expect(real.out).toMatch(/dispatched\s+shardId-/);
    expect(real.out).toMatch(/redrive stream-dlq: 1 messages, 1 deleted, 0 kept in the queue$/);
    expect(stack.eventBridge.events.filter((e) => JSON.stringify(e.detail).includes(id))).toHaveLength(1);
  }, 60_000);

  it('bad usage exits 2 with the usage; the executable runs', async () => {
    expect(await cli('jobs', 'list', 'NOPE')).toMatchObject({
      code: 2,
      err: expect.stringMatching(/unknown status NOPE/),
    });
    // a status the job-status index does not hold: the CLI names its own flag, not the function's option
    const unindexed = await cli('jobs', 'list', 'SCHEDULED');
    expect(unindexed).toMatchObject({
      code: 2,
      err: expect.stringMatching(/SCHEDULED is not in the job-status index.*--scan/),
    });
    expect(unindexed.err).not.toMatch(/scan: true/);
    expect(await cli('jobs', 'list', 'SCHEDULED', '--scan')).toMatchObject({ code: 0 });
    // the index's statuses come from the CLI's environment, like every other setting
    const errors: string[] = [];
    const io = { out: () => {}, err: (t: string) => void errors.push(t) };
    const indexedEnv = { ...env, UOW_JOB_INDEX_STATUSES: 'SCHEDULED,FAILED,DEAD' };
    expect(await runCli(['jobs', 'list', 'SCHEDULED'], { ...io, env: indexedEnv })).toBe(0);
    expect(errors).toEqual([]);
    expect(await cli('frobnicate')).toMatchObject({ code: 2 });
    expect(await cli('redrive', 'job-dlq')).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--queue-url \(or UOW_JOB_DLQ_URL\) is required/),
    });
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['node_modules/tsx/dist/cli.mjs', 'lib/cli/bin.ts', '--help'],
      { env: { ...process.env, NODE_NO_WARNINGS: '1' } },
    );
    expect(stdout).toMatch(/^Usage: lambda-unit-of-work <command>/);
  }, 60_000);
});
