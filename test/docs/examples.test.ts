/**
 * Every ```ts block of README.md and docs/*.md type-checks against the library's sources.
 *
 * - A block is written to `.doc-examples-<pid>/` in the repository (one module per block, `export {}` appended)
 *   with `lambda-unit-of-work[/subpath]` mapped to the sources per package.json "exports"
 *   (`lambda-unit-of-work` → `../lib/index.ts`, `lambda-unit-of-work/cdk` → `../cdk/index.ts`, …), and a relative
 *   `./x.js` mapped to the example service's `examples/orders/functions/x.ts` (the module the docs quote).
 * - A fragment names things it does not define (`uow`, `orderId`): an HTML comment right above the fence,
 *   `<!-- check: declare const uow: UnitOfWork; -->` (may span lines; hidden when rendered), is prepended to it.
 * - A block that cannot compile (elisions like `unitOfWork({ … })`) is fenced ```ts nocheck and skipped.
 * - The project's tsconfig applies (strict, NodeNext), but for `noUnusedLocals` (examples show values unused);
 *   `tsc -p` on generated tsconfigs checks them (two programs at once: with and without aws-cdk-lib).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';

const root = new URL('../../', import.meta.url).pathname;

/** One ```ts block of a Markdown file. */
interface DocExample {
  readonly file: string;
  /** 1-based line of the block's first code line in `file`. */
  readonly line: number;
  readonly code: string;
  /** The `<!-- check: … -->` text above the fence, or ''. */
  readonly prelude: string;
  readonly nocheck: boolean;
}

