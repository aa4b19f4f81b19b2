/**
 * `gantry completion bash|zsh|fish`: each script names every command (at every depth) and options of each,
 * read from the same commander definitions `gantry` runs (buildProgram), so a command the scripts miss fails
 * here; the bash script passes `bash -n` and completes as bash runs it; zsh and fish are syntax-checked
 * when their binaries are installed. A wrong shell exits 2 naming the allowed ones.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { type CompletionCommand, completionTree, SHELLS } from '../../cli/commands/completion';
import type { OperatorIo } from '../../cli/commands/common';
import { buildProgram } from '../../cli/main';
import { gantry, tmp } from './helpers';

const io: OperatorIo = { out: () => undefined, err: () => undefined, isTTY: false, env: {}, sleep: async () => undefined };
const program = buildProgram(io, () => undefined);

/** Every command of the program, straight from commander (not through completionTree): its words and its options' long names. */
function definitions(cmd = program, path: string[] = []): Array<{ path: string[]; options: string[] }> {
  const here = { path, options: cmd.options.map((o) => o.long).filter((l): l is string => typeof l === 'string') };
  return [here, ...cmd.commands.flatMap((c) => definitions(c, [...path, c.name()]))];
}
const commands = definitions().filter((d) => d.path.length > 0);

const hasBinary = (name: string) => spawnSync(name, ['--version'], { encoding: 'utf8' }).status === 0;

/** The part of a script that lists the options of the command `path`: its case in _gantry_options (bash, zsh), its `complete` lines (fish). */
function optionsOf(shell: string, text: string, path: string[]): string {
  const words = path.join(' ');
  if (shell === 'fish')
    return text
      .split('\n')
      .filter((l) => l.startsWith(`complete -c gantry -n '__gantry_at \\'${words}\\'' -l`))
      .join('\n');
  const options = text.slice(text.indexOf('_gantry_options() {'));
  const at = options.indexOf(`\n    '${words}')`);
  return at < 0 ? '' : options.slice(at, options.indexOf(';;', at));
}

async function script(shell: string): Promise<string> {
  const r = await gantry('completion', shell);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

describe('gantry completion', () => {
  it('reads the definitions: nested commands and value-taking options are in the tree', () => {
    const tree = completionTree(program);
    const find = (words: string[]) => {
      let c: CompletionCommand | undefined = tree;
      for (const w of words) c = c?.commands.find((x) => x.path[x.path.length - 1] === w);
      return c;
    };
    assert.ok(commands.length >= 18, `${commands.length} commands`);
    assert.ok(find(['audit', 'show']));
    assert.ok(find(['freeze', 'status']));
    assert.equal(find(['status'])?.options.find((o) => o.names.includes('--timeout'))?.takesValue, true);
    assert.equal(find(['status'])?.options.find((o) => o.names.includes('--watch'))?.takesValue, false);
  });

  for (const shell of SHELLS) {
    it(`${shell}: names every command and each command's options`, async () => {
      const text = await script(shell);
      const problems: string[] = [];
      for (const c of commands) {
        const name = c.path[c.path.length - 1] as string;
        if (!new RegExp(`(^|[\\s'])${name}([\\s':]|$)`, 'm').test(text)) problems.push(`${c.path.join(' ')}: the command is missing`);
        const block = optionsOf(shell, text, c.path);
        for (const o of c.options.slice(0, 3)) if (!block.includes(shell === 'fish' ? `-l '${o.slice(2)}'` : o)) problems.push(`${c.path.join(' ')}: ${o} is missing`);
      }
      assert.deepEqual(problems, []);
    });
  }

  it('bash: bash -n accepts the script, and it completes commands, subcommands and options as bash runs it', async () => {
    const file = join(tmp(), 'gantry.bash');
    writeFileSync(file, await script('bash'));
    const syntax = spawnSync('bash', ['-n', file], { encoding: 'utf8' });
    assert.equal(syntax.status, 0, syntax.stderr);

    const probe = `source ${JSON.stringify(file)}
t() { COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); _gantry; echo "\${COMPREPLY[*]}"; }
t gantry st; t gantry audit ''; t gantry status --ti; t gantry --debug freeze st; t gantry status --local st; t gantry freeze status --j`;
    const r = spawnSync('bash', ['-c', probe], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    // The value of --local is left to the shell's file completion (nothing offered).
    assert.deepEqual(r.stdout.split('\n').slice(0, 6), ['start status stages', 'show verify export drift', '--timeout', 'status', '', '--json']);
  });

  for (const shell of ['zsh', 'fish'] as const) {
    it.skipIf(!hasBinary(shell))(`${shell}: ${shell} -n accepts the script (skipped when ${shell} is not installed)`, async () => {
      const file = join(tmp(), `gantry.${shell}`);
      writeFileSync(file, await script(shell));
      const r = spawnSync(shell, ['-n', file], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    });
  }

  it.skipIf(!hasBinary('zsh'))('zsh: offers the subcommands and options of the command typed (zsh installed; compsys stubbed)', async () => {
    const file = join(tmp(), '_gantry');
    writeFileSync(file, await script('zsh'));
    // _describe and _files are compsys's: stubbed to print what they are given.
    const probe = `_describe() { print -r -- "\${(@)\${(@P)4}%%:*}" }; _files() { print FILES }; compdef() { :; }; source ${JSON.stringify(file)}
t() { words=("$@"); CURRENT=\${#words}; _gantry; }
t gantry audit ''; t gantry --debug freeze status --j; t gantry status --local x; t gantry report ''`;
    const r = spawnSync('zsh', ['-c', probe], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const [audit = '', freezeStatus = '', value, argument] = r.stdout.split('\n');
    assert.equal(audit, 'show verify export drift');
    assert.match(freezeStatus, /^--json --local /);
    assert.doesNotMatch(freezeStatus, /--watch/);
    assert.deepEqual([value, argument], ['FILES', 'FILES']);
  });

  it.skipIf(!hasBinary('fish'))('fish: completes a subcommand of the command typed (freeze status, not status)', async () => {
    const file = join(tmp(), 'gantry.fish');
    writeFileSync(file, await script('fish'));
    const r = spawnSync('fish', ['-c', `source ${file}; complete -C 'gantry freeze status --'`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^--local\t/m);
    assert.doesNotMatch(r.stdout, /^--watch\t/m, 'the options of gantry status are not those of gantry freeze status');
  });

  it('exits 2 for another shell, naming the allowed ones', async () => {
    for (const args of [['completion', 'tcsh'], ['completion']]) {
      const r = await gantry(...args);
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.stdout, '');
    }
    assert.match((await gantry('completion', 'tcsh')).stderr, /'tcsh' is invalid for argument 'shell'\. Allowed choices are bash, zsh, fish/);
  });
});
