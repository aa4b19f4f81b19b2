/** `gantry status`: a release now, each stage's status and phase and why it waits; `--watch` until it finishes. */
import type { Command } from 'commander';
import { executionConsoleUrl } from '../../lambdas/domain/console-url';
import { parseIsoDuration } from '../../lambdas/domain/durations';
import { TERMINAL_RELEASE_STATUSES } from '../../lambdas/domain/types';
import type { GantryBackend } from '../backends/backend';
import { EXIT, NotFoundError } from '../backends/backend';
import { CliInputError } from '../errors';
import type { ReleaseSummary } from '../../lambdas/domain/ledger';
import type { ReleaseStatusView } from '../render/schemas';
import { bakingAlarms, releaseStatus } from '../render/status-view';
import { DEFAULT_WIDTH, displayWidth, fitLine, hanging, outputWidth, shortDigests } from '../render/text';
import { type BackendOptions, backendOptions, clock, json, localHint, type OperatorIo, openBackend, paint, type SetCode, shortDigest, simulated, useColour } from './common';

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

/** A release's status for a person: short digests, every line within `width` (a stage's activity wraps under itself). */
export function renderStatus(v: ReleaseStatusView, colour: boolean, source: string, width: number = DEFAULT_WIDTH): string {
  const lines: string[] = [];
  /** Lines printed as they are (a command to copy). */
  const whole = new Set<number>();
  const kind = v.kind === 'rollback' ? 'ROLLBACK' : 'RELEASE';
  lines.push(`${kind} ${v.releaseId} — ${paint(colour, v.status)}${v.reason ? `: ${shortDigests(v.reason)}` : ''}`);
  lines.push(`  ${v.service} ${shortDigest(v.digest)}${v.tag ? ` (${v.tag})` : ''}, started ${clock(v.startedAt)} by ${v.initiator ?? '(unattributed)'}`);
  if (v.requestReason) lines.push(`  reason     ${v.requestReason}`);
  if (v.change) lines.push(`  change     ${v.change.id ?? '(no change record)'}${v.change.commit ? ` (commit ${v.change.commit.slice(0, 12)})` : ''}`);
  if (v.startAt) lines.push(`  promotion  starts at ${v.startAt} (the digest was promoted in the stage before)`);
  if (v.breakGlass) lines.push(`  BREAK-GLASS ${v.breakGlass}`);
  if (v.endedAt) lines.push(`  finished   ${clock(v.endedAt)}`);
  // gantry abort (decision 053): until the reconciler closes the record, say that it was asked to stop.
  if (v.abort && v.status === 'RUNNING') lines.push(`  aborting   asked ${clock(v.abort.at)} by ${v.abort.by}: ${v.abort.reason} (the reconciler closes the record)`);
  if (v.execution && v.execution.status !== v.status && !(v.status === 'RUNNING' && v.execution.status === 'RUNNING')) {
    lines.push(`  execution  ${v.execution.status}${v.execution.error ? ` (${v.execution.error}${v.execution.cause ? `: ${v.execution.cause.slice(0, 200)}` : ''})` : ''}`);
  }
  if (v.consoleUrl) lines.push(`  console    ${v.consoleUrl}`);
  const columns = width;
  const stageWidth = Math.max(5, ...v.stages.map((s) => s.name.length)) + 2;
  for (const s of v.stages) {
    lines.push(...hanging(`  ${s.name.padEnd(stageWidth)}${paint(colour, s.status, s.status.padEnd(16))}`, shortDigests(s.activity), columns, { minText: 24, fallbackIndent: 4 }));
    // A Terraform stage that planned first (decision 049): the plan its approvers approve, by its sha256.
    if (s.plan) {
      const p = s.plan;
      lines.push(`  ${''.padEnd(stageWidth)}  plan ${p.attempt}: sha256 ${p.sha256.slice(0, 12)}… — ${p.adds} to add, ${p.changes} to change, ${p.destroys} to destroy`);
      if (s.phase === 'approval') {
        // A command to copy is never wrapped: on a line of its own when the line would not fit.
        const command = `gantry approve ${v.releaseId} --stage ${s.name} --plan ${p.sha256}`;
        const pad = `  ${''.padEnd(stageWidth)}  `;
        if (displayWidth(`${pad}approve it with: ${command}`) <= columns) whole.add(lines.push(`${pad}approve it with: ${command}`) - 1);
        else {
          lines.push(`${pad}approve it with:`);
          whole.add(lines.push(`    ${command}`) - 1);
        }
      }
    }
    // A wave stage (decision 044): which cluster runs what.
    for (const c of s.clusters ?? [])
      lines.push(
        `  ${''.padEnd(stageWidth)}  ${c.cluster} (wave ${c.wave ?? '?'}): deploy ${c.deploy ?? '-'}${c.rollback ? `, rollback ${c.rollback}` : ''}; runs ${c.runs ? shortDigests(c.runs) : 'what it ran before'}`,
      );
  }
  lines.push(`  (${source}; as of ${clock(v.now)})`);
  return lines.flatMap((l, i) => (whole.has(i) ? [l] : fitLine(l, columns, 4))).join('\n');
}

