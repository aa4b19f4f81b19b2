/**
 * The operator commands: `gantry start | status | releases | rollback | freeze | approve | reject`,
 * each against a deployed Gantry (`--stack`, default GANTRY_STACK or `Gantry`, with `--region` and
 * `--profile`) or a local one (`--local <dir>`, a simulation). Read commands take `--json` (schemas in
 * cli/render/schemas.ts). Exit codes: cli/backends/backend.ts EXIT (README "CLI").
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import type { ReleaseSummary } from '../../lambdas/domain/ledger';
import { TERMINAL_RELEASE_STATUSES } from '../../lambdas/domain/types';
import { COMMENT_MAX } from '../../lambdas/domain/approvers';
import { executionConsoleUrl } from '../../lambdas/domain/console-url';
import { runDecision } from '../backends/approval-api';
import { type AwsOptions, openAwsBackend } from '../backends/aws-backend';
import { EXIT, type GantryBackend, NotFoundError } from '../backends/backend';
import { CliInputError } from '../errors';
import { parseTimeBound } from '../input';
import { LocalBackend } from '../backends/local-backend';
import type { ReleaseStatusView } from '../render/schemas';
import { bakingAlarms, exitCodeOf, releaseStatus } from '../render/status-view';

export type SetCode = (code: number) => void;

export interface OperatorIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Whether stdout is a terminal (redraw, colour). */
  readonly isTTY: boolean;
  readonly env: NodeJS.ProcessEnv;
  readonly sleep: (ms: number) => Promise<void>;
  /** Open the backend the options name (tests replace it). */
  readonly openBackend?: (opts: BackendOptions) => Promise<GantryBackend>;
}

