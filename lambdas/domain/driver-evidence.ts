/**
 * Driver evidence: what one driver run proves about itself, recorded in the ledger with its deploy.
 *
 * The CodeBuild drivers (helm, terraform) report through their buildspec's `env.exported-variables`:
 * the `codebuild:startBuild.sync` result carries them as `Build.ExportedEnvironmentVariables`, a list of
 * `{ Name, Value }` (Step Functions hands service results over in PascalCase), beside `Build.Id`,
 * `Build.Arn` and `Build.Logs` (`DeepLink`, `GroupName`, `StreamName`). A failed build reaches the
 * workflow's Catch as `{ Error, Cause }` whose Cause is the same result as JSON text.
 *
 * Everything a build reports is untrusted text: each value is checked against its own pattern here and
 * dropped, with a warning naming the variable (never its value), when it does not match. Nothing of it
 * is ever handed to a shell. Pure: no AWS SDK, no clock.
 */
import { CODEBUILD_DRIVER_NAMES, DRIVERS } from '../../drivers';
import type { DeployConfig } from './config';

/** `deploy.driver` of a stage: helm, terraform, kubernetes. */
export type DriverName = DeployConfig['driver'];

/** The variables each CodeBuild driver exports (drivers/<driver>/buildspec.yml `env.exported-variables`), from its descriptor. */
export const DRIVER_EXPORTS: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  DRIVERS.flatMap((d) => ('codeBuild' in d && d.codeBuild ? [[d.name, d.codeBuild.exports]] : [])),
);

/** Helm release statuses (helm.sh/helm/v3/pkg/release.Status). */
export const HELM_STATUSES = ['unknown', 'deployed', 'uninstalled', 'superseded', 'failed', 'uninstalling', 'pending-install', 'pending-upgrade', 'pending-rollback'] as const;
export type HelmStatus = (typeof HELM_STATUSES)[number];

export interface HelmEvidence {
  /** The Helm release revision `helm status` reported after the run. */
  readonly revision: number;
  readonly status: HelmStatus;
  /** sha256 of the `helm status -o json` document (which itself stays out of the log: it holds Secrets). */
  readonly statusSha256: string;
  /** Evidence bucket key of that document, when the driver uploads it. */
  readonly statusKey?: string;
}

export interface TerraformEvidence {
  /** sha256 of `terraform show -json tfplan`, the plan that was (or would have been) applied. */
  readonly planSha256: string;
  /** Evidence bucket key of that plan JSON: `evidence/<release>/<stage>/<deploy|rollback>/plan.json`. */
  readonly planKey: string;
  /** Terraform's own "Plan: N to add, N to change, N to destroy" (a replacement counts in add and destroy). */
  readonly add: number;
  readonly change: number;
  readonly destroy: number;
}

/**
 * The native Kubernetes driver's evidence (eks:call: generation, image, rollout condition). Its
 * extraction belongs to that driver; the record keeps whatever validated object it hands over.
 */
export type KubernetesEvidence = Readonly<Record<string, unknown>>;

/** What the ledger's deploy.finished carries as `evidence`. Open for more drivers: one member per driver. */
export interface DriverEvidence {
  readonly driver: DriverName | (string & {});
  readonly buildId?: string;
  readonly buildArn?: string;
  /** CloudWatch Logs deep link of the build's log stream. */
  readonly logUrl?: string;
  readonly helm?: HelmEvidence;
  readonly terraform?: TerraformEvidence;
  readonly kubernetes?: KubernetesEvidence;
  /** Variables the driver reported that failed their check and were dropped (names only). */
  readonly dropped?: readonly string[];
}

export interface EvidenceContext {
  /** The stage's driver, from the config (never from the build). */
  readonly driver: DriverName | (string & {});
  readonly releaseId: string;
  readonly stage: string;
  readonly kind: 'deploy' | 'rollback';
}

export interface EvidenceExtraction {
  readonly evidence: DriverEvidence;
  /** One line per value that was dropped, naming the field and why (never the value). */
  readonly warnings: string[];
}

