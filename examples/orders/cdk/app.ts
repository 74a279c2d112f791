/**
 * The example app: `npx cdk synth` / `npx cdk deploy` run this file (cdk.json `app`). cdk-nag's
 * AwsSolutionsChecks validate every synthesis: an unacknowledged finding fails it.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { OrdersServiceStack } from './orders-service-stack.js';

const app = new App();
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
new OrdersServiceStack(app, 'OrdersService', {
  // Environment-agnostic unless the CLI resolved an account and region from the caller's credentials.
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  // `cdk deploy -c timerTransport=sqs`: order expiries through the SQS timer queue instead of the Scheduler.
  timerTransport: app.node.tryGetContext('timerTransport') === 'sqs' ? 'sqs' : 'scheduler',
});
app.synth();
