/**
 * `npm start`: runs the example orders service locally and prints a timeline of what happens.
 *
 *   npm start                         # port 3000, orders expire after 30 s, data in memory
 *   npm start -- --port 4000 --expiry-seconds 900 --data .local-data
 *   npm start -- --dynamodb-endpoint http://127.0.0.1:8000   # use a DynamoDB Local that already runs
 *   npm start -- --console-port 4001                          # the dev console's port (default: --port + 1)
 *   npm start -- --timer-transport sqs                        # or UOW_TIMER_TRANSPORT=sqs: jobs due within 15 min via SQS
 */
import { parseArgs } from 'node:util';
import { shiftableClock } from '../lib/local/clock.js';
import { ConsoleRecorder } from '../lib/local/console/recorder.js';
import { startDevConsole, type DevConsole } from '../lib/local/console/server.js';
import { removeLocalState, writeLocalState } from './local-state.js';
import { startOrdersService } from './orders-local.js';
import { consoleTimeline } from './timeline.js';
import { TIMER_TRANSPORTS, type LocalTimerTransport } from './timer-consumer.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.PORT ?? '3000' },
    'expiry-seconds': { type: 'string', default: '30' },
    data: { type: 'string' },
    'dynamodb-endpoint': { type: 'string' },
    'table-prefix': { type: 'string', default: 'local' },
    'console-port': { type: 'string' },
    'timer-transport': { type: 'string', default: process.env.UOW_TIMER_TRANSPORT ?? 'scheduler' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(
    'npm start -- [--port 3000] [--expiry-seconds 30] [--data <folder to keep DynamoDB data>] [--dynamodb-endpoint <a running DynamoDB Local>] [--table-prefix local] [--console-port <port + 1>] [--timer-transport scheduler|sqs (UOW_TIMER_TRANSPORT)]',
  );
  process.exit(0);
}
const port = Number(values.port);
const expirySeconds = Number(values['expiry-seconds']);
if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port ${values.port} is not a port number`);
const consolePort = values['console-port'] === undefined ? (port === 0 ? 0 : port + 1) : Number(values['console-port']);
if (!Number.isInteger(consolePort) || consolePort < 0 || consolePort > 65535)
  throw new Error(`--console-port ${values['console-port']} is not a port number`);
const timerTransport = values['timer-transport'] as LocalTimerTransport;
if (!TIMER_TRANSPORTS.includes(timerTransport))
  throw new Error(`--timer-transport ${timerTransport} must be one of ${TIMER_TRANSPORTS.join(', ')}`);
if (!Number.isFinite(expirySeconds) || expirySeconds < 0)
  throw new Error(`--expiry-seconds ${values['expiry-seconds']} is not a number of seconds`);

const timeline = consoleTimeline();
timeline('INFO', 'starting the orders service locally…');
let service: Awaited<ReturnType<typeof startOrdersService>>;
// The dev console's "run now" moves this clock ahead to a job's time; otherwise it is the wall clock.
const consoleRecorder = new ConsoleRecorder();
let devConsole: DevConsole;
try {
  service = await startOrdersService({
    port,
    expirySeconds,
    dataPath: values.data,
    dynamodbEndpoint: values['dynamodb-endpoint'],
    tablePrefix: values['table-prefix'],
    timeline,
    clock: shiftableClock(),
    consoleRecorder,
    timerTransport,
  });
  try {
    devConsole = await startDevConsole({
      recorder: consoleRecorder,
      stack: service.stack,
      client: service.stack.clients.dynamodb,
      port: consolePort,
    });
  } catch (error) {
    await service.stop();
    throw error;
  }
} catch (error) {
  console.error(`\nCould not start: ${(error as Error).message}`);
  process.exit(1);
}
writeLocalState({
  pid: process.pid,
  url: service.url,
  dynamodbEndpoint: service.dynamodbEndpoint,
  ordersTable: service.ordersTable,
  outboxTable: service.outboxTable,
});
const u = service.url;
console.log(`
  Orders service on ${u}   (unpaid orders expire after ${expirySeconds} s, timers via ${timerTransport === 'sqs' ? 'SQS' : 'the Scheduler'}; Ctrl-C stops everything)
  Dev console on ${devConsole.url}   (live timeline of commits, events, schedules and job runs; jobs by status)

  curl -s -X POST ${u}/orders -H 'content-type: application/json' -d '{"customerId":"c-1","items":[{"sku":"book","quantity":2,"unitPrice":12.5}]}'
  curl -s ${u}/orders/<id>
  curl -s -X POST ${u}/orders/<id>/pay -H 'content-type: application/json' -d '{"paymentReference":"pay-1"}'
  npm run demo          # drives all of it and explains each step
  npm run jobs          # lists the job records by status
`);

let stopping = false;
const shutdown = async (signal: string): Promise<void> => {
  if (stopping) return;
  stopping = true;
  timeline('INFO', `${signal}: stopping the HTTP API, poller, endpoints and DynamoDB Local…`);
  await devConsole.stop();
  consoleRecorder.close();
  await service.stop();
  removeLocalState();
  timeline('INFO', 'stopped; nothing left running');
  process.exit(0);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
