/**
 * `npm run bench`: starts one DynamoDB Local and runs every benchmark against it; each prints ratios
 * measured in the same run. Pass names to run a subset: `npm run bench -- unit-of-work dispatch`.
 */
import { startDynamoDBLocal } from '../lib/local/dynamodb-local.js';

type Bench = (endpoint: string) => Promise<unknown>;

const benches: Record<string, () => Promise<Bench>> = {
  'unit-of-work': async () => (await import('./unit-of-work.js')).runUnitOfWorkBench,
  dispatch: async () => (await import('./dispatch.js')).runDispatchBench,
  jobs: async () => (await import('./jobs.js')).runJobBench,
  idempotency: async () => (await import('./idempotency.js')).runIdempotencyBench,
};

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const names = wanted.length ? wanted : Object.keys(benches);
  const unknown = names.filter((n) => !benches[n]);
  if (unknown.length) throw new Error(`unknown benchmark(s) ${unknown.join(', ')}; known: ${Object.keys(benches).join(', ')}`);
  const ddb = await startDynamoDBLocal();
  try {
    console.log(`# lambda-unit-of-work benchmarks (${new Date().toISOString()}, Node ${process.version}, DynamoDB Local ${ddb.endpoint})`);
    for (const name of names) await (await benches[name]!())(ddb.endpoint);
  } finally {
    await ddb.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
