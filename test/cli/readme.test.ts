/** The README's CLI section matches the real `--help`: every command it lists exists and takes every option it shows. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { gantry, ROOT } from './helpers';

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('## The CLI\n'), readme.indexOf('\n## ', readme.indexOf('## The CLI\n') + 5));

/** Each `gantry …` usage in the first column of the commands table: its command words and its options. */
function usages(): Array<{ words: string[]; options: string[] }> {
  const out: Array<{ words: string[]; options: string[] }> = [];
  for (const line of section.split('\n')) {
    const cell = /^\| (.*?) \| /.exec(line)?.[1];
    if (!cell?.startsWith('`gantry ')) continue;
    for (const usage of cell.match(/`gantry [^`]+`/g) ?? []) {
      const text = usage.slice(1, -1);
      const words = text
        .split(' ')
        .slice(1)
        .filter((w, i, all) => /^[a-z]+$/.test(w) && all.slice(0, i).every((p) => /^[a-z]+$/.test(p)));
      out.push({ words, options: [...new Set(text.match(/--[a-z][a-z-]*/g) ?? [])] });
    }
  }
  return out;
}

describe('README CLI section', () => {
  it('lists the operator commands', () => {
    const listed = usages().map((u) => u.words.join(' '));
    for (const cmd of ['start', 'status', 'releases', 'rollback', 'freeze on', 'freeze off', 'freeze status', 'approve', 'reject', 'simulate', 'doctor'])
      assert.ok(listed.includes(cmd), cmd);
  });

  it('lists the report and audit commands, with the Gantry they read', () => {
    const listed = usages();
    for (const cmd of ['report', 'audit show', 'audit verify', 'audit export', 'audit drift', 'metrics'])
      assert.ok(
        listed.some((u) => u.words.join(' ') === cmd),
        cmd,
      );
    for (const cmd of ['report', 'audit show', 'audit verify', 'audit export', 'metrics']) {
      const u = listed.find((x) => x.words.join(' ') === cmd);
      for (const o of ['--local', '--stack', '--file']) assert.ok(u?.options.includes(o), `${cmd} ${o}`);
    }
  });

  for (const u of usages()) {
    it(`gantry ${u.words.join(' ')} --help shows ${u.options.join(', ') || 'the command'}`, async () => {
      const r = await gantry(...u.words, '--help');

      assert.equal(r.code, 0, r.stderr);
      for (const o of u.options) assert.match(r.stdout, new RegExp(`${o}\\b`), `${o} in gantry ${u.words.join(' ')} --help`);
    });
  }

  it('documents every exit code the commands use', () => {
    for (const code of ['0', '1', '2', '3', '4', '5']) assert.match(section, new RegExp(`^\\| ${code} \\| `, 'm'));
  });
});
