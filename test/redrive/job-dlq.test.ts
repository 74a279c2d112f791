/**
 * `redrive job-dlq` end to end: the Scheduler cannot deliver (the job runner is down), the delivery lands in the
 * local SQS job DLQ as the Scheduler sends it (body = target input); the redrive runs it (with a runner) or
 * reschedules it through a unit of work, and drops deliveries the job record no longer calls for.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { SQSClient } from '@aws-sdk/client-sqs';
import { jobRunner, type JobRunnerInput } from '../../lib/jobs/index.js';
import { LOCAL_AWS_CONFIG } from '../../lib/local/dynamodb-local.js';
import { schedulerDeadLetterToSqs } from '../../lib/local/sqs-destination.js';
import { startLocalSqs, type LocalSqs } from '../../lib/local/sqs-endpoint.js';
import { jobDlqAction, redriveJobDlq } from '../../lib/redrive/job-dlq.js';
import { inUnitOfWork, jobRecord, memoryLogger } from '../support/jobs.js';
import { LOCAL_ARNS, startTestStack, type TestStack } from '../support/local-stack.js';

let stack: TestStack;
let sqs: LocalSqs;
let sqsClient: SQSClient;
let queueUrl: string;
let deadLetters: ReturnType<typeof schedulerDeadLetterToSqs>;
let runnerDown = true;
const runs: string[] = [];
let runner: ReturnType<typeof jobRunner>;

beforeAll(async () => {
  sqs = await startLocalSqs();
  queueUrl = sqs.createQueue('job-dlq');
  sqsClient = new SQSClient({ endpoint: sqs.endpoint, ...LOCAL_AWS_CONFIG, maxAttempts: 1 });
  deadLetters = schedulerDeadLetterToSqs({ client: sqsClient, queueUrl });
  stack = await startTestStack({
    scheduler: { onDeadLetter: deadLetters },
    dispatcher: { scheduleRetryPolicy: { maximumRetryAttempts: 0, maximumEventAgeInSeconds: 60 } },
  });
  runner = jobRunner({
    jobs: { work: async (_p: unknown, { job }) => void runs.push(job.key) },
    outboxTable: stack.tableName,
    client: stack.doc,
    source: 'redrive-test',
    logger: memoryLogger(),
    clock: () => stack.scheduler.clock.now(),
  });
  stack.scheduler.registerTarget(LOCAL_ARNS.jobRunner, async (event, context) => {
    if (runnerDown) throw Object.assign(new Error('Rate Exceeded.'), { name: 'TooManyRequestsException' });
    return runner(event as JobRunnerInput, {
      awsRequestId: context.executionId,
      getRemainingTimeInMillis: () => 30_000,
    });
  });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
  sqsClient?.destroy();
  await sqs?.stop();
});

const run = (input: JobRunnerInput) =>
  runner(input, { awsRequestId: input.executionId, getRemainingTimeInMillis: () => 30_000 });
const redrive = (extra: Partial<Parameters<typeof redriveJobDlq>[0]> = {}) =>
  redriveJobDlq({
    sqs: sqsClient,
    queueUrl,
    outboxTable: stack.tableName,
    dynamodb: stack.doc,
    now: () => stack.scheduler.clock.now(),
    ...extra,
  });

/** A job whose delivery the Scheduler dead-lettered (the runner was down). */
async function deadLettered(): Promise<string> {
  const key = `dl-${randomUUID()}`;
  await inUnitOfWork(stack.doc, stack.tableName, (uow) =>
    uow.schedule({ job: 'work', payload: { key }, key, at: new Date(stack.scheduler.clock.now() + 60_000) }),
  );
  await stack.drain();
  runnerDown = true;
  await stack.scheduler.advanceToNext(key);
  await deadLetters.settled();
  runnerDown = false;
  expect(sqs.messages('job-dlq').some((m) => JSON.parse(m.body).key === key)).toBe(true);
  return key;
}