/** The ```ts blocks of a Markdown text, with the check comment just above each fence. */
function extractExamples(file: string, markdown: string): DocExample[] {
  const lines = markdown.split('\n');
  const examples: DocExample[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```ts(?:\s+(.*))?$/.exec(lines[i]!);
    if (!fence) continue;
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++;
    examples.push({
      file,
      line: i + 2,
      code: lines.slice(i + 1, end).join('\n'),
      prelude: checkComment(lines, i),
      nocheck: /\bnocheck\b/.test(fence[1] ?? ''),
    });
    i = end;
  }
  return examples;
}

/** The text of a `<!-- check: … -->` comment ending on the line above `fence`, or ''. */
function checkComment(lines: readonly string[], fence: number): string {
  if (!lines[fence - 1]?.trimEnd().endsWith('-->')) return '';
  let start = fence - 1;
  while (start > 0 && !lines[start]!.includes('<!--')) start--;
  const text = lines.slice(start, fence).join('\n');
  const match = /<!--\s*check:([\s\S]*?)-->\s*$/.exec(text);
  return match ? match[1]!.trim() : '';
}

/** Package subpath → source file relative to the repository, from package.json "exports" (`types`). */
function exportMap(): Map<string, string> {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    name: string;
    exports: Record<string, string | { types?: string }>;
  };
  const map = new Map<string, string>();
  for (const [sub, target] of Object.entries(pkg.exports)) {
    const types = typeof target === 'object' ? target.types : undefined;
    if (!types) continue;
    const source = types.replace(/^\.\/dist\//, '').replace(/\.d\.ts$/, '.ts');
    map.set(sub === '.' ? pkg.name : `${pkg.name}/${sub.slice(2)}`, source);
  }
  return map;
}

/** Rewrites the module specifiers of `code` for a file in a directory one level below the repository. */
function mapImports(code: string, exports: Map<string, string>): string {
  return code.replace(
    /(\bfrom\s+|\bimport\s*\(?\s*)(['"])([^'"]+)\2/g,
    (all, lead: string, quote: string, spec: string) => {
      const target = exports.get(spec);
      if (target) return `${lead}${quote}../${target}${quote}`;
      const local = /^\.\/([\w-]+)\.js$/.exec(spec);
      if (local && existsSync(join(root, 'examples/orders/functions', `${local[1]}.ts`)))
        return `${lead}${quote}../examples/orders/functions/${local[1]}.ts${quote}`;
      return all;
    },
  );
}

/** The examples of README.md and docs/*.md. */
function allExamples(): DocExample[] {
  const files = [
    'README.md',
    ...readdirSync(join(root, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];
  return files.flatMap((f) => extractExamples(f, readFileSync(join(root, f), 'utf8')));
}

/** Runs `tsc -p <project> --pretty false` in a child process; resolves with its output. */
function tsc(project: string): Promise<{ status: number | null; output: string }> {
  const bin = join(root, 'node_modules/typescript/bin/tsc');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, '-p', project, '--pretty', 'false'], { stdio: 'pipe' });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, output }));
  });
}

/**
 * Type-checks `examples` with `tsc -p` on generated tsconfigs (extending the project's), in child processes
 * (the compiler at full speed, outside jest's module sandbox): the examples that load aws-cdk-lib (its
 * declarations are most of the parse time) and the others in two programs at once. Returns one line per error,
 * located in the Markdown file.
 */
async function typeCheck(examples: readonly DocExample[], dir: string): Promise<string[]> {
  const exports = exportMap();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const sources = new Map<string, { example: DocExample; offset: number; cdk: boolean }>();
  examples.forEach((example, n) => {
    const name = `${example.file.replace(/\W+/g, '-')}-${n}.ts`;
    const prelude = example.prelude ? `${example.prelude}\n` : '';
    const code = mapImports(prelude + example.code, exports);
    writeFileSync(join(dir, name), `${code}\nexport {};\n`);
    sources.set(name, {
      example,
      offset: prelude.split('\n').length - 1,
      cdk: /['"](aws-cdk-lib|\.\.\/cdk\/)/.test(code),
    });
  });
  const compilerOptions = { noEmit: true, allowImportingTsExtensions: true, noUnusedLocals: false, declaration: false };
  const projects = [true, false].map((cdk) => {
    const files = [...sources].filter(([, s]) => s.cdk === cdk).map(([name]) => name);
    const project = join(dir, `tsconfig.${cdk ? 'cdk' : 'rest'}.json`);
    writeFileSync(project, JSON.stringify({ extends: '../tsconfig.json', compilerOptions, files, include: [] }));
    return files.length ? tsc(project) : Promise.resolve({ status: 0, output: '' });
  });
  const problems: string[] = [];
  for (const run of await Promise.all(projects)) {
    const before = problems.length;
    for (const line of run.output.split('\n')) {
      const error = /^(.+?)\((\d+),\d+\): error (TS\d+): (.*)$/.exec(line);
      if (!error) continue;
      const source = sources.get(error[1]!.replace(/^.*[\\/]/, ''));
      if (!source) {
        problems.push(line); // an error outside the examples (in lib/ through them): reported as it is
        continue;
      }
      const { example, offset } = source;
      const at = Number(error[2]) - 1;
      const where =
        at < offset
          ? `${example.file}:${example.line} (check comment)`
          : `${example.file}:${example.line + at - offset}`;
      problems.push(`${where}: ${error[3]} ${error[4]}`);
    }
    if (run.status !== 0 && problems.length === before) throw new Error(`tsc failed: ${run.output}`);
  }
  return problems;
}

const dir = join(root, `.doc-examples-${process.pid}`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the TypeScript examples of README.md and docs/*.md', () => {
  it('every ```ts block compiles (except those fenced ```ts nocheck); a broken example is reported', async () => {
    const examples = allExamples();
    const checked = examples.filter((e) => !e.nocheck);
    const broken: DocExample = {
      file: 'control.md',
      line: 1,
      prelude: "import type { UnitOfWork } from 'lambda-unit-of-work';\ndeclare const uow: UnitOfWork;",
      code: "uow.schedule({ job: 'x', payload: {}, delay: 1, ifExists: 'upsert' });",
      nocheck: false,
    };
    const problems = await typeCheck([...checked, broken], dir);
    expect(problems.filter((p) => !p.startsWith('control.md'))).toEqual([]);
    expect(problems).toEqual([expect.stringMatching(/^control\.md:1: TS2322 Type '"upsert"' is not assignable/)]);
    expect(checked.length).toBeGreaterThanOrEqual(20);
    // nocheck is for elided fragments only (`unitOfWork({ … })`): the two Middy chains that show middleware order
    const skipped = examples.filter((e) => e.nocheck);
    expect(skipped.map((e) => ({ file: e.file, elided: e.code.includes('…') }))).toEqual([
      { file: 'docs/failure-semantics.md', elided: true },
      { file: 'docs/idempotency.md', elided: true },
    ]);
  }, 120_000); // ~40 s alone on 2 loaded cores, most of it parsing aws-cdk-lib; the margin is for a parallel suite

  it('extracts blocks, their check comments and nocheck fences', () => {
    const md = [
      'text',
      '<!-- check:',
      'declare const uow: unknown;',
      '-->',
      '```ts',
      'uow;',
      '```',
      '```ts nocheck',
      'middy().use(…);',
      '```',
      '```sh',
      'npm test',
      '```',
    ].join('\n');
    expect(extractExamples('x.md', md)).toEqual([
      { file: 'x.md', line: 6, code: 'uow;', prelude: 'declare const uow: unknown;', nocheck: false },
      { file: 'x.md', line: 9, code: 'middy().use(…);', prelude: '', nocheck: true },
    ]);
    expect(
      mapImports("import { a } from 'lambda-unit-of-work/jobs';\nimport { b } from './jobs.js';", exportMap()),
    ).toBe("import { a } from '../lib/jobs/index.ts';\nimport { b } from '../examples/orders/functions/jobs.ts';");
  });
});