/** A rollback refused in its first state (rollback-prepare): BLOCKED with no target, nothing deployed. */
export function refusedRollback(r: ReleaseSummary): boolean {
  return r.kind === 'rollback' && r.status === 'BLOCKED' && r.rollbackTarget === undefined && r.stages.every((s) => !s.deploy && !s.rollback && !s.clusters?.length);
}

/** A promotion refused when it was prepared (gate promotion.previous-stage, decision 054): BLOCKED, no stage started. */
export function refusedPromotion(r: ReleaseSummary): boolean {
  return r.kind === 'release' && r.startAt !== undefined && r.status === 'BLOCKED' && r.stages.every((s) => s.startedAt === undefined);
}

/**
 * The releases `gantry status` shows: one by id; else RUNNING ones (of the service), else the latest one
 * that did something: a refused rollback is the headline only when nothing else is there (`skipped`: the
 * newer refused rollbacks passed over).
 */
export function pickReleases(all: readonly ReleaseSummary[], releaseId: string | undefined): { ids: string[]; skipped: string[] } {
  if (releaseId) return { ids: [releaseId], skipped: [] };
  const running = all.filter((r) => r.status === 'RUNNING');
  if (running.length) return { ids: running.map((r) => r.releaseId), skipped: [] };
  const latest = all.find((r) => !refusedRollback(r) && !refusedPromotion(r)) ?? all[0];
  if (!latest) return { ids: [], skipped: [] };
  return { ids: [latest.releaseId], skipped: all.slice(0, all.indexOf(latest)).map((r) => r.releaseId) };
}

function plainWatchLines(v: ReleaseStatusView): string[] {
  return v.stages.filter((s) => s.phase !== 'not-started').map((s) => `${v.releaseId} ${s.name}: ${s.status} — ${s.activity.replace(/requested .* ago/, 'requested')}`);
}

export interface StatusOptions extends BackendOptions {
  readonly service?: string;
  readonly watch?: boolean;
  readonly interval?: string;
  /** `--watch` stops after this long (an ISO-8601 duration, or the short form 10m / 90s / 1h30m). */
  readonly timeout?: string;
  readonly json?: boolean;
}

const SHORT_DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/;

/**
 * `--timeout`: an ISO-8601 duration (`PT10M`, parsed by lambdas/domain/durations.ts) or its short form
 * (`10m`, `90s`, `1h30m`, `1d`: the same units, lower case, without P and T), in milliseconds; more than zero.
 */
export function parseWatchTimeout(value: string): number {
  const problem = `--timeout: expected a duration such as PT10M, 10m, 90s or 1h30m (an ISO-8601 duration of days, hours, minutes and seconds, or its short form), more than zero; got ${JSON.stringify(value)}`;
  const short = SHORT_DURATION.exec(value);
  let iso = value;
  if (short && value !== '') {
    const [, d, h, m, sec] = short;
    const time = `${h ? `${h}H` : ''}${m ? `${m}M` : ''}${sec ? `${sec}S` : ''}`;
    iso = `P${d ? `${d}D` : ''}${time ? `T${time}` : ''}`;
  }
  let ms: number;
  try {
    ms = parseIsoDuration(iso, '--timeout', '--timeout');
  } catch {
    throw new CliInputError(problem);
  }
  if (ms <= 0) throw new CliInputError(problem);
  return ms;
}