describe('redriveJobDlq', () => {
  it("the DLQ message is the target input with the Scheduler's error attributes; with a runner the redrive runs it once and deletes it", async () => {
    const key = await deadLettered();
    const message = sqs.messages('job-dlq')[0]!;
    expect(JSON.parse(message.body)).toMatchObject({
      key,
      version: 1,
      name: 'work',
      scheduledTime: expect.stringMatching(/Z$/),
    });
    expect(message.attributes.ERROR_CODE).toEqual({ DataType: 'String', StringValue: 'TooManyRequestsException' });
    const dry = await redrive({ run, dryRun: true });
    expect(dry.messages).toEqual([expect.objectContaining({ key, action: 'run', result: 'would' })]);
    expect(runs).not.toContain(key);
    const done = await redrive({ run });
    expect(done).toMatchObject({
      deleted: 1,
      kept: 0,
      messages: [
        expect.objectContaining({
          key,
          action: 'run',
          result: 'done',
          runResult: expect.objectContaining({ outcome: 'succeeded' }),
        }),
      ],
    });
    expect(runs.filter((k) => k === key)).toHaveLength(1);
    expect(await jobRecord(stack.doc, stack.tableName, key)).toMatchObject({ jobStatus: 'SUCCEEDED' });
    expect(sqs.messages('job-dlq')).toHaveLength(0);
  });

  it('without a runner it reschedules to now through a unit of work; the dispatcher re-creates the schedule and it runs', async () => {
    const key = await deadLettered();
    const done = await redrive();
    expect(done.messages).toEqual([expect.objectContaining({ key, action: 'reschedule', result: 'done' })]);
    const record = await jobRecord(stack.doc, stack.tableName, key);
    expect(record).toMatchObject({ jobStatus: 'SCHEDULED' });
    expect(record!.version).toBeGreaterThan(1);
    await stack.drain();
    expect(JSON.parse(stack.scheduler.getSchedule(key)!.Target.Input!)).toMatchObject({ version: record!.version });
    await stack.scheduler.advance(5_000);
    expect(runs.filter((k) => k === key)).toHaveLength(1);
  });

  it('drops a delivery the job moved on from (cancelled), and running the same message twice concurrently runs the job once', async () => {
    const cancelled = await deadLettered();
    await inUnitOfWork(stack.doc, stack.tableName, (uow) => uow.cancelJob(cancelled));
    const dropped = await redrive({ run });
    expect(dropped.messages).toEqual([
      expect.objectContaining({
        key: cancelled,
        action: 'drop',
        reason: expect.stringMatching(/^superseded by job record version|the job is CANCELLED/),
      }),
    ]);
    expect(runs).not.toContain(cancelled);

    const key = await deadLettered();
    const body = JSON.parse(sqs.messages('job-dlq')[0]!.body) as JobRunnerInput;
    // two redrives racing on a duplicated message (SQS at-least-once): the runner's claim lets one run
    await sqsClient.send(
      new (await import('@aws-sdk/client-sqs')).SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify(body),
      }),
    );
    const raced = await Promise.all([redrive({ run, maxMessages: 1 }), redrive({ run, maxMessages: 1 })]);
    expect(runs.filter((k) => k === key)).toHaveLength(1);
    // the loser either found the job done (dropped), or met the winner's live lease: before its run (kept by
    // the record read) or inside it (the runner's claim failed); either way the message stays, visible again
    const kept = raced.flatMap((r) => r.messages).filter((m) => m.action === 'keep' || m.result === 'failed');
    for (const m of kept)
      expect(m.reason).toMatch(/JobLeaseHeldError|RUNNING under another runner's lease|RUNNING under a lease until/);
    const after = await redrive({ run });
    expect(after.messages.map((m) => m.reason)).toEqual(kept.map(() => 'the job is SUCCEEDED'));
    expect(sqs.messages('job-dlq')).toHaveLength(0);
    expect(runs.filter((k) => k === key)).toHaveLength(1);
  });
});

it('a redrive never chases its own output: a dead letter that arrives while it runs is left for the next run', async () => {
  const key = await deadLettered();
  const { SendMessageCommand } = await import('@aws-sdk/client-sqs');
  let calls = 0;
  // a delivery that fails again and is dead-lettered again while the redrive runs (the runner is still down)
  const failingRun = async (input: JobRunnerInput) => {
    if (++calls <= 5)
      await sqsClient.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(input) }));
    return { outcome: 'failed' };
  };
  await new Promise((r) => setTimeout(r, 5)); // SentTimestamp has ms resolution: the next message is newer
  const summary = await redrive({ run: failingRun });
  expect(calls).toBe(1);
  expect(summary).toMatchObject({ received: 1, deleted: 1, newer: 1 });
  expect(sqs.messages('job-dlq').filter((m) => JSON.parse(m.body).key === key)).toHaveLength(1);
  await sqsClient.send(new (await import('@aws-sdk/client-sqs')).PurgeQueueCommand({ QueueUrl: queueUrl }));
});

describe('jobDlqAction (pure)', () => {
  const rec = (over: Record<string, unknown>) =>
    ({ jobId: 'j', version: 3, jobStatus: 'SCHEDULED', schedule: { at: '2030-01-01T00:00:00Z' }, ...over }) as never;
  it('decides by the job record', () => {
    expect(jobDlqAction(undefined, { jobId: 'j', version: 3 }, 0, true).action).toBe('drop');
    expect(jobDlqAction(rec({ jobId: 'other' }), { jobId: 'j', version: 3 }, 0, true).action).toBe('drop');
    expect(jobDlqAction(rec({ version: 4 }), { jobId: 'j', version: 3 }, 0, true).reason).toBe(
      'superseded by job record version 4',
    );
    expect(jobDlqAction(rec({ jobStatus: 'SUCCEEDED' }), { jobId: 'j', version: 3 }, 0, true).action).toBe('drop');
    expect(
      jobDlqAction(rec({ jobStatus: 'RUNNING', leaseUntil: 10 }), { jobId: 'j', version: 3 }, 5, true).action,
    ).toBe('keep');
    expect(
      jobDlqAction(rec({ jobStatus: 'RUNNING', leaseUntil: 10 }), { jobId: 'j', version: 3 }, 11, true).action,
    ).toBe('run');
    expect(jobDlqAction(rec({ jobStatus: 'FAILED' }), { jobId: 'j', version: 3 }, 0, false).action).toBe('reschedule');
    expect(jobDlqAction(rec({ schedule: { rate: '5 minutes' } }), { jobId: 'j', version: 3 }, 0, false).action).toBe(
      'keep',
    );
  });
});
