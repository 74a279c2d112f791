/** SDK clients of the CLI, for AWS (the default credential chain) or local endpoints (fake credentials). */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_AWS_CONFIG } from '../local/dynamodb-local.js';

/** Where the CLI talks to, from its flags and the environment. */
export interface CliTarget {
  readonly region?: string;
  /** DynamoDB (and DynamoDB Streams) endpoint. */
  readonly dynamodbEndpoint?: string;
  readonly sqsEndpoint?: string;
  readonly schedulerEndpoint?: string;
  readonly eventBridgeEndpoint?: string;
  /** Use the local stand-ins' fake credentials (implied when an endpoint is on loopback). */
  readonly local?: boolean;
}

/** The clients of one CLI run; `destroy()` closes them. */
export interface CliClients {
  readonly dynamodb: DynamoDBClient;
  readonly streams: DynamoDBStreamsClient;
  readonly sqs: SQSClient;
  readonly scheduler: SchedulerClient;
  readonly eventBridge: EventBridgeClient;
  destroy(): void;
}

const LOOPBACK = /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:|\/|$)/;

/** Whether the target is local: `--local`, or any endpoint on loopback. */
export function isLocalTarget(target: CliTarget): boolean {
  return (
    target.local === true ||
    [target.dynamodbEndpoint, target.sqsEndpoint, target.schedulerEndpoint, target.eventBridgeEndpoint].some(
      (e) => e !== undefined && LOOPBACK.test(e),
    )
  );
}

/** Creates the clients (lazily connecting; nothing is sent until a command runs). */
export function createCliClients(target: CliTarget): CliClients {
  const base = isLocalTarget(target)
    ? { ...LOCAL_AWS_CONFIG, ...(target.region ? { region: target.region } : {}) }
    : target.region
      ? { region: target.region }
      : {};
  const at = (endpoint: string | undefined) => ({ ...base, ...(endpoint ? { endpoint } : {}) });
  const clients = {
    dynamodb: new DynamoDBClient(at(target.dynamodbEndpoint)),
    streams: new DynamoDBStreamsClient(at(target.dynamodbEndpoint)),
    sqs: new SQSClient(at(target.sqsEndpoint)),
    scheduler: new SchedulerClient({ ...at(target.schedulerEndpoint), maxAttempts: 1 }),
    eventBridge: new EventBridgeClient({ ...at(target.eventBridgeEndpoint), maxAttempts: 1 }),
  };
  return { ...clients, destroy: () => Object.values(clients).forEach((c) => c.destroy()) };
}