export async function runStatus(releaseId: string | undefined, opts: StatusOptions, io: OperatorIo): Promise<number> {
  if (opts.timeout !== undefined && !opts.watch) throw new CliInputError('--timeout bounds how long --watch waits: give it with --watch (gantry status --watch --timeout 10m)');
  const timeoutMs = opts.timeout === undefined ? undefined : parseWatchTimeout(opts.timeout);
  // How long --watch has waited: the monotonic clock, and at least the sleeps asked for (a test's sleep may return at once).
  const monotonic = io.monotonicMs ?? (() => performance.now());
  const startedAt = monotonic();
  let slept = 0;
  const waited = () => Math.max(monotonic() - startedAt, slept);
  const b = await openBackend(opts, io);
  try {
    const colour = useColour(io);
    const intervalMs = opts.interval === undefined ? 5000 : Number(opts.interval) * 1000;
    if (!Number.isFinite(intervalMs) || intervalMs < 100) throw new CliInputError(`--interval: expected seconds (at least 0.1), got ${JSON.stringify(opts.interval)}`);
    const { ids, skipped } = pickReleases(releaseId ? [] : await b.listReleases(opts.service ? { service: opts.service } : {}), releaseId);
    if (ids.length === 0) {
      throw new NotFoundError(`no release${opts.service ? ` of ${opts.service}` : ''} in ${b.label}; start one with gantry start --service S --tag T${localHint(b, opts)}`);
    }
    if (skipped.length && !opts.json) {
      io.err(`gantry: passing over ${skipped.length} newer refused rollback(s) or promotion(s), which deployed nothing (${skipped.join(', ')}): gantry status <id> shows one`);
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
        const text = views.map((v) => renderStatus(v, colour, b.label, outputWidth(io))).join('\n\n');
        io.out(opts.watch ? `\x1b[H\x1b[2J${text}` : text);
      } else {
        for (const v of views) {
          for (const line of plainWatchLines(v)) {
            if (printed.has(line)) continue;
            printed.add(line);
            io.out(fitLine(`${clock(v.now)}  ${shortDigests(line)}`, outputWidth(io), 4).join('\n'));
          }
          if (TERMINAL_RELEASE_STATUSES.has(v.status as never) && !printed.has(`end ${v.releaseId}`)) {
            printed.add(`end ${v.releaseId}`);
            io.out(fitLine(`${clock(v.now)}  ${v.releaseId} finished: ${v.status}${v.reason ? ` — ${shortDigests(v.reason)}` : ''}`, outputWidth(io), 4).join('\n'));
          }
        }
      }
      if (!opts.watch || done) return code;
      if (timeoutMs !== undefined && waited() >= timeoutMs) {
        const open = views.filter((v) => !TERMINAL_RELEASE_STATUSES.has(v.status as never));
        const again = ['gantry status', ...(open.length === 1 ? [open[0]?.releaseId] : []), '--watch'].join(' ') + localHint(b, opts);
        const still = open.map((v) => `${v.releaseId} is still ${v.status}`).join(', ');
        io.err(`gantry: stopped watching after ${opts.timeout} (--timeout): ${still}; it goes on (watch it again with ${again}); exit ${EXIT.watchTimeout}`);
        return EXIT.watchTimeout;
      }
      if (first && b.kind === 'local') {
        io.err(
          `gantry: ${b.label} stands at ${b.now().toISOString()}: its clock moves only when told (gantry simulate --state ${opts.local} --advance PT10M) or when someone acts (approve, rollback); watching for that`,
        );
      }
      first = false;
      const pause = timeoutMs === undefined ? intervalMs : Math.max(0, Math.min(intervalMs, timeoutMs - waited()));
      await io.sleep(pause);
      slept += pause;
      if (b.kind === 'local') {
        const { LocalBackend } = await import('../backends/local-backend');
        if (b instanceof LocalBackend) b.refresh();
      }
    }
  } finally {
    b.close();
  }
}

/** Register `gantry status`. */
export function registerStatusCommand(program: Command, setCode: SetCode, io: OperatorIo): void {
  backendOptions(
    program
      .command('status')
      .description("a release now: each stage's status and phase, and why it is waiting (window, approval, lease, scan, bake)")
      .addHelpText(
        'after',
        `\nExit codes: 0 the release SUCCEEDED or is still RUNNING (an operator rollback: ROLLED_BACK); 1 it failed, blocked, rejected, rolled back or aborted; 2 bad input; 3 not found; 4 an AWS error; ${EXIT.watchTimeout} --watch --timeout passed before the release finished.`,
      )
      .argument('[releaseId]', 'the release (default: the running releases, else the latest one that did something: a refused rollback only when there is nothing else)')
      .option('--service <service>', 'the running (else the latest) release of this service')
      .option('--watch', 'redraw until the release finishes (plain lines when not a terminal); exit with its code')
      .option('--interval <seconds>', '--watch: seconds between reads (default 5)')
      .option(
        '--timeout <duration>',
        `--watch: stop watching after this long (PT10M, 10m, 90s) and exit ${EXIT.watchTimeout} if the release has not finished (it goes on); without --watch: exit 2`,
      )
      .option('--json', 'print the status as JSON (with --watch: one line per read)'),
  ).action(async (releaseId: string | undefined, opts: StatusOptions) => {
    setCode(await runStatus(releaseId, opts, io));
  });
}