export const processIo = (): OperatorIo => ({
  out: (s) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`),
  err: (s) => process.stderr.write(s.endsWith('\n') ? s : `${s}\n`),
  isTTY: process.stdout.isTTY === true,
  env: process.env,
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
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
  ROLLED_BACK: 35,
  ABORTED: 31,
  SKIPPED: 90,
};
export const paint = (on: boolean, status: string, text = status) => (on && COLOURS[status] ? `\x1b[${COLOURS[status]}m${text}\x1b[0m` : text);

function backendOptions(cmd: Command): Command {
  return cmd
    .option('--local <dir>', 'a local Gantry (a simulation directory made by gantry simulate --state) instead of AWS')
    .option('--stack <name>', 'the Gantry CloudFormation stack (default: GANTRY_STACK, else Gantry)')
    .option('--region <region>', 'AWS region (default: AWS_REGION or your profile\'s)')
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
    return new LocalBackend(opts.local, opts.as ? { principal: opts.as } : {});
  }
  if (opts.as) throw new CliInputError('--as is for a local Gantry only: in AWS you are the principal your credentials name');
  return openAwsBackend(opts);
}

async function withBackend<T>(opts: BackendOptions, io: OperatorIo, fn: (b: GantryBackend) => Promise<T>): Promise<T> {
  const b = await openBackend(opts, io);
  try {
    return await fn(b);
  } finally {
    b.close();
  }
}

const localHint = (b: GantryBackend, opts: BackendOptions) => (b.kind === 'local' && opts.local ? ` --local ${opts.local}` : '');
const simulated = (b: GantryBackend) => b.kind === 'local';
const json = (v: unknown) => JSON.stringify(v, null, 2);

function csv(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

// ------------------------------------------------------------------ status rendering

export async function statusOf(b: GantryBackend, releaseId: string): Promise<ReleaseStatusView | undefined> {
  const events = await b.getReleaseEvents(releaseId);
  if (events.length === 0) return undefined;
  const open = bakingAlarms(events);
  const alarmStates = open.length && b.alarmStates ? await b.alarmStates(open) : undefined;
  const execution = await b.describeExecution(releaseId);
  const consoleUrl = b.kind === 'aws' && execution ? executionConsoleUrl(execution.executionArn) : undefined;
  const cfg = b.config();
  return releaseStatus(events, {
    now: b.now(),
    ...(cfg ? { config: cfg } : {}),
    ...(alarmStates ? { alarmStates } : {}),
    ...(execution ? { execution } : {}),
    ...(consoleUrl ? { consoleUrl } : {}),
  });
}

const clock = (iso: string | null) => (iso ? iso.replace(/^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d+)?Z$/, '$1 $2Z') : '—');
const shortDigest = (d: string | null) => (d ? `${d.slice(0, 19)}…` : '(digest not resolved)');

export function renderStatus(v: ReleaseStatusView, colour: boolean, source: string): string {
  const lines: string[] = [];
  const kind = v.kind === 'rollback' ? 'ROLLBACK' : 'RELEASE';
  lines.push(`${kind} ${v.releaseId} — ${paint(colour, v.status)}${v.reason ? `: ${v.reason}` : ''}`);
  lines.push(`  ${v.service} ${shortDigest(v.digest)}${v.tag ? ` (${v.tag})` : ''}, started ${clock(v.startedAt)} by ${v.initiator ?? '(unattributed)'}`);
  if (v.requestReason) lines.push(`  reason     ${v.requestReason}`);
  if (v.breakGlass) lines.push(`  BREAK-GLASS ${v.breakGlass}`);
  if (v.endedAt) lines.push(`  finished   ${clock(v.endedAt)}`);
  if (v.execution && v.execution.status !== v.status && !(v.status === 'RUNNING' && v.execution.status === 'RUNNING')) {
    lines.push(`  execution  ${v.execution.status}${v.execution.error ? ` (${v.execution.error}${v.execution.cause ? `: ${v.execution.cause.slice(0, 200)}` : ''})` : ''}`);
  }
  if (v.consoleUrl) lines.push(`  console    ${v.consoleUrl}`);
  const width = Math.max(5, ...v.stages.map((s) => s.name.length)) + 2;
  for (const s of v.stages) {
    lines.push(`  ${s.name.padEnd(width)}${paint(colour, s.status, s.status.padEnd(16))}${s.activity}`);
  }
  lines.push(`  (${source}; as of ${clock(v.now)})`);
  return lines.join('\n');
}

/** The releases `gantry status` shows: one by id; else RUNNING ones (of the service), else the latest one. */
async function pickReleases(b: GantryBackend, releaseId: string | undefined, service: string | undefined): Promise<string[]> {
  if (releaseId) return [releaseId];
  const all = await b.listReleases(service ? { service } : {});
  const running = all.filter((r) => r.status === 'RUNNING');
  if (running.length) return running.map((r) => r.releaseId);
  const latest = all[0];
  return latest ? [latest.releaseId] : [];
}

function plainWatchLines(v: ReleaseStatusView): string[] {
  return v.stages.filter((s) => s.phase !== 'not-started').map((s) => `${v.releaseId} ${s.name}: ${s.status} — ${s.activity.replace(/requested .* ago/, 'requested')}`);
}

// ------------------------------------------------------------------ commands

interface StatusOptions extends BackendOptions {
  readonly service?: string;
  readonly watch?: boolean;
  readonly interval?: string;
  readonly json?: boolean;
}

export async function runStatus(releaseId: string | undefined, opts: StatusOptions, io: OperatorIo): Promise<number> {
  const b = await openBackend(opts, io);
  try {
    const colour = useColour(io);
    const intervalMs = opts.interval === undefined ? 5000 : Number(opts.interval) * 1000;
    if (!Number.isFinite(intervalMs) || intervalMs < 100) throw new CliInputError(`--interval: expected seconds (at least 0.1), got ${JSON.stringify(opts.interval)}`);
    const ids = await pickReleases(b, releaseId, opts.service);
    if (ids.length === 0) {
      throw new NotFoundError(`no release${opts.service ? ` of ${opts.service}` : ''} in ${b.label}; start one with gantry start --service S --tag T${localHint(b, opts)}`);
    }
    const printed = new Set<string>();
    let first = true;
    for (;;) {
      const views: ReleaseStatusView[] = [];
      for (const id of ids) {
        const v = await statusOf(b, id);
        if (!v) throw new NotFoundError(`release ${id} is not in ${b.label}; list releases with gantry releases${localHint(b, opts)}`);
        views.push(v);
      }
      const done = views.every((v) => TERMINAL_RELEASE_STATUSES.has(v.status as never));
      const code = Math.max(...views.map((v) => v.exitCode));
      if (opts.json) {
        const body = { source: b.label, simulated: simulated(b), releases: views };
        io.out(opts.watch ? JSON.stringify(body) : json(body));
      } else if (!opts.watch || io.isTTY) {
        const text = views.map((v) => renderStatus(v, colour, b.label)).join('\n\n');
        io.out(opts.watch ? `\x1b[H\x1b[2J${text}` : text);
      } else {
        for (const v of views) {
          for (const line of plainWatchLines(v)) {
            if (printed.has(line)) continue;
            printed.add(line);
            io.out(`${clock(v.now)}  ${line}`);
          }
          if (TERMINAL_RELEASE_STATUSES.has(v.status as never) && !printed.has(`end ${v.releaseId}`)) {
            printed.add(`end ${v.releaseId}`);
            io.out(`${clock(v.now)}  ${v.releaseId} finished: ${v.status}${v.reason ? ` — ${v.reason}` : ''}`);
          }
        }
      }
      if (!opts.watch || done) return code;
      if (first && b.kind === 'local') {
        io.err(`gantry: ${b.label} stands at ${b.now().toISOString()}: its clock moves only when told (gantry simulate --state ${opts.local} --advance PT10M) or when someone acts (approve, rollback); watching for that`);
      }
      first = false;
      await io.sleep(intervalMs);
      if (b instanceof LocalBackend) b.refresh();
    }
  } finally {
    b.close();
  }
}

interface StartOptions extends BackendOptions {
  readonly service: string;
  readonly tag?: string;
  readonly digest?: string;
  readonly stages?: string;
  readonly reason?: string;
  readonly breakGlass?: string;
  readonly json?: boolean;
}

/** The release input of `gantry start` (CONTRACTS §2), before validation. */
export function releaseInputOf(opts: StartOptions): Record<string, unknown> {
  if (opts.tag !== undefined && opts.digest !== undefined) throw new CliInputError('give either --tag or --digest, not both');
  if (opts.tag === undefined && opts.digest === undefined) throw new CliInputError('give the image: --tag <tag> or --digest sha256:<64 hex>');
  return {
    service: opts.service,
    image: opts.tag !== undefined ? { tag: opts.tag } : { digest: opts.digest },
    ...(opts.stages !== undefined ? { stages: csv(opts.stages) } : {}),
    ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
    ...(opts.breakGlass !== undefined ? { breakGlass: { reason: opts.breakGlass } } : {}),
  };
}

async function startAndReport(kind: 'release' | 'rollback', input: Record<string, unknown>, opts: BackendOptions & { json?: boolean }, io: OperatorIo): Promise<number> {
  return withBackend(opts, io, async (b) => {
    const r = kind === 'release' ? await b.startRelease(input) : await b.startRollback(input);
    // A rollback is refused in its first state: wait briefly for its first record to say so.
    let v = await statusOf(b, r.releaseId);
    for (let i = 0; kind === 'rollback' && b.kind === 'aws' && i < 10 && (!v || (v.status === 'RUNNING' && v.stages.every((s) => s.phase === 'starting' || s.phase === 'not-started'))); i++) {
      await io.sleep(1000);
      v = await statusOf(b, r.releaseId);
    }
    const status = v?.status ?? null;
    const code = status && TERMINAL_RELEASE_STATUSES.has(status as never) ? exitCodeOf(status, kind) : EXIT.ok;
    if (opts.json) {
      io.out(json({ source: b.label, simulated: simulated(b), releaseId: r.releaseId, kind, executionArn: r.executionArn, consoleUrl: r.consoleUrl ?? null, alreadyExists: r.alreadyExists, input, status, reason: v?.reason ?? null }));
      return code;
    }
    const what = kind === 'rollback' ? `rollback of ${String(input.service)}/${String(input.stage)}` : `release of ${String(input.service)}`;
    io.out(`${r.alreadyExists ? 'Already started' : 'Started'} ${what}: ${r.releaseId}`);
    if (r.consoleUrl) io.out(`  console  ${r.consoleUrl}`);
    if (v && status === 'BLOCKED' && kind === 'rollback') {
      io.err(`gantry: ${v.reason ?? 'rollback refused'}`);
      io.err('nothing was deployed; name a digest that was promoted in that stage (gantry releases --service S shows them), or leave out --digest');
    } else if (v) {
      io.out(renderStatus(v, useColour(io), b.label));
    }
    io.out(`  follow   gantry status ${r.releaseId}${localHint(b, opts)} --watch`);
    return code;
  });
}

interface RollbackOptions extends BackendOptions {
  readonly service: string;
  readonly stage: string;
  readonly digest?: string;
  readonly reason: string;
  readonly json?: boolean;
}

interface ReleasesOptions extends BackendOptions {
  readonly service?: string;
  readonly since?: string;
  readonly until?: string;
  readonly status?: string;
  readonly limit?: string;
  readonly json?: boolean;
}

export function releaseListItem(r: ReleaseSummary) {
  return {
    releaseId: r.releaseId,
    kind: r.kind,
    service: r.service,
    status: r.status,
    digest: r.digest ?? null,
    tag: r.tag ?? null,
    initiator: r.initiator ?? null,
    startedAt: r.startedAt,
    endedAt: r.endedAt ?? null,
    reason: r.reason ?? null,
    stages: r.stages.map((s) => ({ name: s.name, status: s.status })),
  };
}

export async function runReleases(opts: ReleasesOptions, io: OperatorIo): Promise<number> {
  return withBackend(opts, io, async (b) => {
    const now = b.now();
    const since = parseTimeBound(opts.since, 'since', now);
    const until = parseTimeBound(opts.until, 'until', now);
    const limit = opts.limit === undefined ? 50 : Number(opts.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new CliInputError(`--limit: expected a whole number of at least 1, got ${JSON.stringify(opts.limit)}`);
    let list = await b.listReleases({ ...(opts.service ? { service: opts.service } : {}), ...(since ? { from: since } : {}), ...(until ? { to: until } : {}) });
    if (opts.status) {
      const wanted = new Set(csv(opts.status).map((s) => s.toUpperCase()));
      list = list.filter((r) => wanted.has(r.status));
    }
    list = list.slice(0, limit);
    if (opts.json) {
      io.out(json({ source: b.label, simulated: simulated(b), now: now.toISOString(), releases: list.map(releaseListItem) }));
      return EXIT.ok;
    }
    if (list.length === 0) {
      io.out(`no releases${opts.service ? ` of ${opts.service}` : ''}${since ? ` since ${clock(since)}` : ''} in ${b.label}`);
      return EXIT.ok;
    }
    const colour = useColour(io);
    const w = Math.max(10, ...list.map((r) => r.releaseId.length)) + 2;
    io.out(`${'RELEASE'.padEnd(w)}${'SERVICE'.padEnd(12)}${'STATUS'.padEnd(17)}${'STARTED'.padEnd(22)}${'IMAGE'.padEnd(24)}STAGES`);
    for (const r of list) {
      const image = r.kind === 'rollback' ? `→ ${shortDigest(r.rollbackTarget ?? r.digest ?? null)}` : (r.tag ?? shortDigest(r.digest ?? null));
      const stages = r.stages.map((s) => `${s.name}:${s.status}`).join(' ');
      io.out(`${r.releaseId.padEnd(w)}${r.service.padEnd(12)}${paint(colour, r.status, r.status.padEnd(17))}${clock(r.startedAt).padEnd(22)}${image.padEnd(24)}${stages}`);
    }
    io.out(`(${list.length} release(s); ${b.label})`);
    return EXIT.ok;
  });
}

async function runFreeze(action: 'on' | 'off' | 'status', opts: BackendOptions & { reason?: string; json?: boolean }, io: OperatorIo): Promise<number> {
  return withBackend(opts, io, async (b) => {
    let state = action === 'status' ? await b.getFreeze() : undefined;
    if (action !== 'status') {
      const reason = opts.reason ?? (action === 'off' ? 'freeze lifted' : undefined);
      if (!reason || !/\S/.test(reason)) throw new CliInputError('freeze on needs --reason "<why>" (it is recorded and shown to every blocked release)');
      state = await b.setFreeze(action === 'on', reason);
    }
    const s = state ?? { on: false };
    if (opts.json) {
      io.out(json({ source: b.label, simulated: simulated(b), on: s.on, reason: s.reason ?? null, principal: s.principal ?? null, at: s.at ?? null }));
    } else if (s.on) {
      io.out(`FREEZE ON since ${clock(s.at ?? null)} by ${s.principal ?? '?'}: ${s.reason ?? ''}`);
      io.out('  every stage deploy is blocked except a break-glass release (gantry start … --break-glass "<why>")');
    } else {
      io.out(`freeze off${s.at ? ` (since ${clock(s.at)} by ${s.principal ?? '?'}${s.reason ? `: ${s.reason}` : ''})` : ''}`);
    }
    return EXIT.ok;
  });
}

interface DecideOptions extends BackendOptions {
  readonly stage: string;
  readonly comment?: string;
  readonly apiUrl?: string;
}

async function runDecide(decision: 'approve' | 'reject', releaseId: string, opts: DecideOptions, io: OperatorIo): Promise<number> {
  if (opts.apiUrl) {
    if (opts.local) throw new CliInputError('give either --api-url or --local, not both');
    return runDecision(decision, releaseId, { stage: opts.stage, apiUrl: opts.apiUrl, ...(opts.comment !== undefined ? { comment: opts.comment } : {}), ...(opts.region ? { region: opts.region } : {}), ...(opts.profile ? { profile: opts.profile } : {}) });
  }
  return withBackend(opts, io, async (b) => {
    const r = await b.decide({ decision, releaseId, stage: opts.stage, ...(opts.comment !== undefined ? { comment: opts.comment } : {}) });
    for (const l of r.lines) (l.stream === 'out' ? io.out : io.err)(l.text);
    return r.code;
  });
}

// ------------------------------------------------------------------ registration

export function registerOperatorCommands(program: Command, setCode: SetCode, io: OperatorIo = processIo()): void {
  backendOptions(
    program
      .command('start')
      .description('start a release of a service: validates the input as the workflow does, prints the release id and the console link')
      .requiredOption('--service <service>', 'the service (a key of the config\'s "services")')
      .option('--tag <tag>', 'the image tag (resolved to its digest once, at the start)')
      .option('--digest <digest>', 'the image digest sha256:<64 hex>')
      .option('--stages <list>', 'comma-separated prefix of the service\'s stages (default: all)')
      .option('--reason <text>', 'why (a change ticket); recorded')
      .option('--break-glass <reason>', 'bypass deployment windows and the freeze (only those); flagged in the ledger and on the bus')
      .option('--json', 'print the result as one JSON object'),
  ).action(async (opts: StartOptions) => {
    setCode(await startAndReport('release', releaseInputOf(opts), opts, io));
  });

  backendOptions(
    program
      .command('status')
      .description('a release now: each stage\'s status and phase, and why it is waiting (window, approval, lease, scan, bake)')
      .argument('[releaseId]', 'the release (default: the running releases, else the latest)')
      .option('--service <service>', 'the running (else the latest) release of this service')
      .option('--watch', 'redraw until the release finishes (plain lines when not a terminal); exit with its code')
      .option('--interval <seconds>', '--watch: seconds between reads (default 5)')
      .option('--json', 'print the status as JSON (with --watch: one line per read)'),
  ).action(async (releaseId: string | undefined, opts: StatusOptions) => {
    setCode(await runStatus(releaseId, opts, io));
  });

  backendOptions(
    program
      .command('releases')
      .description('list releases and rollbacks, newest first')
      .option('--service <service>', 'only this service')
      .option('--since <when>', 'started at or after: an ISO date, instant, or duration back from now (P7D)')
      .option('--until <when>', 'started at or before: an ISO date, instant, or duration back from now')
      .option('--status <list>', 'only these statuses (comma-separated, e.g. RUNNING,FAILED)')
      .option('--limit <n>', 'at most this many (default 50)')
      .option('--json', 'print the list as one JSON object'),
  ).action(async (opts: ReleasesOptions) => {
    setCode(await runReleases(opts, io));
  });

  backendOptions(
    program
      .command('rollback')
      .description('return a stage to the digest promoted there before the one running (or --digest): starts the rollback workflow; a refusal deploys nothing')
      .requiredOption('--service <service>', 'the service')
      .requiredOption('--stage <stage>', 'the stage to roll back')
      .option('--digest <digest>', 'the digest to return to (must have been promoted in that stage)')
      .requiredOption('--reason <text>', 'why (an incident); recorded')
      .option('--force <reason>', "roll back even if the target now fails an image gate (recorded as WARNs with this reason; the stage's approvers are asked first where the stage requires approval)")
      .option('--json', 'print the result as one JSON object'),
  ).action(async (opts: RollbackOptions & { force?: string }) => {
    const input = {
      service: opts.service,
      stage: opts.stage,
      ...(opts.digest !== undefined ? { digest: opts.digest } : {}),
      reason: opts.reason,
      ...(opts.force !== undefined ? { force: { reason: opts.force } } : {}),
    };
    setCode(await startAndReport('rollback', input, opts, io));
  });

  const freeze = program.command('freeze').description('the global change freeze: blocks every stage deploy except break-glass releases');
  for (const action of ['on', 'off'] as const) {
    backendOptions(
      freeze
        .command(action)
        .description(action === 'on' ? 'turn the freeze on (recorded with you and the reason)' : 'lift the freeze')
        .option('--reason <text>', action === 'on' ? 'why (required)' : 'why (default: "freeze lifted")')
        .option('--json', 'print the freeze as one JSON object'),
    ).action(async (opts: BackendOptions & { reason?: string; json?: boolean }) => {
      setCode(await runFreeze(action, opts, io));
    });
  }
  backendOptions(freeze.command('status').description('is the freeze on, since when, by whom, why').option('--json', 'print the freeze as one JSON object')).action(
    async (opts: BackendOptions & { json?: boolean }) => {
      setCode(await runFreeze('status', opts, io));
    },
  );

  for (const decision of ['approve', 'reject'] as const) {
    backendOptions(
      program
        .command(decision)
        .description(`${decision} a stage of a release that waits for approval (AWS: a request to the approval API signed with your credentials)`)
        .argument('<releaseId>', 'the release (its execution name)')
        .requiredOption('--stage <stage>', 'the stage waiting for approval')
        .option('--comment <text>', `why (recorded; at most ${COMMENT_MAX} characters)`)
        .option('--api-url <url>', 'the approval API URL (default: the stack output ApprovalApiUrl)'),
    ).action(async (releaseId: string, opts: DecideOptions) => {
      setCode(await runDecide(decision, releaseId, opts, io));
    });
  }
}
