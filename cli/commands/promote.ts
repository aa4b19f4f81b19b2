/**
 * `gantry promote --service S --digest D --to STAGE`: a release of a digest already promoted in the stage before
 * STAGE, starting at STAGE, with every gate of that stage (docs/decisions/054-promote.md). It sends a release
 * input with `startAt` (docs/contracts.md §2) through the backend's `startRelease`, as `gantry start` does; the
 * workflow decides (gate promotion.previous-stage when the release is prepared, and again right before the
 * deploy). A short digest (`sha256:` and 12 to 63 hex digits) is expanded here only when exactly one digest of
 * the previous stage's promoted history starts with it; the input always carries the full digest.
 */
import type { Command } from 'commander';
import { DIGEST_PATTERN, type GantryConfig } from '../../lambdas/domain/config';
import { previousStageOf } from '../../lambdas/domain/promotion';
import { parseReleaseInput } from '../../lambdas/domain/release-input';
import { ValidationError } from '../../lambdas/domain/validation';
import type { GantryBackend } from '../backends/backend';
import { CliInputError } from '../errors';
import { type BackendOptions, backendOptions, clock, localHint, openBackend, type OperatorIo, processIo, type SetCode } from './common';
import { startAndReport } from './operator';
import { rollbackCandidatesOf } from './rollback-targets';

/** What `promoteInput` takes: the options of `gantry promote` (and the dashboard's Promote button). */
export interface PromoteRequest {
  readonly service: string;
  /** The full digest (a short one is expanded by `expandDigest` first). */
  readonly digest: string;
  /** The stage to start at (never the service's first). */
  readonly to: string;
  readonly reason?: string;
  readonly change?: string;
  readonly breakGlass?: string;
}

/** A short digest as `gantry promote --digest` takes it: `sha256:` and 12 to 63 lowercase hex digits. */
const SHORT_DIGEST = /^sha256:[0-9a-f]{12,63}$/;

const option = (field: string): string =>
  ({ service: '--service', startAt: '--to', 'image.digest': '--digest', image: '--digest', reason: '--reason', changeRecord: '--change', 'breakGlass.reason': '--break-glass' })[
    field
  ] ?? field;

/**
 * The release input of a promotion (docs/contracts.md §2 with `startAt`), validated: with the config (when the
 * backend knows it) exactly as the workflow validates it, the problems named by the CLI option. Bad input throws
 * CliInputError (exit 2) and nothing is sent.
 */
export function promoteInput(req: PromoteRequest, config?: GantryConfig): Record<string, unknown> {
  const problems: string[] = [];
  if (!DIGEST_PATTERN.test(req.digest)) problems.push(`--digest: expected a digest sha256:<64 lowercase hex characters>, got ${JSON.stringify(req.digest)}`);
  const stages = config?.services[req.service]?.stages.map((s) => s.name);
  if (stages && !previousStageOf(stages, req.to)) {
    problems.push(
      stages.includes(req.to)
        ? `--to: ${req.to} is the first stage of ${req.service}: a release from it is a normal release (gantry start); promote to one of ${stages.slice(1).join(', ') || '(none)'}`
        : `--to: expected one of the stages of ${req.service} after the first (${stages.slice(1).join(', ') || 'none'}), got ${JSON.stringify(req.to)}`,
    );
  }
  const input: Record<string, unknown> = {
    service: req.service,
    image: { digest: req.digest },
    startAt: req.to,
    ...(req.reason !== undefined ? { reason: req.reason } : {}),
    ...(req.breakGlass !== undefined ? { breakGlass: { reason: req.breakGlass } } : {}),
    ...(req.change !== undefined ? { changeRecord: req.change } : {}),
  };
  if (problems.length === 0 && config) {
    try {
      parseReleaseInput(input, config);
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      problems.push(...e.problems.map((line) => line.replace(/^([\w.]+):/, (_m, f: string) => `${option(f)}:`)));
    }
  }
  if (problems.length) throw new CliInputError(`promote: ${problems.join('; ')}`);
  return input;
}

/**
 * The full digest `--digest` names: itself when full; a short one expanded against the previous stage's promoted
 * history only when exactly one digest there starts with it (else CliInputError listing the candidates).
 */
