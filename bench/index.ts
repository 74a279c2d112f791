/**
 * `npm run bench`: runs every benchmark, each on a DynamoDB Local of its own started for it; each prints
 * ratios measured in the same run. Pass names to run a subset: `npm run bench -- unit-of-work dispatch`.
 */
import { startDynamoDBLocal } from '../lib/local/dynamodb-local.js';

type Bench = (endpoint: string) => Promise<unknown>;

const benches: Record<string, () => Promise<Bench>> = {
  'unit-of-work': async () => (await import('./unit-of-work.js')).runUnitOfWorkBench,
  dispatch: async () => (await import('./dispatch.js')).runDispatchBench,
  jobs: async () => (await import('./jobs.js')).runJobBench,
  idempotency: async () => (await import('./idempotency.js')).runIdempotencyBench,
  capacity: async () => (await import('./capacity.js')).runCapacityBench,
  bundle: async () => (await import('./bundle.js')).runBundleBench,
  guard: async () => (await import('./guard.js')).runGuardBench,
  throttle: async () => (await import('./throttle.js')).runThrottleBench,
};

/** Benchmarks that never call DynamoDB: no DynamoDB Local is started for them. */
const WITHOUT_DYNAMODB = new Set(['bundle']);

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const names = wanted.length ? wanted : Object.keys(benches);
  const unknown = names.filter((n) => !benches[n]);
  if (unknown.length)
    throw new Error(`unknown benchmark(s) ${unknown.join(', ')}; known: ${Object.keys(benches).join(', ')}`);
  console.log(
    `# lambda-unit-of-work benchmarks (${new Date().toISOString()}, Node ${process.version}, DynamoDB Local 3.3.1 in memory)`,
  );
  // A fresh DynamoDB Local per benchmark: one left full of streamed tables by the previous benchmark is slower.
  for (const name of names) {
    if (WITHOUT_DYNAMODB.has(name)) {
      await (await benches[name]!())('');
      continue;
    }
    const ddb = await startDynamoDBLocal();
    try {
      await (await benches[name]!())(ddb.endpoint);
    } finally {
      await ddb.stop();
    }
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
