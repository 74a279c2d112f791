/** The local SQS through the real @aws-sdk/client-sqs (AwsJson1_0, query-compatible errors). */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import {
  BatchEntryIdsNotDistinct,
  BatchRequestTooLong,
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  EmptyBatchRequest,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  MessageNotInflight,
  QueueDoesNotExist,
  ReceiptHandleIsInvalid,
  ReceiveMessageCommand,
  RequestThrottled,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  TooManyEntriesInBatchRequest,
} from '@aws-sdk/client-sqs';
import { LOCAL_AWS_CONFIG } from '../../lib/local/dynamodb-local.js';
import { tokenBucketQuota } from '../../lib/local/quota.js';
import { startLocalSqs, type LocalSqs } from '../../lib/local/sqs-endpoint.js';

let sqs: LocalSqs;
let client: SQSClient;

beforeAll(async () => {
  sqs = await startLocalSqs({ clock: 'manual' });
  client = new SQSClient({ endpoint: sqs.endpoint, ...LOCAL_AWS_CONFIG, maxAttempts: 1 });
});
afterAll(async () => {
  client?.destroy();
  await sqs?.stop();
});

async function queue(attributes: Record<string, string> = {}): Promise<string> {
  return (await client.send(new CreateQueueCommand({ QueueName: `q-${randomUUID()}`, Attributes: attributes })))
    .QueueUrl!;
}
const receive = (QueueUrl: string, extra: Record<string, unknown> = {}) =>
  client.send(
    new ReceiveMessageCommand({
      QueueUrl,
      MaxNumberOfMessages: 10,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
      ...extra,
    }),
  );
const counts = async (QueueUrl: string) => {
  const a = (await client.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }))).Attributes!;
  return {
    visible: Number(a.ApproximateNumberOfMessages),
    notVisible: Number(a.ApproximateNumberOfMessagesNotVisible),
    delayed: Number(a.ApproximateNumberOfMessagesDelayed),
  };
};