export async function expandDigest(b: GantryBackend, service: string, to: string, digest: string): Promise<string> {
  if (DIGEST_PATTERN.test(digest) || !SHORT_DIGEST.test(digest)) return digest;
  const stages = b.config()?.services[service]?.stages.map((s) => s.name);
  const previous = stages && previousStageOf(stages, to);
  if (!previous || !b.stagePointer) {
    const why = stages ? `${to} has no stage before it` : 'the deployment config is not known here (--config, GANTRY_CONFIG or ./gantry.config.json)';
    throw new CliInputError(`promote: --digest: give the full digest sha256:<64 hex>: the short ${digest} cannot be expanded: ${why}`);
  }
  const promoted = [...new Set((await b.stagePointer(service, previous))?.promoted ?? [])];
  const matches = promoted.filter((d) => d.startsWith(digest));
  if (matches.length === 1) return matches[0]!;
  throw new CliInputError(
    matches.length === 0
      ? `promote: --digest: no digest promoted in ${service}/${previous} starts with ${digest}; promoted there: ${promoted.length ? promoted.join(', ') : 'none'}`
      : `promote: --digest: ${digest} is ambiguous in ${service}/${previous}: ${matches.join(', ')}; give more digits`,
  );
}

/** The lines after a refused promotion: what the previous stage did promote, newest first, and how to promote one. */
async function promotionHint(b: GantryBackend, service: string, to: string, where: string): Promise<string[]> {
  const stages = b.config()?.services[service]?.stages.map((s) => s.name);
  const previous = stages && previousStageOf(stages, to);
  if (!previous) return [];
  const pointer = b.stagePointer ? await b.stagePointer(service, previous) : undefined;
  const releases = await b.listReleases({ service });
  const events = [];
  for (const r of releases)
    if (r.kind === 'release' && r.stages.some((s) => s.name === previous && s.status === 'PROMOTED')) events.push(...(await b.getReleaseEvents(r.releaseId)));
  // Every promoted digest, the running one included (rollback candidates leave it out): the pointer without `running`.
  const all = rollbackCandidatesOf(events, previous, pointer ? { promoted: pointer.promoted } : undefined).candidates;
  if (all.length === 0) return [`nothing was promoted in ${service}/${previous} yet: release through it first (gantry start --service ${service} …)`];
  return [
    `digests promoted in ${service}/${previous}, newest first${pointer?.running ? ` (running: ${pointer.running})` : ''}:`,
    ...all.map(
      (d) =>
        `  ${d.digest}  ${d.tags.length ? d.tags.join(', ') : '(no tag)'}  ${d.promotedAt ? `promoted ${clock(d.promotedAt)}` : '(promoted before any release in the ledger)'}`,
    ),
    `promote with: gantry promote --service ${service} --to ${to}${where} --digest <digest>`,
  ];
}

interface PromoteOptions extends BackendOptions, PromoteRequest {
  readonly json?: boolean;
}

export async function runPromote(opts: PromoteOptions, io: OperatorIo): Promise<number> {
  if (!DIGEST_PATTERN.test(opts.digest) && !SHORT_DIGEST.test(opts.digest)) {
    throw new CliInputError(`promote: --digest: expected a digest sha256:<64 lowercase hex characters> (or its first 12 or more hex digits), got ${JSON.stringify(opts.digest)}`);
  }
  let input: Record<string, unknown>;
  // The backend is opened once to expand a short digest and read the config; startAndReport opens its own.
  const b = await openBackend(opts, io);
  let where = '';
  try {
    const digest = await expandDigest(b, opts.service, opts.to, opts.digest);
    input = promoteInput({ ...opts, digest }, b.config());
    where = localHint(b, opts);
  } finally {
    b.close();
  }
  const service = opts.service;
  return startAndReport('promotion', input, opts, io, (backend) => promotionHint(backend, service, opts.to, where));
}

export function registerPromoteCommand(program: Command, setCode: SetCode, io: OperatorIo = processIo()): void {
  backendOptions(
    program
      .command('promote')
      .description(
        'take a digest already promoted in the previous stage on from STAGE, with every gate of that stage (the server checks it was promoted there and not rolled back since)',
      )
      .requiredOption('--service <service>', 'the service')
      .requiredOption('--digest <digest>', 'the digest sha256:<64 hex>, or its first 12+ hex digits when exactly one digest promoted in the previous stage starts with them')
      .requiredOption('--to <stage>', 'the stage to start at (not the first: that is gantry start)')
      .option('--reason <text>', 'why (a change ticket); recorded')
      .option('--change <id>', 'the change record id, such as CHG-1234, where the service\'s changeRecord.from is "input"')
      .option('--break-glass <reason>', 'bypass deployment windows and the freeze (only those); flagged in the ledger and on the bus')
      .option('--json', 'print the result as one JSON object'),
  ).action(async (opts: PromoteOptions) => {
    setCode(await runPromote(opts, io));
  });
}
