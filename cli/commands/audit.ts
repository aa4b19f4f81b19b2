/**
 * `gantry audit show | verify | export` (and the helpers `gantry metrics` shares). Each reads an export
 * file (`--file`), the live ledger table (`--table --region [--profile]`), a local Gantry (`--local <dir>`) or a
 * deployed one (`--stack`/`--outputs`, `--region`, `--profile`: the default) the way `gantry status` does
 * (cli/ledger-source.ts, cli/release-source.ts). Each checks every hash chain first, then answers.
 *
 * Exit codes: 0 ok; 1 the record failed verification (an edited, deleted, inserted, reordered or cut
 * event — `verify --strict` also fails on evidence gaps); 2 bad input (CliInputError: a missing file,
 * a line that is not JSON, a bad option, an unknown release).
 */
import type { Command } from 'commander';
import {
  approvalPolicyOf,
  auditRelease,
  checkAgainstAnchors,
  type ExportVerification,
  evidenceCompleteness,
  exportEvents,
  formatExport,
  formatProblem,
  groupByRelease,
  type ParsedExport,
  type AnchorFacts,
  type AnchorSignature,
  parsePublicKey,
  PublicKeyError,
  type SignatureOptions,
  verifyExport,
} from '../../lambdas/domain/audit';
import { readFileSync } from 'node:fs';
import { GantryAwsError } from '../backends/backend';
import type { OperatorIo } from './common';
import type { LedgerEvent } from '../../lambdas/domain/ledger';
import { registerDriftCommand } from './drift';
import { CliInputError } from '../errors';
import { checkOutputFile, writeOutputFile } from '../files';
import { filterExport, liveTableOf, parseTimeBound, type ReleaseFilter, readExportFile } from '../input';
import { type LedgerSourceOptions, ledgerSourceOptions, oneSource, readLedger } from '../ledger-source';
import { notFoundMessage, type ReleaseSourceOptions, readRelease, releaseSourceOptions } from '../release-source';
import { changeIdOption } from '../release-filter';
import { renderAudit, renderVerification } from '../render/render';

/** Exit codes of the audit commands. */
export const EXIT = { ok: 0, verificationFailed: 1, badInput: 2 } as const;

export type SetCode = (code: number) => void;

export interface CommonOptions extends LedgerSourceOptions {
  readonly json?: boolean;
  readonly service?: string;
  readonly since?: string;
  readonly until?: string;
  /** `audit export --change`: only the releases of this change record id (decision 051). */
  readonly change?: string;
}

export const out = (s: string) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
export const err = (s: string) => process.stderr.write(s.endsWith('\n') ? s : `${s}\n`);

/** The ledger sources of `audit verify`, `audit export` and `metrics`: --file, --local, a stack (the default), --table (cli/ledger-source.ts). */
export function sourceOptions(cmd: Command): Command {
  return ledgerSourceOptions(cmd);
}

export function windowOptions(cmd: Command): Command {
  return cmd
    .option('--service <service>', 'only releases of this service')
    .option('--since <when>', 'only releases started at or after: an ISO date, instant, or duration back from now (P30D)')
    .option('--until <when>', 'only releases started at or before: an ISO date (its end), instant, or duration back from now');
}

export function filterOf(opts: CommonOptions, now: Date): ReleaseFilter {
  const since = parseTimeBound(opts.since, 'since', now);
  const until = parseTimeBound(opts.until, 'until', now);
  if (since && until && since > until) throw new CliInputError(`--since (${since}) is after --until (${until})`);
  return {
    ...(opts.service ? { service: opts.service } : {}),
    ...(since ? { since } : {}),
    ...(until ? { until } : {}),
    ...(opts.change !== undefined ? { change: changeIdOption(opts.change) } : {}),
  };
}

/**
 * Nothing to verify or export is bad input (exit 2), never "VERIFIED": an empty file, an empty table, or a
 * filter that matches no release.
 */
export function requireSomething(parsed: ParsedExport, source: string, what: 'verify' | 'export', filter: ReleaseFilter = {}): void {
  if (parsed.events.length > 0 || parsed.anchors.length > 0 || (parsed.insights?.length ?? 0) > 0) return;
  const bounds = [
    filter.service ? `--service ${filter.service}` : '',
    filter.since ? `--since ${filter.since}` : '',
    filter.until ? `--until ${filter.until}` : '',
    filter.change ? `--change ${filter.change}` : '',
  ].filter(Boolean);
  throw new CliInputError(
    bounds.length
      ? `no release in ${source} matches ${bounds.join(' ')}: nothing to ${what}`
      : `no events in ${source}: nothing to ${what} (is it the right file? gantry audit export and gantry simulate --export write one)`,
  );
}

