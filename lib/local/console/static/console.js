// The dev console page: plain DOM, no build step. Rows come from /api/stream (server-sent events).
const rows = new Map();
const $ = (selector) => document.querySelector(selector);
const STATUSES = ['SCHEDULED', 'RUNNING', 'FAILED', 'DEAD', 'SUCCEEDED', 'CANCELLED'];

/** Builds an element; strings become text nodes (never HTML). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat())
    if (c !== undefined && c !== null && c !== false) node.append(c instanceof Node ? c : String(c));
  return node;
}

/** The kind column of a list line, then a space. */
const kind = (text) => [el('span', { class: 'kind' }, text), ' '];
const time = (iso) => (iso ? iso.slice(11, 23) : '');
const short = (s) => (s && s.length > 20 ? `${s.slice(0, 8)}…${s.slice(-6)}` : s);

async function getJson(url, init) {
  const response = await fetch(url, init);
  const body = await response.json().catch(() => ({ message: response.statusText }));
  if (!response.ok) throw new Error(body.message ?? response.statusText);
  return body;
}

async function showRaw(title, url) {
  $('#raw-title').textContent = title;
  $('#raw-body').textContent = 'loading…';
  $('#raw').showModal();
  try {
    $('#raw-body').textContent = JSON.stringify(await getJson(url), null, 2);
  } catch (error) {
    $('#raw-body').textContent = error.message;
  }
}

const idLink = (text, title, url, kind) =>
  el(
    'a',
    {
      class: `id ${kind}`,
      href: '#',
      title,
      'data-raw': url,
      onclick: (e) => {
        e.preventDefault();
        showRaw(title, url);
      },
    },
    short(text),
  );
const jobLink = (key) => idLink(key, `job record ${key}`, `/api/jobs/${encodeURIComponent(key)}`, 'job-id');
const errorText = (e) => (e ? `${e.name}: ${e.message}` : '');

function filters() {
  return {
    correlation: $('#filter-correlation').value.trim(),
    event: $('#filter-event').value.trim(),
    job: $('#filter-job').value.trim(),
  };
}

function matches(row, f) {
  if (f.correlation && !(row.correlationId ?? '').includes(f.correlation)) return false;
  const types = [
    ...row.events.map((e) => e.type),
    ...row.followed.filter((x) => x.kind === 'event').map((x) => x.type),
  ];
  if (f.event && !types.some((t) => t.includes(f.event))) return false;
  const keys = [
    ...row.jobs.map((j) => j.key),
    ...row.writes.map((w) => w.key),
    ...row.followed.filter((x) => x.kind === 'job-run').map((x) => x.key),
  ];
  if (f.job && !keys.some((k) => k.includes(f.job))) return false;
  return true;
}

function followUp(f) {
  const cls = `follow ${f.kind}${f.error || f.outcome === 'dead' || f.outcome === 'error' || f.outcome === 'failed' ? ' error' : ''}`;
  if (f.kind === 'event')
    return el(
      'li',
      { class: cls },
      kind('event'),
      f.error ? 'NOT published ' : 'published ',
      el('b', {}, f.type),
      ' ',
      idLink(f.id, `CloudEvent ${f.id}`, `/api/events/${encodeURIComponent(f.id)}`, 'event-id'),
      ` at ${time(f.at)}`,
      f.lagMs !== undefined ? ` (lag ${f.lagMs} ms)` : '',
      f.error ? ` — ${errorText(f.error)}` : '',
    );
  if (f.kind === 'schedule')
    return el(
      'li',
      { class: cls },
      kind('schedule'),
      f.error
        ? `failed to ${f.action.replace(/d$/, '')} `
        : f.gone
          ? `${f.action.replace(/d$/, '')}: already gone, `
          : `${f.action} `,
      el('b', {}, f.name),
      f.expression ? ` ${f.expression}` : '',
      ` at ${time(f.at)}`,
      f.error ? ` — ${errorText(f.error)}` : '',
    );
  if (f.kind === 'job-run')
    return el(
      'li',
      { class: cls, 'data-key': f.key },
      kind('job run'),
      `${f.job} `,
      jobLink(f.key),
      f.attempt !== undefined ? ` attempt ${f.attempt}` : '',
      f.delivery > 1 ? ` (delivery ${f.delivery})` : '',
      ' → ',
      el('b', { class: 'outcome' }, f.outcome),
      f.reason ? ` (${f.reason})` : '',
      f.commitId
        ? [
            ' · its commit ',
            idLink(f.commitId, `outbox item of commit ${f.commitId}`, `/api/outbox/${f.commitId}`, 'commit-id'),
          ]
        : '',
      ` at ${time(f.at)}`,
      f.error ? ` — ${errorText(f.error)}` : '',
    );
  return el('li', { class: `${cls} error` }, kind('dispatch'), `failed at ${time(f.at)} — ${errorText(f.error)}`);
}

