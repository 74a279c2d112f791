/** Stops the DynamoDB Local that global-setup started (and only that one). */
export default async function globalTeardown() {
  await globalThis.__DDB_LOCAL__?.stop();
}