/** Verify, and on failure say so on stderr and make the exit code 1 (the command still prints its answer). */
export function checkIntegrity(parsed: ParsedExport, source: string, setCode: SetCode): ReturnType<typeof verifyExport> {
  const v = verifyExport(parsed);
  if (!v.ok) {
    err(`gantry: ${source} FAILED verification (${v.problems.length} problem(s)); figures below come from a record that was altered:`);
    for (const p of v.problems.slice(0, 20)) err(`  ${formatProblem(p)}`);
    if (v.problems.length > 20) err(`  … and ${v.problems.length - 20} more (gantry audit verify lists them all)`);
    setCode(EXIT.verificationFailed);
  }
  return v;
}

/**
 * The public key the signatures are checked with: `--public-key key.pem` (offline), or `--key-arn` (kms:GetPublicKey
 * of the stack's anchor key, which the signatures must then name). Neither: authorship is not checked (verify says so).
 */
export async function signatureKeysOf(opts: { publicKey?: string; keyArn?: string; region?: string; profile?: string }, load?: (id: string) => unknown): Promise<SignatureOptions> {
  if (opts.publicKey !== undefined && opts.keyArn !== undefined) throw new CliInputError('give --public-key <pem> or --key-arn <arn>, not both');
  if (opts.publicKey !== undefined) {
    let pem: string;
    try {
      pem = readFileSync(opts.publicKey, 'utf8');
    } catch (e) {
      throw new CliInputError(
        `--public-key: cannot read ${opts.publicKey} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): give the PEM file of the anchor key's public half`,
      );
    }
    try {
      return { publicKey: parsePublicKey(pem, `--public-key ${opts.publicKey}`) };
    } catch (e) {
      if (e instanceof PublicKeyError) throw new CliInputError(e.message);
      throw e;
    }
  }
  if (opts.keyArn !== undefined) {
    if (!/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/.test(opts.keyArn)) {
      throw new CliInputError(`--key-arn: expected a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>, the stack's AnchorKeyArn output), got ${JSON.stringify(opts.keyArn)}`);
    }
    const { KmsPublicKeys, sdkGetPublicKey } = await import('../../lambdas/adapters/kms');
    let pem: string;
    try {
      // The key's own region (its ARN names it) unless --region says otherwise; --profile picks the credentials.
      const region = opts.region ?? opts.keyArn.split(':')[3];
      pem = await new KmsPublicKeys(sdkGetPublicKey(load, { ...(region ? { region } : {}), ...(opts.profile ? { profile: opts.profile } : {}) })).publicKeyPem(opts.keyArn);
    } catch (e) {
      throw new GantryAwsError(
        `kms:GetPublicKey of ${opts.keyArn} failed: ${(e as Error).name}: ${(e as Error).message} (the caller needs kms:GetPublicKey on the key: ReleaseControlPlane.grantAudit)`,
        { cause: e },
      );
    }
    return { publicKey: parsePublicKey(pem, `the public key of ${opts.keyArn}`), keyId: opts.keyArn };
  }
  return {};
}

