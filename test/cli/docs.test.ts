/**
 * The docs match the code: every `gantry <command>` that README.md or a page of docs/ shows in a table or
 * a code block exists in `--help`, with every option it shows; every relative link resolves; every
 * package.json dependency is explained in docs/dependencies.md; docs/config.md names every config field;
 * and no file of the repository names a path outside it (the parent folder's specs, the machine's folders).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'vitest';
import { gantry, ROOT } from './helpers';

const DOCS = join(ROOT, 'docs');
const pages = [
  'README.md',
  ...readdirSync(DOCS)
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const read = (page: string) => readFileSync(join(ROOT, page), 'utf8');

/** One `gantry …` invocation a page shows: where, its words after `gantry` and the options it passes. */
interface Usage {
  readonly where: string;
  readonly text: string;
}

/** The invocations in tables (code spans of table rows) and in shell code blocks of a page. */
export function usagesIn(page: string, text: string): Usage[] {
  const out: Usage[] = [];
  let fence: string | undefined;
  let continued = '';
  text.split('\n').forEach((line, i) => {
    const where = `${page}:${i + 1}`;
    const open = /^\s*```(\w*)/.exec(line);
    if (open) {
      fence = fence === undefined ? open[1] || 'text' : undefined;
      continued = '';
      return;
    }
    if (fence !== undefined) {
      if (!['sh', 'bash', 'shell', 'console', 'text'].includes(fence)) return;
      // A line ending in a backslash goes on on the next line; a comment is not part of the command.
      const joined = continued + line.replace(/\s#\s.*$/, '');
      if (joined.endsWith('\\')) {
        continued = `${joined.slice(0, -1)} `;
        return;
      }
      continued = '';
      // In a console or text block, a command follows a `$ ` prompt; a line without one is output.
      const prompt = fence === 'console' || fence === 'text' ? /(?:^\s*\$ (?:npx )?|&& |; )gantry ([^|;&)]*)/g : /(?:^\s*|\$ |npx |&& |; |\( )gantry ([^|;&)]*)/g;
      for (const m of joined.matchAll(prompt)) out.push({ where, text: `gantry ${m[1]}` });
      return;
    }
    if (!line.startsWith('|')) return;
    for (const m of line.matchAll(/`(?:npx )?gantry ([^`]*)`/g)) out.push({ where, text: `gantry ${m[1]}` });
  });
  return out;
}

/** The command names listed under "Commands:" in a help text. */
function commandsOf(help: string): string[] {
  const section = help.slice(help.indexOf('Commands:'));
  return help.includes('Commands:') ? [...section.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1] as string).filter((c) => c !== 'help') : [];
}

const helps = new Map<string, Promise<string>>();
/** `gantry <words> --help`, once per command. */
function helpOf(words: string[]): Promise<string> {
  const key = words.join(' ');
  if (!helps.has(key)) {
    helps.set(
      key,
      gantry(...words, '--help').then((r) => {
        assert.equal(r.code, 0, `gantry ${key} --help: ${r.stderr}`);
        return r.stdout;
      }),
    );
  }
  return helps.get(key) as Promise<string>;
}

/** The command words of an invocation, resolved against the help texts: `audit show` of `gantry audit show X --file F`. */
async function commandWords(u: Usage): Promise<string[]> {
  const tokens = u.text.split(/\s+/).slice(1);
  const words: string[] = [];
  for (const token of tokens) {
    const listed = commandsOf(await helpOf(words));
    if (listed.length === 0) break;
    const word = token.replace(/\\$/, '');
    if (!listed.includes(word)) {
      // `gantry freeze on|off` and `gantry audit show|verify` name several subcommands at once.
      if (word.includes('|') && word.split('|').every((w) => listed.includes(w))) return [...words, word.split('|')[0] as string];
      if (words.length === 0) assert.fail(`${u.where}: \`${u.text}\`: "${word}" is not a gantry command (gantry --help lists ${listed.join(', ')})`);
      // A command with subcommands may also run by itself; an argument ends the words.
      break;
    }
    words.push(word);
  }
  return words;
}

