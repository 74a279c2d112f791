import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Where a running `npm start` (`UOW_LOCAL_STATE_FILE` overrides it) tells other scripts (`npm run jobs`, `npm run demo`) where it listens. */
export const LOCAL_STATE_FILE =
  process.env.UOW_LOCAL_STATE_FILE ?? fileURLToPath(new URL('../.local-stack.json', import.meta.url));

/** What `npm start` records about the running local stack. */
export interface LocalState {
  readonly pid: number;
  readonly url: string;
  readonly dynamodbEndpoint: string;
  readonly ordersTable: string;
  readonly outboxTable: string;
}

/** Records the running stack (overwrites a stale file). */
export function writeLocalState(state: LocalState): void {
  writeFileSync(LOCAL_STATE_FILE, `${JSON.stringify(state, null, 2)}\n`);
}

/** The running stack's state, or undefined when none runs (a file left by a dead process is ignored). */
export function readLocalState(): LocalState | undefined {
  try {
    const state = JSON.parse(readFileSync(LOCAL_STATE_FILE, 'utf8')) as LocalState;
    process.kill(state.pid, 0); // throws when that process is gone
    return state;
  } catch {
    return undefined;
  }
}

/** Removes the state file (on stop). */
export function removeLocalState(): void {
  rmSync(LOCAL_STATE_FILE, { force: true });
}