describe('local SQS: messages', () => {
  it('sends and receives with message attributes (string, number, binary) and system attributes; the SDK checks the body MD5', async () => {
    const url = await queue();
    const sent = await client.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: 'héllo ✓',
        MessageAttributes: {
          kind: { DataType: 'String', StringValue: 'job' },
          n: { DataType: 'Number', StringValue: '42' },
          raw: { DataType: 'Binary', BinaryValue: new Uint8Array([1, 2, 255]) },
        },
      }),
    );
    expect(sent.MessageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(sent.MD5OfMessageAttributes).toMatch(/^[0-9a-f]{32}$/);
    const out = await receive(url);
    expect(out.Messages).toHaveLength(1);
    const m = out.Messages![0]!;
    expect(m).toMatchObject({
      MessageId: sent.MessageId,
      Body: 'héllo ✓',
      MD5OfMessageAttributes: sent.MD5OfMessageAttributes,
    });
    expect(m.Attributes).toMatchObject({ ApproximateReceiveCount: '1', SenderId: '000000000000' });
    expect(m.MessageAttributes?.kind).toEqual({ DataType: 'String', StringValue: 'job' });
    expect(Buffer.from(m.MessageAttributes!.raw!.BinaryValue!)).toEqual(Buffer.from([1, 2, 255]));
    const only = await client.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: 'x',
        MessageAttributes: {
          'a.b': { DataType: 'String', StringValue: '1' },
          c: { DataType: 'String', StringValue: '2' },
        },
      }),
    );
    const selected = await receive(url, { MessageAttributeNames: ['a.*'] });
    expect(selected.Messages?.find((x) => x.MessageId === only.MessageId)?.MessageAttributes).toEqual({
      'a.b': { DataType: 'String', StringValue: '1' },
    });
  });

  it('per-message DelaySeconds in a batch: delayed until the clock passes them', async () => {
    const url = await queue();
    const out = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: 'now', MessageBody: 'a' },
          { Id: 'later', MessageBody: 'b', DelaySeconds: 900 },
          { Id: 'mid', MessageBody: 'c', DelaySeconds: 60 },
        ],
      }),
    );
    expect(out.Successful?.map((s) => s.Id).sort()).toEqual(['later', 'mid', 'now']);
    expect(await counts(url)).toEqual({ visible: 1, notVisible: 0, delayed: 2 });
    const a = (await receive(url)).Messages!;
    expect(a.map((m) => m.Body)).toEqual(['a']);
    await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: a[0]!.ReceiptHandle }));
    sqs.advance(60_000);
    const c = (await receive(url)).Messages!;
    expect(c.map((m) => m.Body)).toEqual(['c']);
    await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: c[0]!.ReceiptHandle }));
    sqs.advance(840_000);
    expect((await receive(url)).Messages?.map((m) => m.Body)).toEqual(['b']);
    await expect(
      client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', DelaySeconds: 901 })),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue' });
  });

  it('visibility timeout: hidden while in flight, back with ApproximateReceiveCount 2; a stale receipt handle deletes nothing; ChangeMessageVisibility', async () => {
    const url = await queue({ VisibilityTimeout: '30' });
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'v' }));
    const first = (await receive(url)).Messages![0]!;
    expect(await counts(url)).toEqual({ visible: 0, notVisible: 1, delayed: 0 });
    expect((await receive(url)).Messages ?? []).toHaveLength(0);
    sqs.advance(30_000);
    const second = (await receive(url, { VisibilityTimeout: 10 })).Messages![0]!;
    expect(second.Attributes?.ApproximateReceiveCount).toBe('2');
    expect(second.ReceiptHandle).not.toBe(first.ReceiptHandle);
    await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: first.ReceiptHandle })); // succeeds, deletes nothing
    expect(await counts(url)).toEqual({ visible: 0, notVisible: 1, delayed: 0 });
    await expect(
      client.send(
        new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: first.ReceiptHandle, VisibilityTimeout: 5 }),
      ),
    ).rejects.toBeInstanceOf(MessageNotInflight);
    await client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: url,
        ReceiptHandle: second.ReceiptHandle,
        VisibilityTimeout: 100,
      }),
    );
    sqs.advance(50_000);
    expect((await receive(url)).Messages ?? []).toHaveLength(0);
    await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: second.ReceiptHandle }));
    sqs.advance(100_000);
    expect(await counts(url)).toEqual({ visible: 0, notVisible: 0, delayed: 0 });
    await expect(
      client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: 'not-a-handle' })),
    ).rejects.toBeInstanceOf(ReceiptHandleIsInvalid);
  });

  it('long polling: WaitTimeSeconds returns as soon as a message arrives, and empty after the wait', async () => {
    const url = await queue();
    const started = Date.now();
    const waiting = receive(url, { WaitTimeSeconds: 10 });
    setTimeout(() => void client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'late' })), 150);
    expect((await waiting).Messages?.map((m) => m.Body)).toEqual(['late']);
    expect(Date.now() - started).toBeLessThan(3000);
    const t = Date.now();
    expect((await receive(url, { WaitTimeSeconds: 1 })).Messages ?? []).toHaveLength(0);
    expect(Date.now() - t).toBeGreaterThanOrEqual(950);
  });

  it('redrive policy: a message received maxReceiveCount times moves to the DLQ with its source ARN', async () => {
    const dlq = await queue();
    const dlqArn = (await client.send(new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['QueueArn'] })))
      .Attributes!.QueueArn!;
    const url = await queue({
      VisibilityTimeout: '5',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 2 }),
    });
    const { MessageId } = await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'poison' }));
    for (let i = 1; i <= 2; i++) {
      expect((await receive(url)).Messages?.[0]?.Attributes?.ApproximateReceiveCount).toBe(String(i));
      sqs.advance(5_000);
    }
    expect((await receive(url)).Messages ?? []).toHaveLength(0);
    const moved = (await receive(dlq)).Messages!;
    expect(moved).toHaveLength(1);
    expect(moved[0]).toMatchObject({
      MessageId,
      Body: 'poison',
      Attributes: expect.objectContaining({
        ApproximateReceiveCount: '1',
        DeadLetterQueueSourceArn: expect.stringMatching(/:q-/),
      }),
    });
  });
});

