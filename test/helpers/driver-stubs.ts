/**
 * Stub executables for the driver script tests: each one appends how it was called (its name, its
 * arguments and the environment variables the test asks for) to a log, then does the little its
 * scenario needs. The scripts run with bash exactly as CodeBuild runs them, the stubs first on PATH.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Separates fields of one logged call (never in a value the tests pass). */
export const FIELD = '\x1f';
/** Separates a call's arguments from the environment it saw. */
export const ENV_MARK = '\x1e';

export interface Call {
  /** The executable's name, then its arguments. */
  readonly argv: readonly string[];
  /** The variables named in STUB_RECORD_ENV, as the call saw them. */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * The bash that records one call: name and arguments, then every variable named in $STUB_RECORD_ENV.
 * The line is built first and appended with one write, so stubs running at once (`aws … | helm …`)
 * never interleave their lines.
 */
const RECORD = `stub_line="$(
  printf '%s' "\${0##*/}"
  printf '${FIELD}%s' "$@"
  printf '${ENV_MARK}'
  for stub_var in \${STUB_RECORD_ENV-}; do printf '%s=%s${FIELD}' "$stub_var" "\${!stub_var-}"; done
)"
printf '%s\\n' "$stub_line" >> "$STUB_LOG"`;

/** Write `tools` (name → bash body run after the call is recorded) as executables into a new directory. */
export function stubBin(tools: Readonly<Record<string, string>>): string {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-stub-bin-'));
  for (const [name, body] of Object.entries(tools)) {
    writeFileSync(join(dir, name), `#!/usr/bin/env bash\nset -euo pipefail\n${RECORD}\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  }
  return dir;
}

/**
 * Link the real python3 interpreter (not a version manager's shim, which costs a second per start)
 * into `dir`, so the scripts run the real thing quickly. Does nothing when python3 is not installed.
 */
export function linkRealPython(dir: string): void {
  const r = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
  if (r.status === 0 && r.stdout.trim() !== '') symlinkSync(r.stdout.trim(), join(dir, 'python3'));
}

/** A stub that only records its call. */
export const RECORD_ONLY = 'exit 0';

export function which(cmd: string): string | undefined {
  const r = spawnSync('bash', ['-c', 'command -v "$1"', 'which', cmd], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

export interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly calls: readonly Call[];
  /** The run's own temporary directory (HOME and TMPDIR of the script). */
  readonly dir: string;
}

/**
 * Run a bash program (a file's text) with only `env` in its environment, plus PATH with the stub
 * directories first and what the stubs need (STUB_LOG, STUB_RECORD_ENV, `stubEnv`).
 */
export function runBash(
  program: string,
  options: { env: Readonly<Record<string, string>>; stubDirs: readonly string[]; stubEnv?: Readonly<Record<string, string>>; recordEnv?: readonly string[] },
): Run {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-driver-run-'));
  const file = join(dir, 'program.sh');
  const log = join(dir, 'calls.log');
  const home = join(dir, 'home');
  mkdirSync(home);
  writeFileSync(file, program);
  writeFileSync(log, '');
  const r = spawnSync('bash', [file], {
    encoding: 'utf8',
    env: {
      PATH: [...options.stubDirs, process.env.PATH ?? '/usr/bin:/bin'].join(':'),
      HOME: home,
      TMPDIR: dir,
      STUB_LOG: log,
      STUB_RECORD_ENV: (options.recordEnv ?? []).join(' '),
      ...options.stubEnv,
      ...options.env,
    },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, calls: parseLog(readFileSync(log, 'utf8')), dir };
}

function parseLog(text: string): Call[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [args = '', env = ''] = line.split(ENV_MARK);
      return {
        argv: args.split(FIELD),
        env: Object.fromEntries(
          env
            .split(FIELD)
            .filter(Boolean)
            .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
        ),
      };
    });
}

/** `tool sub` of each call, e.g. `terraform plan`, `aws s3` — the order of what ran. */
export function steps(calls: readonly Call[]): string[] {
  return calls.map((c) => c.argv.slice(0, 2).join(' '));
}

/** The commands of one phase of a buildspec (`- cmd` lines under `<phase>:`/`commands:`), in order. */
export function phaseCommands(buildspec: string, phase: string): string[] {
  const lines = buildspec.split('\n');
  const start = lines.findIndex((l) => l.trim() === `${phase}:`);
  if (start < 0) throw new Error(`no phase ${phase}`);
  const phaseIndent = (/^ */.exec(lines[start] as string)?.[0] ?? '').length;
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    const indent = (/^ */.exec(l)?.[0] ?? '').length;
    if (l.trim() !== '' && indent <= phaseIndent) break;
    const m = /^\s*- (.*)$/.exec(l);
    if (m) out.push(m[1] as string);
  }
  return out;
}

/**
 * The single `- |` block of the build phase of a rendered buildspec, with its YAML indentation
 * removed: what CodeBuild runs.
 */
export function renderedBuildCommand(buildspecText: string): string {
  const lines = buildspecText.split('\n');
  const start = lines.findIndex((l, i) => /^\s*- \|$/.test(l) && lines.slice(0, i).some((p) => /^\s*build:\s*$/.test(p)));
  if (start < 0) throw new Error('no literal block command in the build phase');
  const dashIndent = (/^ */.exec(lines[start] as string)?.[0] ?? '').length;
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (l.trim() !== '' && (/^ */.exec(l)?.[0] ?? '').length <= dashIndent) break;
    out.push(l.slice(dashIndent + 2));
  }
  return `${out.join('\n').replace(/\n+$/, '')}\n`;
}

/** Values that must never reach a command: command substitution, backticks, `;`, quotes, line breaks. */
export const HOSTILE_SUFFIXES = ['$(touch /tmp/gantry-pwned)', '`id`', ';id', "'", '"', '\nid', '\rid'] as const;

/** `env.variables` of a buildspec (`NAME: value` lines under `variables:`). */
export function buildspecVariables(buildspec: string): Record<string, string> {
  return Object.fromEntries(
    sectionLines(buildspec, 'variables').flatMap((l) => {
      const m = /^\s*([A-Za-z_][A-Za-z0-9_]*):\s*(\S.*)$/.exec(l);
      return m ? [[m[1] as string, m[2] as string]] : [];
    }),
  );
}

/** `env.exported-variables` of a buildspec, in order. */
export function exportedVariableNames(buildspec: string): string[] {
  return sectionLines(buildspec, 'exported-variables').flatMap((l) => {
    const m = /^\s*- ([A-Za-z_][A-Za-z0-9_]*)\s*$/.exec(l);
    return m ? [m[1] as string] : [];
  });
}

/** The lines of a YAML block `<key>:` up to the next line indented as much or less (comments skipped). */
function sectionLines(text: string, key: string): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === `${key}:`);
  if (start < 0) throw new Error(`no ${key}: in the buildspec`);
  const indent = (/^ */.exec(lines[start] as string)?.[0] ?? '').length;
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (l.trim() === '' || l.trim().startsWith('#')) continue;
    if ((/^ */.exec(l)?.[0] ?? '').length <= indent) break;
    out.push(l);
  }
  return out;
}

/** The single `- |` block of the build phase's `finally:`, with its YAML indentation removed. */
export function buildFinallyCommand(buildspec: string): string {
  const lines = buildspec.split('\n');
  const start = lines.findIndex((l, i) => l.trim() === 'finally:' && lines.slice(0, i).some((p) => /^\s*build:\s*$/.test(p)));
  if (start < 0) throw new Error('no finally: in the build phase');
  const block = lines.findIndex((l, i) => i > start && /^\s*- \|$/.test(l));
  if (block < 0) throw new Error('no literal block command in the build phase finally:');
  const dashIndent = (/^ */.exec(lines[block] as string)?.[0] ?? '').length;
  const out: string[] = [];
  for (const l of lines.slice(block + 1)) {
    if (l.trim() !== '' && (/^ */.exec(l)?.[0] ?? '').length <= dashIndent) break;
    out.push(l.slice(dashIndent + 2));
  }
  return `${out.join('\n').replace(/\n+$/, '')}\n`;
}

/**
 * The build phase as CodeBuild runs it, in one shell: the build command, then (whatever its status)
 * the `finally:` commands, then what CodeBuild would export — each of `env.exported-variables` as
 * `NAME=value` to $STUB_EXPORTS_OUT. The program exits with the build command's status.
 */
export function codeBuildBuildPhase(buildCommand: string, buildspec: string): string {
  const names = exportedVariableNames(buildspec);
  return [
    buildCommand.replace(/\n+$/, ''),
    'build_status=$?',
    buildFinallyCommand(buildspec).replace(/\n+$/, ''),
    `for exported_name in ${names.join(' ')}; do printf '%s=%s\\n' "$exported_name" "\${!exported_name-}"; done >"$STUB_EXPORTS_OUT"`,
    'exit "$build_status"',
    '',
  ].join('\n');
}

/** Read what `codeBuildBuildPhase` exported: name → value (empty when the build never set it). */
export function readExports(file: string): Record<string, string> {
  return Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}
