import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { OUTBOX_DISPATCHER_OPTIONS } from '../../lib/dispatch/dispatcher.js';
import { IDEMPOTENCY_OPTIONS } from '../../lib/idempotency/options.js';
import { INBOX_OPTIONS } from '../../lib/inbox/consumer.js';
import { JOB_BACKOFF_OPTIONS } from '../../lib/jobs/options.js';
import type { OptionSpec } from '../../lib/options.js';
import { UNIT_OF_WORK_OPTIONS } from '../../lib/unit-of-work/settings.js';

/** One documented option table: where it is, the declaration it documents, its default column. */
interface DocumentedTable {
  readonly file: string;
  /** A line just above the table. */
  readonly after: string;
  readonly specs: Readonly<Record<string, OptionSpec>>;
  /** Rows of options declared elsewhere (e.g. the middleware's `guard`, `idempotency`). */
  readonly extraRows?: readonly string[];
  readonly defaultColumn: number;
}

const TABLES: readonly DocumentedTable[] = [
  {
    file: 'README.md',
    after: '*Failure semantics and Middy composition* below.',
    specs: UNIT_OF_WORK_OPTIONS,
    extraRows: ['guard', 'idempotency', 'metrics'],
    defaultColumn: 1,
  },
  {
    file: 'docs/idempotency.md',
    after: '### Options (`idempotency: { … }`)',
    specs: IDEMPOTENCY_OPTIONS,
    defaultColumn: 1,
  },
  {
    file: 'docs/dispatch.md',
    after: '### Options and environment',
    specs: OUTBOX_DISPATCHER_OPTIONS,
    defaultColumn: 2,
  },
  { file: 'docs/inbox.md', after: 'plus:', specs: INBOX_OPTIONS, defaultColumn: 1 },
  {
    file: 'docs/jobs.md',
    after: "job leaves out falls back to the runner's, then to the defaults:",
    specs: JOB_BACKOFF_OPTIONS,
    defaultColumn: 1,
  },
];

/** The rows of the first table after `after`: option name (first backticked word, before any `.` or `(`) → cells. */
function tableRows(file: string, after: string): Map<string, string[]> {
  const lines = readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8').split('\n');
  const start = lines.findIndex((l) => l.includes(after));
  if (start < 0) throw new Error(`${file}: no line "${after}"`);
  const rows = new Map<string, string[]>();
  let i = lines.findIndex((l, n) => n > start && l.startsWith('|')) + 2;
  for (; lines[i]?.startsWith('|'); i++) {
    const cells = lines[i]!.split(' | ').map((c) => c.replace(/^\| |\|$/g, '').trim());
    const name = /^`([A-Za-z]+)/.exec(cells[0] ?? '')?.[1];
    if (name) rows.set(name, cells);
  }
  return rows;
}

const plain = (text: string): string => text.replaceAll('`', '');

describe('option tables of the README and docs match the declarations', () => {
  it.each(TABLES.map((t) => [t.file, t] as const))('%s', (_file, table) => {
    const rows = tableRows(table.file, table.after);
    for (const [key, spec] of Object.entries(table.specs)) {
      expect({ key, documented: rows.has(key) }).toEqual({ key, documented: true });
      if (spec.default !== undefined)
        expect({ key, cell: plain(rows.get(key)![table.defaultColumn]!) }).toEqual({
          key,
          cell: expect.stringContaining(plain(spec.default)),
        });
    }
    const declared = new Set([...Object.keys(table.specs), ...(table.extraRows ?? [])]);
    for (const key of rows.keys()) expect({ key, declared: declared.has(key) }).toEqual({ key, declared: true });
  });
});