describe('local SQS: errors with the service codes', () => {
  it('unknown queue, batch rules, sizes', async () => {
    await expect(client.send(new GetQueueUrlCommand({ QueueName: 'nope' }))).rejects.toBeInstanceOf(QueueDoesNotExist);
    await expect(
      client.send(new SendMessageCommand({ QueueUrl: `${sqs.endpoint}/000000000000/nope`, MessageBody: 'x' })),
    ).rejects.toMatchObject({ name: 'QueueDoesNotExist', $metadata: { httpStatusCode: 400 } });
    const url = await queue();
    const entries = (n: number) => Array.from({ length: n }, (_, i) => ({ Id: `m${i}`, MessageBody: 'x' }));
    await expect(
      client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries(11) })),
    ).rejects.toBeInstanceOf(TooManyEntriesInBatchRequest);
    await expect(client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [] }))).rejects.toBeInstanceOf(
      EmptyBatchRequest,
    );
    await expect(
      client.send(
        new SendMessageBatchCommand({
          QueueUrl: url,
          Entries: [
            { Id: 'a', MessageBody: 'x' },
            { Id: 'a', MessageBody: 'y' },
          ],
        }),
      ),
    ).rejects.toBeInstanceOf(BatchEntryIdsNotDistinct);
    const big = 'x'.repeat(100 * 1024);
    await expect(
      client.send(
        new SendMessageBatchCommand({
          QueueUrl: url,
          Entries: [0, 1, 2].map((i) => ({ Id: `b${i}`, MessageBody: big })),
        }),
      ),
    ).rejects.toBeInstanceOf(BatchRequestTooLong);
    await expect(
      client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x'.repeat(262_145) })),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue', message: expect.stringMatching(/shorter than 262144/) });
    const mixed = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: 'ok', MessageBody: 'x' },
          { Id: 'bad', MessageBody: 'x', DelaySeconds: 1000 },
        ],
      }),
    );
    expect(mixed.Successful?.map((s) => s.Id)).toEqual(['ok']);
    expect(mixed.Failed).toEqual([
      expect.objectContaining({ Id: 'bad', Code: 'InvalidParameterValue', SenderFault: true }),
    ]);
    const del = await client.send(
      new DeleteMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: 'x', ReceiptHandle: 'garbage' }] }),
    );
    expect(del.Failed).toEqual([expect.objectContaining({ Id: 'x', Code: 'ReceiptHandleIsInvalid' })]);
    await expect(receive(url, { MaxNumberOfMessages: 11 })).rejects.toMatchObject({ name: 'InvalidParameterValue' });
  });

  it('a quota answers RequestThrottled (403) beyond its rate', async () => {
    const limited = await startLocalSqs({ quota: tokenBucketQuota({ requestsPerSecond: 1, burst: 2 }) });
    const c = new SQSClient({ endpoint: limited.endpoint, ...LOCAL_AWS_CONFIG, maxAttempts: 1 });
    try {
      await c.send(new CreateQueueCommand({ QueueName: 'q' }));
      await c.send(new GetQueueUrlCommand({ QueueName: 'q' }));
      await expect(c.send(new GetQueueUrlCommand({ QueueName: 'q' }))).rejects.toMatchObject({
        name: 'RequestThrottled',
        $metadata: { httpStatusCode: 403 },
      });
      await expect(c.send(new GetQueueUrlCommand({ QueueName: 'q' }))).rejects.toBeInstanceOf(RequestThrottled);
    } finally {
      c.destroy();
      await limited.stop();
    }
  });
});