export function registerAuditCommands(program: Command, setCode: SetCode, now: () => Date = () => new Date(), io: Pick<OperatorIo, 'openBackend' | 'err'> = { err }): void {
  const audit = program.command('audit').description('the release record as evidence: show one release, verify the hash chains, export the ledger');

  releaseSourceOptions(
    audit
      .command('show')
      .description('one release as a readable timeline: artifact, initiator, config, every gate, approvals, deploys with driver evidence, bakes, rollbacks, outcome')
      .argument('<releaseId>', 'the release (its execution name)')
      .option('--public-key <pem>', "the anchor key's public half: verify the release's signature, not only show it")
      .option('--json', 'print the audit record as one JSON object'),
  ).action(async (releaseId: string, opts: CommonOptions & ReleaseSourceOptions & { publicKey?: string }) => {
    const keys = await signatureKeysOf({ ...(opts.publicKey !== undefined ? { publicKey: opts.publicKey } : {}) });
    // --file, --table, --local <dir> or the stack: the same GantryBackend as gantry status (cli/release-source.ts).
    const read = await readRelease(releaseId, opts, { err });
    const { parsed, source } = read;
    const lines = parsed.events.filter((l) => l.event.releaseId === releaseId);
    if (lines.length === 0) throw new CliInputError(notFoundMessage(releaseId, read));
    const a = auditRelease(
      lines,
      parsed.anchors.filter((x) => x.anchor.releaseId === releaseId),
      keys,
    );
    if (!a) throw new CliInputError(`release ${releaseId} in ${source} has no readable events`);
    if (!a.integrity.ok) {
      err(`gantry: the record of ${releaseId} FAILED verification:`);
      for (const p of a.integrity.problems) err(`  ${formatProblem(p)}`);
      setCode(EXIT.verificationFailed);
    }
    const policy = approvalPolicyOf(lines.map((l) => l.event as unknown as LedgerEvent));
    if (opts.json) out(JSON.stringify(a, null, 2));
    else out(renderAudit(a, policy));
  });

  windowOptions(
    sourceOptions(
      audit
        .command('verify')
        .description(
          "recompute every hash chain; exit 0 when intact, 1 naming the release and the event of any edit, deletion, insertion, reordering or cut; also report promoted stages that lack evidence. With --file and --table: also check the file's anchors against the live ledger",
        )
        .option('--strict', 'also exit 1 when a promoted stage lacks evidence (gate results, deploy evidence, bake result, a required approval)')
        .option('--public-key <pem>', "the anchor signing key's public half (PEM): check that Gantry signed every finished release (decision 048)")
        .option('--key-arn <arn>', "the stack's anchor key (output AnchorKeyArn): fetch its public half with kms:GetPublicKey, and require the signatures to name it")
        .option('--json', 'print the report as one JSON object'),
    ),
  ).action(async (opts: CommonOptions & { strict?: boolean; publicKey?: string; keyArn?: string }) => {
    const filter = filterOf(opts, now());
    const keys = await signatureKeysOf(opts);
    let parsed: ParsedExport;
    let source: string;
    let v: ExportVerification;
    // --file with --table is one source: the file checked against the live ledger's anchors.
    oneSource(opts, [['--file', '--table']]);
    const live = opts.file ? liveTableOf(opts) : undefined;
    if (opts.file && live) {
      // The file against the live ledger: its anchors must be the ledger's.
      parsed = filterExport(readExportFile(opts.file), filter);
      source = `${opts.file} against table ${live.tableName} (${live.region})`;
      const ids = [...new Set([...parsed.events.map((l) => String(l.event.releaseId)), ...parsed.anchors.map((a) => String(a.anchor.releaseId))])];
      v = checkAgainstAnchors(verifyExport(parsed, keys), parsed, await (await import('../backends/live-ledger')).liveAnchors(live, ids));
    } else {
      ({ parsed, source } = await readLedger(opts, filter, io));
      v = verifyExport(parsed, keys);
    }
    requireSomething(parsed, source, 'verify', filter);
    const groups = groupByRelease(exportEvents(parsed).filter((e) => typeof e.releaseId === 'string' && typeof e.seq === 'number'));
    const reports = [...groups.values()].map((g) => evidenceCompleteness(g));
    const gaps = reports.flatMap((r) => r.gaps);
    const notes = [...new Set(reports.filter((r) => r.promotedStages.length > 0).flatMap((r) => r.notes))];
    const failed = !v.ok || (opts.strict === true && gaps.length > 0);
    if (opts.json) {
      out(
        JSON.stringify(
          {
            source,
            ok: v.ok,
            anchored: v.anchored,
            authorship: v.authorship,
            releases: v.releases,
            problems: v.problems,
            notes: v.notes,
            evidence: { complete: gaps.length === 0, gaps, notes, releases: reports },
          },
          null,
          2,
        ),
      );
    } else {
      out(renderVerification(source, v, gaps, notes));
    }
    if (failed) setCode(EXIT.verificationFailed);
  });

  windowOptions(
    sourceOptions(
      audit
        .command('export')
        .description('the ledger as JSON Lines: every event with its hash chain, whole releases started in the window, one anchor line per release')
        .option('--change <id>', 'only the releases of this change record id (their change.record gate recorded it)')
        .option('--out <file>', 'write to this file instead of stdout'),
    ),
  ).action(async (opts: CommonOptions & { out?: string }) => {
    if (opts.out !== undefined) checkOutputFile(opts.out, '--out');
    const filter = filterOf(opts, now());
    const { parsed, source } = await readLedger(opts, filter, io);
    requireSomething(parsed, source, 'export', filter);
    const v = verifyExport(parsed);
    if (!v.ok) err(`gantry: warning: ${source} does not verify (${v.problems.length} problem(s)); exported as found — run gantry audit verify on it`);
    const anchors = new Map<string, AnchorFacts>();
    for (const a of parsed.anchors) {
      const id = a.anchor.releaseId;
      // The signature goes with its anchor, as found (verify judges it); a malformed one is carried as it is too.
      const signature = a.anchor.signature as AnchorSignature | undefined;
      if (typeof id === 'string' && !anchors.has(id))
        anchors.set(id, { version: a.anchor.version as number, lastHash: a.anchor.lastHash as string, ...(signature !== undefined ? { signature } : {}) });
    }
    // A file without anchors is re-exported without them: an anchor computed now would bless a cut chain.
    const text = formatExport(exportEvents(parsed), { anchors, computeMissingAnchors: false });
    if (opts.out) {
      writeOutputFile(opts.out, text, '--out');
      err(`gantry: exported ${v.releases.length} release(s), ${parsed.events.length} event(s) to ${opts.out}`);
    } else {
      process.stdout.write(text);
    }
  });

  registerDriftCommand(audit, setCode, now);
}