describe('gantry commands shown in README.md and docs/', () => {
  const usages = pages.flatMap((p) => usagesIn(p, read(p)));

  it('are found: the pages show the CLI in tables and code blocks', () => {
    assert.ok(usages.length >= 40, `${usages.length} usages`);
    assert.ok(usages.some((u) => u.where.startsWith('docs/operator-guide.md')));
    assert.ok(usages.some((u) => u.where.startsWith('docs/auditor-guide.md')));
  });

  it('exist in gantry --help, with every option they show in that command --help', async () => {
    const problems: string[] = [];
    for (const u of usages) {
      let words: string[];
      try {
        words = await commandWords(u);
      } catch (e) {
        problems.push((e as Error).message);
        continue;
      }
      const help = await helpOf(words);
      // Global options (--debug, --help) are the program's; every other option must be the command's own.
      const global = await helpOf([]);
      for (const option of new Set(u.text.match(/(?<![\w-])--[a-z][a-z0-9-]*/g) ?? [])) {
        if (!new RegExp(`${option}\\b`).test(help) && !new RegExp(`${option}\\b`).test(global)) {
          problems.push(`${u.where}: \`${u.text.trim()}\`: ${option} is not an option of gantry ${words.join(' ')}`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });

  it('would catch a command or an option that does not exist', async () => {
    const bad = usagesIn('x.md', '| `gantry status --no-such-flag` | x |\n\n```sh\ngantry deploy-now --service s\n```\n');
    assert.equal(bad.length, 2);
    assert.doesNotMatch(await helpOf(await commandWords(bad[0] as Usage)), /--no-such-flag\b/);
    await assert.rejects(commandWords(bad[1] as Usage), /"deploy-now" is not a gantry command/);
  });
});

/** GitHub's heading anchors: lowercase, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  let fence = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) fence = !fence;
    const h = fence ? null : /^#{1,6} (.*)$/.exec(line);
    if (!h) continue;
    const base = (h[1] as string)
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** Markdown links outside code: [text](target). */
function linksIn(markdown: string): Array<{ line: number; target: string }> {
  const out: Array<{ line: number; target: string }> = [];
  let fence = false;
  markdown.split('\n').forEach((line, i) => {
    if (/^\s*```/.test(line)) fence = !fence;
    if (fence) return;
    for (const m of line.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)\)/g)) out.push({ line: i + 1, target: m[1] as string });
  });
  return out;
}

describe('relative links in README.md and docs/*.md', () => {
  it('resolve to a file of the repository, and to a heading of it where they name one', () => {
    const problems: string[] = [];
    let checked = 0;
    for (const page of pages) {
      for (const { line, target } of linksIn(read(page))) {
        if (/^[a-z]+:/.test(target)) continue;
        checked++;
        const [path = '', anchor] = target.split('#');
        const file = path === '' ? join(ROOT, page) : join(ROOT, dirname(page), decodeURIComponent(path));
        if (!existsSync(file) || relative(ROOT, file).startsWith('..')) {
          problems.push(`${page}:${line}: ${target}: no such file in the repository`);
          continue;
        }
        if (anchor && file.endsWith('.md') && statSync(file).isFile() && !anchorsOf(readFileSync(file, 'utf8')).has(anchor)) {
          problems.push(`${page}:${line}: ${target}: no heading #${anchor} in ${relative(ROOT, file)}`);
        }
      }
    }
    assert.ok(checked >= 50, `${checked} links checked`);
    assert.deepEqual(problems, []);
  });

  it('anchors are made as GitHub makes them', () => {
    assert.deepEqual(
      [...anchorsOf("# A\n## 6. The stack's outputs\n## Rehearse with `gantry simulate`\n## A\n```sh\n# not a heading\n```\n")],
      ['a', '6-the-stacks-outputs', 'rehearse-with-gantry-simulate', 'a-1'],
    );
  });
});

describe('docs/dependencies.md', () => {
  it('explains every package of dependencies and devDependencies', () => {
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    const doc = read('docs/dependencies.md');
    const names = [...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)];
    assert.ok(names.length > 20);
    assert.deepEqual(
      names.filter((n) => !doc.includes(`\`${n}\``)),
      [],
    );
  });
});

describe('no file of the repository points outside it', () => {
  const SKIP = new Set(['node_modules', '.git', 'cdk.out', 'coverage', '.tmp', 'dist']);
  function files(dir: string): string[] {
    return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      if (SKIP.has(e.name)) return [];
      const p = join(dir, e.name);
      return e.isDirectory() ? files(p) : e.isFile() ? [p] : [];
    });
  }

  it('names no path into the sibling shared folder or the machine work folder (the two spelled in pieces below)', () => {
    // Spelled in pieces so that this file does not match itself.
    const outside = [['..', 'shared'].join('/'), ['', 'work', ''].join('/')];
    const all = files(ROOT);
    assert.ok(all.length > 100);
    const hits = all.flatMap((f) => {
      const buf = readFileSync(f);
      if (buf.includes(0)) return [];
      const text = buf.toString('utf8');
      return outside.filter((o) => text.includes(o)).map((o) => `${relative(ROOT, f)}: ${o}`);
    });
    assert.deepEqual(hits, []);
  });
});
