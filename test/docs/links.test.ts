/** Links with a `#fragment` in README.md and docs/*.md name a heading that exists (GitHub's heading anchors). */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from '@jest/globals';

const root = new URL('../../', import.meta.url).pathname;
const files = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** GitHub's anchor of a heading: lower case, punctuation dropped (letters, digits, `-`, `_` and spaces kept), spaces → `-`. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- _]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a Markdown file's headings, outside code fences (a repeated heading gets `-1`, `-2`, …). */
function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  let fenced = false;
  for (const line of readFileSync(join(root, file), 'utf8').split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const heading = !fenced && /^#{1,6}\s+(.*)$/.exec(line);
    if (!heading) continue;
    const base = slug(heading[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    result.add(n ? `${base}-${n}` : base);
  }
  return result;
}

describe('links to headings in README.md and docs/*.md', () => {
  it('every [text](file.md#anchor) and [text](#anchor) names an existing heading', () => {
    const broken: string[] = [];
    let checked = 0;
    for (const file of files) {
      const text = readFileSync(join(root, file), 'utf8').replace(/^```[\s\S]*?^```/gm, '');
      for (const [, target, anchor] of text.matchAll(/\]\(((?:[^)#\s]+\.md)?)#([^)\s]+)\)/g)) {
        const linked = target ? normalize(join(dirname(file), target)) : file;
        checked++;
        if (!anchors(linked).has(anchor!)) broken.push(`${file}: ${target}#${anchor}`);
      }
    }
    expect(broken).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(10);
  });

  it('slugs headings as GitHub does', () => {
    expect(slug("One job per key: reuse after it finished, debounce with `ifExists: 'replace'`")).toBe(
      'one-job-per-key-reuse-after-it-finished-debounce-with-ifexists-replace',
    );
    expect(slug('After the commit: dispatcher, jobs, idempotency, deploy')).toBe(
      'after-the-commit-dispatcher-jobs-idempotency-deploy',
    );
  });
});