const SHA256 = /^[a-f0-9]{64}$/;
const BUILD_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{1,254}:[A-Za-z0-9-]{1,128}$/;
const BUILD_ARN = /^arn:(aws|aws-cn|aws-us-gov):codebuild:([a-z]{2}(?:-gov)?-[a-z]+-\d):(\d{12}):build\/(.+)$/;
const LOG_GROUP = /^[A-Za-z0-9._/#-]{1,512}$/;
const LOG_STREAM = /^[A-Za-z0-9._/#-]{1,512}$/;
const REVISION = /^[1-9][0-9]{0,8}$/;
const PLAN_SUMMARY = /^\{"add":(\d{1,7}),"change":(\d{1,7}),"destroy":(\d{1,7})\}$/;
const CONSOLE_HOSTS = /^([a-z]{2}(-gov)?-[a-z]+-\d\.)?console\.(aws\.amazon\.com|amazonaws\.cn|amazonaws-us-gov\.com)$/;
/** A Cause longer than this is not a build result (Step Functions caps a Cause at 32,768 characters). */
const MAX_CAUSE = 262_144;

/** A CodeBuild build id: `<project>:<uuid>`. */
export const isBuildId = (v: string): boolean => BUILD_ID.test(v);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The `Build` object of a task result, whatever form it reached the record step in: the workflow's
 * `$.deploy` (`{ buildId, status, build }`, its ResultSelector), `{ Build }` (the raw .sync output), the
 * Build itself, or a Catch's `{ Error, Cause }` whose Cause is that output as JSON text. Undefined when
 * there is none.
 */
export function buildOf(result: unknown): Record<string, unknown> | undefined {
  let v: unknown = result;
  if (isRecord(v) && typeof v.Cause === 'string' && v.Build === undefined) {
    if (v.Cause.length > MAX_CAUSE) return undefined;
    try {
      v = JSON.parse(v.Cause);
    } catch {
      return undefined;
    }
  }
  if (isRecord(v) && isRecord(v.Build)) return v.Build;
  if (isRecord(v) && isRecord(v.build)) return v.build;
  if (isRecord(v) && (typeof v.Id === 'string' || typeof v.Arn === 'string' || Array.isArray(v.ExportedEnvironmentVariables))) return v;
  return undefined;
}

/** `Build.ExportedEnvironmentVariables` as a name → value map; entries that are not `{ Name, Value }` strings are skipped. */
export function exportedVariables(build: Record<string, unknown> | undefined): Map<string, string> {
  const out = new Map<string, string>();
  const list = build?.ExportedEnvironmentVariables;
  if (!Array.isArray(list)) return out;
  for (const item of list) {
    if (!isRecord(item) || typeof item.Name !== 'string' || typeof item.Value !== 'string') continue;
    out.set(item.Name, item.Value);
  }
  return out;
}

function logUrlOf(logs: unknown, region: string | undefined, partition: string | undefined): { url?: string; problem?: string } {
  if (!isRecord(logs)) return {};
  const deepLink = logs.DeepLink;
  if (typeof deepLink === 'string' && deepLink !== '') {
    try {
      const u = new URL(deepLink);
      if (u.protocol === 'https:' && CONSOLE_HOSTS.test(u.hostname) && deepLink.length <= 2048 && !/[\s"'<>`\\]/.test(deepLink)) return { url: deepLink };
    } catch {
      // not a URL: fall through to the group and stream
    }
  }
  const group = logs.GroupName;
  const stream = logs.StreamName;
  if (typeof group === 'string' && typeof stream === 'string' && LOG_GROUP.test(group) && LOG_STREAM.test(stream) && region) {
    const host = partition === 'aws-cn' ? 'console.amazonaws.cn' : partition === 'aws-us-gov' ? 'console.amazonaws-us-gov.com' : `${region}.console.aws.amazon.com`;
    return { url: `https://${host}/cloudwatch/home?region=${region}#logEvent:group=${group};stream=${stream}` };
  }
  return typeof deepLink === 'string' && deepLink !== '' ? { problem: 'Build.Logs.DeepLink is not a CloudWatch console link' } : {};
}

/** Evidence bucket keys a run may report: under its own release, stage and kind. */
function evidenceKey(ctx: EvidenceContext, file: string): RegExp {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^evidence/${esc(ctx.releaseId)}/${esc(ctx.stage)}/${ctx.kind}/${esc(file)}$`);
}

/**
 * The validated evidence of one driver run. `result` is the task result or the Catch's error (see
 * `buildOf`); `fallbackBuildId` is the build id the workflow passed separately (older definitions).
 */
export function extractDriverEvidence(ctx: EvidenceContext, result: unknown, fallbackBuildId?: string): EvidenceExtraction {
  const warnings: string[] = [];
  const dropped: string[] = [];
  const drop = (name: string, why: string) => {
    dropped.push(name);
    warnings.push(`${name}: ${why}; dropped`);
  };
  const build = buildOf(result);
  const out: { -readonly [K in keyof DriverEvidence]: DriverEvidence[K] } = { driver: ctx.driver };

  const id = build?.Id ?? fallbackBuildId;
  if (typeof id === 'string' && BUILD_ID.test(id)) out.buildId = id;
  else if (id !== undefined && id !== null) drop('Build.Id', 'not a CodeBuild build id');

  let region: string | undefined;
  let partition: string | undefined;
  if (build?.Arn !== undefined) {
    const m = typeof build.Arn === 'string' ? BUILD_ARN.exec(build.Arn) : null;
    if (!m) drop('Build.Arn', 'not a CodeBuild build ARN');
    else if (out.buildId && m[4] !== out.buildId) drop('Build.Arn', 'names another build than Build.Id');
    else {
      out.buildArn = build.Arn as string;
      partition = m[1];
      region = m[2];
      if (!out.buildId && BUILD_ID.test(m[4] as string)) out.buildId = m[4];
    }
  }
  const logs = logUrlOf(build?.Logs, region, partition);
  if (logs.url) out.logUrl = logs.url;
  else if (logs.problem) drop('Build.Logs', logs.problem);

  const vars = exportedVariables(build);
  const known = new Set<string>(Object.values(DRIVER_EXPORTS).flat());
  const mine = new Set<string>(DRIVER_EXPORTS[ctx.driver] ?? []);
  for (const name of vars.keys()) {
    if (known.has(name) && !mine.has(name)) warnings.push(`${name}: exported by a build of the ${ctx.driver} driver, which does not report it; ignored`);
  }
  // CodeBuild exports a declared variable the build never set as an empty string: absent, not malformed.
  const value = (name: string) => {
    const v = vars.get(name);
    return v === undefined || v === '' ? undefined : v;
  };

  if (ctx.driver === 'helm') {
    const rev = value('HELM_REVISION');
    const status = value('HELM_STATUS');
    const sha = value('HELM_STATUS_SHA256');
    const key = value('HELM_STATUS_KEY');
    const revOk = rev !== undefined && REVISION.test(rev);
    const statusOk = status !== undefined && (HELM_STATUSES as readonly string[]).includes(status);
    const shaOk = sha !== undefined && SHA256.test(sha);
    const keyOk = key !== undefined && evidenceKey(ctx, 'helm-status.json').test(key);
    if (rev !== undefined && !revOk) drop('HELM_REVISION', 'not a revision number');
    if (status !== undefined && !statusOk) drop('HELM_STATUS', `not a Helm release status (${HELM_STATUSES.join(', ')})`);
    if (sha !== undefined && !shaOk) drop('HELM_STATUS_SHA256', 'not a sha256');
    if (key !== undefined && !keyOk) drop('HELM_STATUS_KEY', `not an evidence key of this run (evidence/${ctx.releaseId}/${ctx.stage}/${ctx.kind}/helm-status.json)`);
    if (revOk && statusOk && shaOk) {
      out.helm = { revision: Number(rev), status: status as HelmStatus, statusSha256: sha as string, ...(keyOk ? { statusKey: key as string } : {}) };
    } else if (build) {
      warnings.push(`no Helm evidence: ${[!revOk && 'HELM_REVISION', !statusOk && 'HELM_STATUS', !shaOk && 'HELM_STATUS_SHA256'].filter(Boolean).join(', ')} missing or dropped`);
    }
  }

  if (ctx.driver === 'terraform') {
    const sha = value('TF_PLAN_SHA256');
    const key = value('TF_PLAN_KEY');
    const summary = value('TF_PLAN_SUMMARY');
    const shaOk = sha !== undefined && SHA256.test(sha);
    const keyOk = key !== undefined && evidenceKey(ctx, 'plan.json').test(key);
    const counts = summary !== undefined ? PLAN_SUMMARY.exec(summary) : null;
    if (sha !== undefined && !shaOk) drop('TF_PLAN_SHA256', 'not a sha256');
    if (key !== undefined && !keyOk) drop('TF_PLAN_KEY', `not the plan key of this run (evidence/${ctx.releaseId}/${ctx.stage}/${ctx.kind}/plan.json)`);
    if (summary !== undefined && !counts) drop('TF_PLAN_SUMMARY', 'not {"add":N,"change":N,"destroy":N}');
    if (shaOk && keyOk && counts) {
      out.terraform = { planSha256: sha as string, planKey: key as string, add: Number(counts[1]), change: Number(counts[2]), destroy: Number(counts[3]) };
    } else if (build) {
      warnings.push(`no Terraform evidence: ${[!shaOk && 'TF_PLAN_SHA256', !keyOk && 'TF_PLAN_KEY', !counts && 'TF_PLAN_SUMMARY'].filter(Boolean).join(', ')} missing or dropped`);
    }
  }

  if (ctx.driver === 'kubernetes') {
    // The rollout check's own evidence (lambdas/domain/rollout.ts), handed over as `$.deploy.evidence`.
    const given = isRecord(result) ? result.evidence : undefined;
    const kept = given === undefined ? undefined : boundedJson(given, 3);
    if (isRecord(kept)) out.kubernetes = kept;
    else if (given !== undefined) drop('evidence', 'not an object of plain values');
  }

  if (dropped.length) out.dropped = dropped;
  return { evidence: out, warnings };
}

/** A JSON value kept only within bounds (strings ≤ 1,024 characters, ≤ 40 keys or items, `depth` levels); else undefined. */
function boundedJson(v: unknown, depth: number): unknown {
  if (v === null || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string') return v.length <= 1024 ? v : undefined;
  if (depth <= 0) return undefined;
  if (Array.isArray(v)) {
    if (v.length > 40) return undefined;
    const items = v.map((x) => boundedJson(x, depth - 1));
    return items.every((x) => x !== undefined) ? items : undefined;
  }
  if (!isRecord(v)) return undefined;
  const entries = Object.entries(v);
  if (entries.length > 40) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, x] of entries) {
    if (x === undefined) continue;
    const kept = boundedJson(x, depth - 1);
    if (kept === undefined) return undefined;
    out[k] = kept;
  }
  return out;
}

/** Drivers that run as CodeBuild builds: their evidence must name the build. */
export const CODEBUILD_DRIVERS: readonly string[] = CODEBUILD_DRIVER_NAMES;

/**
 * What is missing from a successful deploy's evidence for its driver, or undefined when it is complete:
 * a CodeBuild driver's build id, and the driver's own member (helm, terraform, kubernetes).
 */
export function evidenceShortfall(driver: string, evidence: unknown): string | undefined {
  if (!isRecord(evidence)) return `no driver evidence (the ${driver} driver's deploy.finished carries no evidence)`;
  if (evidence.driver !== driver) return `its evidence is for driver ${String(evidence.driver)}, the deploy ran the ${driver} driver`;
  const missing: string[] = [];
  if (CODEBUILD_DRIVERS.includes(driver) && !(typeof evidence.buildId === 'string' && evidence.buildId !== '')) missing.push('the build id');
  const member = evidence[driver];
  if (driver === 'helm') {
    const h = isRecord(member) ? member : {};
    if (!(typeof h.revision === 'number' && typeof h.status === 'string' && typeof h.statusSha256 === 'string' && SHA256.test(h.statusSha256))) missing.push('the Helm revision, status and status sha256');
  } else if (driver === 'terraform') {
    const t = isRecord(member) ? member : {};
    if (!(typeof t.planSha256 === 'string' && SHA256.test(t.planSha256) && typeof t.planKey === 'string' && typeof t.destroy === 'number')) missing.push('the plan sha256, key and counts');
  } else if (!isRecord(member)) {
    missing.push(`the ${driver} driver's evidence`);
  }
  return missing.length ? `its ${driver} evidence lacks ${missing.join(' and ')}` : undefined;
}
