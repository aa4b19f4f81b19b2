/** Shared by the CLI tests: run `gantry` in-process with captured output, and scenarios for local Gantries. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../cli/main';

export const ROOT = join(__dirname, '..', '..');
export const D1 = `sha256:${'1'.repeat(64)}`;
export const D2 = `sha256:${'2'.repeat(64)}`;
export const D3 = `sha256:${'3'.repeat(64)}`;
export const alice = 'arn:aws:sts::111122223333:assumed-role/Deployers/alice';
export const bob = 'arn:aws:sts::111122223333:assumed-role/ReleaseApprovers/bob';
export const mallory = 'arn:aws:sts::111122223333:assumed-role/Developers/mallory';

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `gantry <args>` in this process, its output captured through main's io (never a TTY). */
export async function gantry(...args: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['node', 'gantry', ...args], {
    out: (s) => out.push(s.endsWith('\n') ? s : `${s}\n`),
    err: (s) => err.push(s.endsWith('\n') ? s : `${s}\n`),
    isTTY: false,
    env: {},
    sleep: async () => undefined,
  });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

/** `gantry <args>` as a user runs it (bin/gantry.js in a child process): for commands that write to process.stdout themselves. */
export function gantryProcess(...args: string[]): Run {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'gantry.js'), ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export const tmp = () => mkdtempSync(join(tmpdir(), 'gantry-cli-'));

export function readJson<T = Record<string, unknown>>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

/**
 * The demo scenario with a config of our own: prod needs an approval by ReleaseApprovers (60 min) and,
 * with `window`, deploys only Mon–Thu 09:00–16:00 Europe/London. The scan is complete, and nothing is
 * pushed unless `triggers` say so.
 */
export function scenarioFile(
  options: { window?: boolean; approval?: boolean; triggers?: unknown[]; script?: unknown[]; clock?: string; alarms?: Record<string, string> } = {},
): string {
  const s = readJson<Record<string, any>>(join(ROOT, 'examples', 'scenarios', 'demo.json'));
  const cfg = readJson<Record<string, any>>(join(ROOT, 'examples', 'gantry.config.json'));
  const prod = cfg.services.payments.stages[2];
  if (options.approval !== false) prod.approval = { approvers: ['arn:aws:iam::111122223333:role/ReleaseApprovers'], timeoutMinutes: 60 };
  if (options.window) prod.windows = { timezone: 'Europe/London', allow: [{ days: ['Mon', 'Tue', 'Wed', 'Thu'], from: '09:00', to: '16:00' }], outside: 'wait', blackouts: [] };
  s.config = cfg;
  s.name = 'cli test';
  if (options.clock) s.clock = options.clock;
  s.ecr['payments-api'].images[1].scan = { status: 'COMPLETE', findings: [] };
  s.ecr['payments-api'].images.push({
    digest: D3,
    tags: ['v1.4.3'],
    pushedAt: '2026-11-24T09:59:00Z',
    labels: { 'org.opencontainers.image.revision': 'abc1234' },
    scan: { status: 'COMPLETE', findings: [] },
  });
  s.triggers = options.triggers ?? [];
  s.script = options.script ?? [];
  if (options.alarms) s.alarms = { ...s.alarms, ...options.alarms };
  const file = join(tmp(), 'scenario.json');
  writeFileSync(file, JSON.stringify(s, null, 2));
  return file;
}

/** A local Gantry made from a scenario file, its clock at `until` after the start (default: the end). */
export async function localGantry(scenario: string, until?: string): Promise<string> {
  const dir = join(tmp(), 'gantry');
  const r = await gantry('simulate', scenario, '--state', dir, '--json', ...(until ? ['--until', until] : []));
  if (r.code !== 0) throw new Error(`simulate --state failed (${r.code}): ${r.stderr}`);
  return dir;
}

export const example = (name: string) => join(ROOT, 'examples', 'scenarios', `${name}.json`);
