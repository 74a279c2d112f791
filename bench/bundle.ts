/**
 * `npm run bench -- bundle`: what the library costs a Lambda handler. Bundles two handlers the way a user's
 * NodejsFunction would (esbuild, ESM, node22, minified, `@aws-sdk/*` external): a plain Middy handler that puts
 * one item with the document client, and the same handler wrapped in `unitOfWork()` that buffers a put, an
 * event and a job. Reports the bytes the library adds (raw and gzip) and the cold import of each bundle, timed
 * in fresh Node processes, interleaved (plain, wrapped, wrapped, plain, …) so that drift hits both alike.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { fmt, median, percentile } from './stats.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Inside the repository, so that the external `@aws-sdk/*` imports resolve to its node_modules. */
const OUT = join(ROOT, 'bench', '.bundle');
const ROUNDS = Number(process.env.BENCH_BUNDLE_ROUNDS ?? 30);

/** A plain Middy handler putting one item with the document client. */
export const PLAIN_HANDLER = `
import middy from '@middy/core';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));
export const handler = middy().handler(async (event) => {
  await client.send(new PutCommand({ TableName: 'orders', Item: { pk: event.id, status: 'PENDING' } }));
  return { statusCode: 201 };
});
`;

/** The same handler wrapped in `unitOfWork()`, buffering a put, an event and a job. */
export const WRAPPED_HANDLER = `
import middy from '@middy/core';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unitOfWork } from ${JSON.stringify(join(ROOT, 'lib', 'index.ts'))};
const client = DynamoDBDocumentClient.from(new DynamoDBClient({}));
export const handler = middy()
  .use(unitOfWork({ outboxTable: 'outbox', client, source: 'orders' }))
  .handler(async (event, { uow }) => {
    uow.put({ TableName: 'orders', Item: { pk: event.id, status: 'PENDING' } });
    uow.publish({ type: 'OrderPlaced', data: { orderId: event.id } });
    uow.schedule({ job: 'expire', payload: { orderId: event.id }, delay: 900, key: 'expire-' + event.id });
    return { statusCode: 201 };
  });
`;

/**
 * Bundles `source` with the esbuild options a user's NodejsFunction bundling would use, with the Lambda runtime's
 * SDK external, into `bench/.bundle/<name>.mjs` (inside the repository, so that imports resolve).
 */
export async function bundleHandler(
  name: string,
  source: string,
): Promise<{ file: string; raw: number; gzip: number }> {
  mkdirSync(OUT, { recursive: true });
  const entry = join(OUT, `${name}.entry.ts`);
  const file = join(OUT, `${name}.mjs`);
  writeFileSync(entry, source);
  await build({
    entryPoints: [entry],
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: true,
    mainFields: ['module', 'main'],
    external: ['@aws-sdk/*'],
    logLevel: 'error',
  });
  const code = readFileSync(file);
  return { file, raw: code.length, gzip: gzipSync(code).length };
}

/** CPU milliseconds (user + system) of `import(file)` in a fresh Node process. */
function coldImportMs(file: string): number {
  const script =
    'const c0 = process.cpuUsage(); await import(process.argv[1]); const c = process.cpuUsage(c0);' +
    'process.stdout.write(String((c.user + c.system) / 1000));';
  return Number(execFileSync(process.execPath, ['--input-type=module', '-e', script, file], { encoding: 'utf8' }));
}

/** Runs the bundle benchmark and prints its figures. */
export async function runBundleBench(): Promise<{ bytesAdded: number; gzipAdded: number; coldRatio: number }> {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const plain = await bundleHandler('plain', PLAIN_HANDLER);
  const wrapped = await bundleHandler('wrapped', WRAPPED_HANDLER);
  coldImportMs(plain.file); // warms the file system cache for both
  coldImportMs(wrapped.file);
  const times = { plain: [] as number[], wrapped: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 ? (['wrapped', 'plain'] as const) : (['plain', 'wrapped'] as const);
    for (const which of order) times[which].push(coldImportMs(which === 'plain' ? plain.file : wrapped.file));
  }
  const ratios = times.plain.map((p, i) => times.wrapped[i]! / p);
  const bytesAdded = wrapped.raw - plain.raw;
  const gzipAdded = wrapped.gzip - plain.gzip;
  const coldRatio = median(times.wrapped) / median(times.plain);
  const range = (xs: number[]) => `p25 ${fmt(percentile(xs, 25))} – p75 ${fmt(percentile(xs, 75))}`;
  console.log(`\n## bundle (esbuild ESM node22 minified, @aws-sdk/* external; ${ROUNDS} interleaved fresh processes)`);
  console.log(
    `bytes: plain ${plain.raw} B (${plain.gzip} B gzip), with unitOfWork ${wrapped.raw} B (${wrapped.gzip} B gzip)`,
  );
  console.log(
    `library adds ${fmt(bytesAdded / 1024, 1)} KB raw, ${fmt(gzipAdded / 1024, 1)} KB gzip (goal <= 25 KB raw)`,
  );
  console.log(`cold import CPU ms: plain median ${fmt(median(times.plain))} (${range(times.plain)})`);
  console.log(`cold import CPU ms: with unitOfWork median ${fmt(median(times.wrapped))} (${range(times.wrapped)})`);
  console.log(
    `ratio of medians ${fmt(coldRatio, 3)}x; per-round ratio median ${fmt(median(ratios), 3)}x (${range(ratios)}) (goal <= 1.05x)`,
  );
  return { bytesAdded, gzipAdded, coldRatio };
}
