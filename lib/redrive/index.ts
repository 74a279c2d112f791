/** Redrive what fell into a dead-letter queue: the dispatcher's stream on-failure destination and the job DLQ. */
export { redriveQueue, type DlqOptions, type MessageDecision, type RedriveSummary } from './dlq.js';
export {
  readStreamRange,
  redriveStreamDlq,
  streamBatchInfoOf,
  type StreamBatchInfo,
  type StreamDlqRedriveOptions,
  type StreamDlqReport,
} from './stream-dlq.js';
export {
  jobDlqAction,
  redriveJobDlq,
  type JobDlqAction,
  type JobDlqRedriveOptions,
  type JobDlqReport,
} from './job-dlq.js';
