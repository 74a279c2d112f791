import { unmarshall } from '@aws-sdk/util-dynamodb';

/** Prints one timeline line: time, kind, text. */
export type TimelineWriter = (kind: TimelineKind, text: string) => void;

/** The kinds of timeline lines `npm start` prints. */
export const TIMELINE_KINDS = [
  'HTTP',
  'COMMIT',
  'DISPATCH',
  'SCHEDULE',
  'EVENT',
  'JOB',
  'INBOX',
  'INFO',
  'ERROR',
] as const;
/** One of {@link TIMELINE_KINDS}. */
export type TimelineKind = (typeof TIMELINE_KINDS)[number];

const COLORS: Record<TimelineKind, string> = {
  HTTP: '36',
  COMMIT: '32',
  DISPATCH: '35',
  SCHEDULE: '33',
  EVENT: '34',
  JOB: '95',
  INBOX: '96',
  INFO: '90',
  ERROR: '31',
};

/** A writer to stdout, coloured when it is a terminal. */
export function consoleTimeline(color = process.stdout.isTTY === true): TimelineWriter {
  return (kind, text) => {
    const time = new Date().toISOString().slice(11, 23);
    const label = kind.padEnd(8);
    console.log(
      color ? `\x1b[90m${time}\x1b[0m \x1b[${COLORS[kind]}m${label}\x1b[0m ${text}` : `${time} ${label} ${text}`,
    );
  };
}

const plain = (v: unknown): Record<string, any> => {
  if (!v || typeof v !== 'object') return {};
  const values = Object.values(v as object);
  const marshalled =
    values.length > 0 &&
    values.every(
      (x) =>
        x &&
        typeof x === 'object' &&
        Object.keys(x).length === 1 &&
        /^(S|N|B|BOOL|NULL|M|L|SS|NS|BS)$/.test(Object.keys(x)[0]!),
    );
  return marshalled ? unmarshall(v as never) : (v as Record<string, any>);
};

const short = (s: unknown): string =>
  typeof s === 'string' && s.length > 18 ? `${s.slice(0, 8)}…${s.slice(-4)}` : String(s);

/** Describes a committed TransactWriteItems input in one line: business writes, events, jobs, job changes. */
export function describeCommit(input: { TransactItems?: any[] }): string {
  const writes: string[] = [];
  const events: string[] = [];
  const jobs: string[] = [];
  for (const action of input.TransactItems ?? []) {
    const [kind, body] = Object.entries(action)[0] as [string, any];
    const item = plain(body.Item);
    if (kind === 'Put' && item._kind === 'outbox') {
      for (const m of JSON.parse(item.messages ?? '[]')) {
        if (m.kind === 'event') events.push(m.event.type);
        else if (m.kind === 'job.schedule')
          jobs.push(
            `schedule ${m.job.name} (${short(m.job.key)}) ${m.schedule.at ? `at ${m.schedule.at}` : m.schedule.cron ? `cron ${m.schedule.cron}` : `rate ${m.schedule.rate}`}`,
          );
        else if (m.kind === 'job.cancel') jobs.push(`cancel ${short(m.key)}`);
        else if (m.kind === 'job.reschedule')
          jobs.push(`reschedule ${short(m.key)} to ${m.schedule.at ?? m.schedule.cron ?? m.schedule.rate}`);
      }
      continue;
    }
    if (kind === 'Put' && item._kind === 'job') continue; // shown with its message
    const key = kind === 'Put' ? (item.pk ?? '') : (plain(body.Key).pk ?? '');
    if (String(key).startsWith('job#')) {
      writes.push(`${kind.toLowerCase()} job ${short(String(key).slice(4))}`);
      continue;
    }
    writes.push(`${kind.toLowerCase()} ${String(body.TableName).replace(/-[0-9a-f-]{36}$/, '')}/${short(key)}`);
  }
  const parts = [`${(input.TransactItems ?? []).length} actions`];
  if (writes.length) parts.push(`writes: ${writes.join(', ')}`);
  if (events.length) parts.push(`events: ${events.join(', ')}`);
  if (jobs.length) parts.push(`jobs: ${jobs.join(', ')}`);
  return parts.join(' | ');
}
