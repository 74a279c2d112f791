/** `timerTransport: 'sqs'`: the timer queue, its dead-letter queue, the queue runner's mapping, the dispatcher's grant and env. */
import { describe, expect, it } from '@jest/globals';
import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { TransactionalOutbox } from '../../cdk/index.js';
import { ENV } from '../../lib/outbox/schema.js';
import { environmentOf, FIXTURE_ENTRY, getAtt, logicalId, permissionMap, ref, testApp, testRunner } from './helpers.js';

function synth(props: Partial<ConstructorParameters<typeof TransactionalOutbox>[2]> = {}) {
  const stack = new Stack(testApp(), 'Timers');
  const runner = testRunner(stack);
  const queueRunner = testRunner(stack, 'QueueRunner');
  const outbox = new TransactionalOutbox(stack, 'Outbox', {
    jobRunner: runner,
    dispatcherEntry: FIXTURE_ENTRY,
    timerTransport: 'sqs',
    jobQueueRunner: queueRunner,
    ...props,
  });
  return { stack, outbox, runner, queueRunner, template: Template.fromStack(stack) };
}

describe("timerTransport: 'sqs'", () => {
  const { outbox, queueRunner, template } = synth();
  const queue = outbox.timerQueue!;
  const dlq = outbox.timerDeadLetterQueue!;

  it('creates an encrypted, TLS-only timer queue with a redrive policy to its own dead-letter queue', () => {
    const props = template.toJSON().Resources[logicalId(queue)].Properties;
    expect(props).toMatchObject({
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 180, // 6 × the queue runner's 30 s
      RedrivePolicy: { deadLetterTargetArn: getAtt(dlq), maxReceiveCount: 10 },
    });
    const policies = Object.values(template.findResources('AWS::SQS::QueuePolicy'));
    expect(JSON.stringify(policies)).toContain('"aws:SecureTransport":"false"');
  });

  it('maps the queue to the queue runner with partial batch responses', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: getAtt(queue),
      FunctionName: ref(queueRunner),
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 10,
    });
    const consume = permissionMap(template, logicalId(queueRunner.role!));
    expect(consume['sqs:ReceiveMessage']).toEqual([JSON.stringify(getAtt(queue))]);
    expect(consume['sqs:DeleteMessage']).toEqual([JSON.stringify(getAtt(queue))]);
    expect(consume['dynamodb:UpdateItem']).toBeDefined(); // the job runner's table grant
    expect(environmentOf(template, logicalId(queueRunner))[ENV.outboxTable]).toEqual(ref(outbox.table));
  });

  it('gives the dispatcher the queue URL and sqs:SendMessage on that queue', () => {
    const dispatcherId = logicalId(outbox.dispatcher);
    expect(environmentOf(template, dispatcherId)[ENV.timerQueueUrl]).toEqual(ref(queue));
    const send = permissionMap(template, logicalId(outbox.dispatcher.role!));
    // the timer queue, and the stream dead-letter queue its event source mapping needs: no other queue, no "*"
    expect(send['sqs:SendMessage']).toEqual(
      [JSON.stringify(getAtt(queue)), JSON.stringify(getAtt(outbox.streamDeadLetterQueue))].sort(),
    );
    expect(outbox.alarms.map((a) => a.node.id)).toEqual(
      expect.arrayContaining(['TimerDeadLetterAlarm', 'JobQueueRunnerErrorsAlarm']),
    );
  });

  it('the default (Scheduler) creates no queue, mapping or env var', () => {
    const stack = new Stack(testApp(), 'NoTimers');
    const plain = new TransactionalOutbox(stack, 'Outbox', {
      jobRunner: testRunner(stack),
      dispatcherEntry: FIXTURE_ENTRY,
    });
    const t = Template.fromStack(stack);
    expect(plain.timerQueue).toBeUndefined();
    t.resourceCountIs('AWS::Lambda::EventSourceMapping', 1); // the stream's only
    expect(environmentOf(t, logicalId(plain.dispatcher))[ENV.timerQueueUrl]).toBeUndefined();
  });

  it('honours maxReceiveCount and visibility timeout props; rejects sqs without a queue runner', () => {
    const custom = synth({ timerQueueMaxReceiveCount: 3, timerQueueVisibilityTimeout: Duration.minutes(2) });
    expect(custom.template.toJSON().Resources[logicalId(custom.outbox.timerQueue!)].Properties).toMatchObject({
      VisibilityTimeout: 120,
      RedrivePolicy: { maxReceiveCount: 3 },
    });
    expect(() => synth({ jobQueueRunner: undefined })).toThrow(/timerTransport 'sqs' needs jobQueueRunner/);
    expect(() => synth({ timerTransport: 'scheduler' })).toThrow(
      /jobQueueRunner applies only with timerTransport 'sqs'/,
    );
  });
});
