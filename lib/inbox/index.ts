export {
  inboxConsumer,
  type InboxConsumerHandler,
  type InboxContext,
  type InboxHandler,
  type InboxOptions,
  type InboxRecordType,
  type InboxRecords,
} from './consumer.js';
export { INBOX_RECORD, inboxRecordKey } from './record.js';