function commitRow(row) {
  const failed = row.status !== 'committed' || row.followed.some((f) => f.error || f.kind === 'dispatch-failure');
  const unlinked = row.id.startsWith('unlinked-');
  const hasOutbox = row.events.length > 0 || row.jobs.length > 0;
  return el(
    'article',
    { class: `commit${failed ? ' failed' : ''}${unlinked ? ' unlinked' : ''}`, 'data-commit-id': row.id },
    el(
      'div',
      { class: 'head' },
      el('span', { class: 'time' }, time(row.at)),
      el('span', { class: 'source' }, row.source),
      el(
        'span',
        { class: `badge${row.status === 'committed' ? '' : ' bad'}` },
        unlinked ? 'no commit found' : row.status,
      ),
      unlinked
        ? ''
        : hasOutbox
          ? idLink(row.id, `outbox item of commit ${row.id}`, `/api/outbox/${row.id}`, 'commit-id')
          : el('span', { class: 'label' }, 'no outbox item'),
      row.correlationId ? el('span', { class: 'label' }, `correlation ${short(row.correlationId)}`) : '',
    ),
    row.error ? el('div', { class: 'error' }, errorText(row.error)) : '',
    el(
      'ul',
      {},
      row.writes.map((w) =>
        el(
          'li',
          { class: 'write' },
          kind(w.op),
          `${w.table} `,
          el('code', {}, w.key),
          ' ',
          el('span', { class: 'label' }, `“${w.label}”`),
        ),
      ),
      row.events.map((e) =>
        el(
          'li',
          { class: 'outbox-event' },
          kind('event'),
          el('b', {}, e.type),
          ' ',
          idLink(e.id, `CloudEvent ${e.id}`, `/api/events/${encodeURIComponent(e.id)}`, 'event-id'),
        ),
      ),
      row.jobs.map((j) =>
        el(
          'li',
          { class: 'outbox-job', 'data-key': j.key },
          kind(j.kind),
          j.name ? `${j.name} ` : '',
          jobLink(j.key),
          j.when ? ` ${j.when}` : '',
        ),
      ),
      row.followed.map(followUp),
    ),
  );
}

function renderTimeline() {
  const f = filters();
  const list = [...rows.values()].filter((r) => matches(r, f)).sort((a, b) => b.seq - a.seq);
  $('#timeline').replaceChildren(
    ...(list.length
      ? list.map(commitRow)
      : [
          el(
            'p',
            { class: 'empty' },
            rows.size ? 'No commit matches the filters.' : 'No commit yet: place an order (POST /orders).',
          ),
        ]),
  );
}

function notice(text, bad = false) {
  $('#notice').textContent = text;
  $('#notice').className = bad ? 'bad' : '';
}

async function act(key, action) {
  try {
    const result = await getJson(`/api/jobs/${encodeURIComponent(key)}/${action}`, { method: 'POST' });
    notice(`${action} ${key}: ${JSON.stringify(result)}`);
  } catch (error) {
    notice(error.message, true);
  }
  loadJobs();
}

function jobTable(status, jobs) {
  return el(
    'table',
    { class: 'jobs', 'data-status': status },
    el('caption', {}, `${status} (${jobs.length})`),
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        ['key', 'name', 'attempts', 'next / last run', 'last error', ''].map((h) => el('th', {}, h)),
      ),
    ),
    el(
      'tbody',
      {},
      jobs.map((j) =>
        el(
          'tr',
          { class: `status-${j.status}`, 'data-job-key': j.key },
          el('td', {}, jobLink(j.key)),
          el('td', {}, j.name),
          el('td', {}, `${j.attempts}/${j.maxAttempts}`),
          el('td', {}, j.nextRunAt ?? j.schedule?.cron ?? j.schedule?.rate ?? j.lastRunAt ?? ''),
          el('td', { class: j.lastError ? 'error' : '' }, errorText(j.lastError)),
          el(
            'td',
            {},
            ['SCHEDULED', 'FAILED'].includes(j.status)
              ? el('button', { type: 'button', class: 'run', onclick: () => act(j.key, 'run') }, 'run now')
              : '',
            ['SCHEDULED', 'FAILED', 'RUNNING'].includes(j.status)
              ? el('button', { type: 'button', class: 'cancel', onclick: () => act(j.key, 'cancel') }, 'cancel')
              : '',
            j.status === 'DEAD'
              ? el('button', { type: 'button', class: 'retry', onclick: () => act(j.key, 'retry') }, 'retry')
              : '',
          ),
        ),
      ),
    ),
  );
}

let jobs = [];
function renderJobs() {
  const f = filters();
  const shown = jobs.filter(
    (j) => (!f.job || j.key.includes(f.job)) && (!f.correlation || (j.correlationId ?? '').includes(f.correlation)),
  );
  const tables = STATUSES.map((s) => [s, shown.filter((j) => j.status === s)])
    .filter(([, list]) => list.length)
    .map(([s, list]) => jobTable(s, list));
  $('#jobs').replaceChildren(...(tables.length ? tables : [el('p', { class: 'empty' }, 'No job records.')]));
}

async function loadJobs() {
  try {
    jobs = (await getJson('/api/jobs')).jobs;
    renderJobs();
  } catch (error) {
    notice(`jobs: ${error.message}`, true);
  }
}

let pending;
function soon() {
  clearTimeout(pending);
  pending = setTimeout(() => {
    renderTimeline();
    loadJobs();
  }, 150);
}

const stream = new EventSource('/api/stream');
stream.addEventListener('open', () => {
  $('#live').textContent = 'live';
  $('#live').className = 'live';
});
stream.addEventListener('error', () => {
  $('#live').textContent = 'reconnecting…';
  $('#live').className = 'live off';
});
stream.addEventListener('snapshot', (e) => {
  rows.clear();
  for (const row of JSON.parse(e.data)) rows.set(row.id, row);
  soon();
});
stream.addEventListener('row', (e) => {
  const row = JSON.parse(e.data);
  rows.set(row.id, row);
  soon();
});
$('#filters').addEventListener('input', () => {
  renderTimeline();
  renderJobs();
});
$('#filters').addEventListener('submit', (e) => e.preventDefault());
$('#jobs-refresh').addEventListener('click', loadJobs);
