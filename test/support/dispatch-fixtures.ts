/** Fixtures shared by the dispatcher unit tests: a resolved configuration, a job envelope, a CloudEvent. */
import { resolveDispatcherConfig } from '../../lib/dispatch/config.js';
import type { CloudEvent, JobEnvelope } from '../../lib/outbox/messages.js';

export const config = resolveDispatcherConfig(
  {
    jobRunnerArn: 'arn:aws:lambda:eu-west-1:111122223333:function:runner',
    schedulerRoleArn: 'arn:aws:iam::111122223333:role/sched',
    deadLetterQueueArn: 'arn:aws:sqs:eu-west-1:111122223333:dlq',
  },
  {},
);
export const job: JobEnvelope = {
  jobId: 'j-1',
  key: 'expire-1',
  name: 'expire',
  version: 1,
  payload: { orderId: '1' },
  scheduleName: 'expire-1',
};
export const cloudEvent: CloudEvent = {
  specversion: '1.0',
  id: 'e-1',
  source: 'orders',
  type: 'OrderPlaced',
  time: '2026-11-22T10:00:00.123Z',
  datacontenttype: 'application/json',
  data: { a: 'é' },
};
