/** Stops the DynamoDB Local that global-setup started (and only that one). */
export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __DDB_LOCAL__?: { stop(): Promise<void> } }).__DDB_LOCAL__?.stop();
}
