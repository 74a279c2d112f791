/**
 * `lambda-unit-of-work/testing`: unit tests of handlers without DynamoDB. The real unit of work, committing
 * into memory, and matchers for jest and vitest.
 */
export {
  createTestUnitOfWork,
  recordingOf,
  runHandler,
  testLambdaContext,
  type HandlerRun,
  type RecordedJob,
  type RecordedJobChange,
  type RecordedOperation,
  type TestUnitOfWork,
  type TestUnitOfWorkOptions,
  type UnitOfWorkRecording,
} from './test-unit-of-work.js';
export {
  unitOfWorkMatchers,
  type MatcherContext,
  type MatcherResult,
  type ScheduledExpectation,
  type UnitOfWorkMatchers,
} from './matchers.js';
export { createMemoryClient, type MemoryClient } from './memory-client.js';
