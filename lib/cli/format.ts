/** How the CLI prints jobs and redrive summaries (pure). */
import type { JobView } from '../jobs/read.js';
import type { RedriveSummary } from '../redrive/dlq.js';

const when = (j: JobView): string =>
  j.status === 'SCHEDULED' || j.status === 'FAILED'
    ? (j.nextRunAt ?? j.schedule.cron ?? j.schedule.rate ?? '')
    : (j.lastRunAt ?? '');

/** Formats rows as an aligned text table; the last column is not padded. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Formats jobs as an aligned text table (what `jobs list` and `npm run jobs` print). */
export function formatJobTable(jobs: readonly JobView[]): string {
  return formatTable([
    ['STATUS', 'KEY', 'NAME', 'ATTEMPTS', 'NEXT / LAST RUN', 'LAST OUTCOME', 'LAST ERROR'],
    ...jobs.map((j) => [
      j.status,
      j.key,
      j.name,
      `${j.attempts}/${j.maxAttempts}`,
      when(j),
      j.lastOutcome ?? '',
      j.lastError ? `${j.lastError.name}: ${j.lastError.message}`.slice(0, 80) : '',
    ]),
  ]);
}

/** One line per message plus the totals of a redrive; `columns` picks what each message row shows. */
export function formatRedriveSummary<T>(
  title: string,
  summary: RedriveSummary<T>,
  columns: readonly [string, (report: T) => string][],
): string {
  const rows = [
    ['MESSAGE', ...columns.map(([h]) => h)],
    ...summary.messages.map((m) => [
      String((m as { messageId?: string }).messageId ?? ''),
      ...columns.map(([, f]) => f(m)),
    ]),
  ];
  const totals = `${title}${summary.dryRun ? ' (dry run: nothing changed)' : ''}: ${summary.received} messages, ${summary.deleted} deleted, ${summary.kept} kept in the queue${summary.newer ? `, ${summary.newer} newer left for the next run` : ''}`;
  return summary.messages.length ? `${formatTable(rows)}\n${totals}` : totals;
}
