/**
 * What the operator commands (operator.ts, status.ts, releases.ts, approve.ts) share: where they write
 * (OperatorIo), the backend options (`--local` or `--stack`/`--region`/`--profile`…) and opening that
 * backend, colour, and the short forms of instants and digests they print.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
// The backends (the AWS SDK; the local runtime) are loaded when a command opens one, not at start (issue 17).
import type { AwsOptions } from '../backends/aws-backend';
import type { GantryBackend } from '../backends/backend';
import { CliInputError } from '../errors';

export type SetCode = (code: number) => void;

export interface OperatorIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Whether stdout is a terminal (redraw, colour). */
  readonly isTTY: boolean;
  /** The terminal's width in columns, when stdout is one (cli/render/text.ts `outputWidth`). */
  readonly columns?: number;
  /** Write to stdout exactly as given, no newline added: the progress line `gantry simulate` redraws in place on a terminal. */
  readonly outRaw?: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  readonly sleep: (ms: number) => Promise<void>;
  /** A monotonic clock in milliseconds, for how long `status --watch --timeout` has waited (tests pass one `sleep` advances; default performance.now). */
  readonly monotonicMs?: () => number;
  /** Open the backend the options name (tests replace it). */
  readonly openBackend?: (opts: BackendOptions) => Promise<GantryBackend>;
}

let closedPipeQuiet = false;
/** A reader that stops early (`gantry simulate | head`, the timeline streams): end quietly as Unix tools do, not with an EPIPE trace. */
function quietOnClosedPipe(): void {
  if (closedPipeQuiet) return;
  closedPipeQuiet = true;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}

export const processIo = (): OperatorIo => ({
  out: (s) => (quietOnClosedPipe(), process.stdout.write(s.endsWith('\n') ? s : `${s}\n`)),
  err: (s) => process.stderr.write(s.endsWith('\n') ? s : `${s}\n`),
  isTTY: process.stdout.isTTY === true,
  ...(process.stdout.isTTY && process.stdout.columns ? { columns: process.stdout.columns } : {}),
  outRaw: (s) => process.stdout.write(s),
  env: process.env,
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  monotonicMs: () => performance.now(),
});

export interface BackendOptions extends AwsOptions {
  /** A local Gantry directory (a simulation) instead of AWS. */
  readonly local?: string;
  /** Local only: the principal you act as. */
  readonly as?: string;
}

/** Colour only on a terminal, never with NO_COLOR set (https://no-color.org). */
export function useColour(io: Pick<OperatorIo, 'isTTY' | 'env'>): boolean {
  return io.isTTY && !(io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== '') && io.env.TERM !== 'dumb';
}

const COLOURS: Record<string, number> = {
  SUCCEEDED: 32,
  PROMOTED: 32,
  RUNNING: 36,
  WAITING: 33,
  NOT_STARTED: 90,
  BLOCKED: 31,
  REJECTED: 31,
  FAILED: 31,
  ROLLBACK_FAILED: 31,
  ROLLED_BACK: 31,
  ABORTED: 31,
  SKIPPED: 90,
  // Gate and step results (the simulate timeline, issue 20).
  PASS: 32,
  WARN: 33,
  FAIL: 31,
  DRIFTED: 33,
  STALE: 33,
  DRILL_OVERDUE: 33,
};
export const paint = (on: boolean, status: string, text = status) => (on && COLOURS[status] ? `\x1b[${COLOURS[status]}m${text}\x1b[0m` : text);

export function backendOptions(cmd: Command): Command {
  return cmd
    .option('--local <dir>', 'a local Gantry (a simulation directory made by gantry simulate --state) instead of AWS')
    .option('--stack <name>', 'the Gantry CloudFormation stack (default: GANTRY_STACK, else Gantry)')
    .option('--region <region>', "AWS region (default: AWS_REGION or your profile's)")
    .option('--profile <profile>', 'AWS profile (default: the standard credential chain)')
    .addOption(new Option('--outputs <file>', 'read the stack outputs from `cdk deploy --outputs-file` JSON instead of CloudFormation'))
    .option('--config <file>', 'the deployment config, to validate input fully (default: GANTRY_CONFIG or ./gantry.config.json)')
    .option('--as <principal>', 'local only: the IAM principal ARN you act as (default: GANTRY_LOCAL_PRINCIPAL or an Operators role)');
}

/** The backend the options name: `--local <dir>`, else the stack (`--stack`/`--outputs`, `--region`, `--profile`). Also used by `gantry report` and `gantry audit show`. */
export async function openBackend(opts: BackendOptions, io: Pick<OperatorIo, 'openBackend' | 'err'>): Promise<GantryBackend> {
  if (io.openBackend) return io.openBackend(opts);
  if (opts.local) {
    if (opts.stack || opts.outputs) throw new CliInputError('give either --local <dir> or --stack/--outputs, not both');
    const { LocalBackend } = await import('../backends/local-backend');
    return new LocalBackend(opts.local, opts.as ? { principal: opts.as } : {});
  }
  if (opts.as) throw new CliInputError('--as is for a local Gantry only: in AWS you are the principal your credentials name');
  const { openAwsBackend } = await import('../backends/aws-backend');
  return openAwsBackend(opts);
}

export async function withBackend<T>(opts: BackendOptions, io: OperatorIo, fn: (b: GantryBackend) => Promise<T>): Promise<T> {
  const b = await openBackend(opts, io);
  try {
    return await fn(b);
  } finally {
    b.close();
  }
}

export const localHint = (b: GantryBackend, opts: BackendOptions) => (b.kind === 'local' && opts.local ? ` --local ${opts.local}` : '');
export const simulated = (b: GantryBackend) => b.kind === 'local';
export const json = (v: unknown) => JSON.stringify(v, null, 2);

export function csv(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** `2026-11-24 10:00:00Z` for an ISO instant; `—` for none. */
export const clock = (iso: string | null) => (iso ? iso.replace(/^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d+)?Z$/, '$1 $2Z') : '—');
/** A digest's short form, its algorithm and first 12 hex digits: `sha256:1234567890ab` (the full one in `--json`). */
export const shortDigest = (d: string | null) => (d ? d.replace(/^(sha256:[0-9a-f]{12})[0-9a-f]{52}$/, '$1') : '(digest not resolved)');
