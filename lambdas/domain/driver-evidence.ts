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

import type { HelmEvidence } from '../../drivers/helm/evidence';
import type { KubernetesEvidence } from '../../drivers/kubernetes/evidence';
import type { TerraformEvidence } from '../../drivers/terraform/evidence';

export { HELM_STATUSES, type HelmStatus } from '../../drivers/helm/evidence';
export type { HelmEvidence, KubernetesEvidence, TerraformEvidence };

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

const BUILD_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{1,254}:[A-Za-z0-9-]{1,128}$/;
const BUILD_ARN = /^arn:(aws|aws-cn|aws-us-gov):codebuild:([a-z]{2}(?:-gov)?-[a-z]+-\d):(\d{12}):build\/(.+)$/;
const LOG_GROUP = /^[A-Za-z0-9._/#-]{1,512}$/;
const LOG_STREAM = /^[A-Za-z0-9._/#-]{1,512}$/;
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

  // The driver's own member (drivers/<name>/evidence.ts, through its descriptor).
  const part = DRIVERS.find((d) => d.name === ctx.driver)?.evidence;
  const member = part?.extract({
    releaseId: ctx.releaseId,
    stage: ctx.stage,
    kind: ctx.kind,
    hasBuild: build !== undefined,
    result,
    value,
    drop,
    warn: (message) => warnings.push(message),
    evidenceKey: (file) => evidenceKey(ctx, file),
  });
  if (member !== undefined) (out as Record<string, unknown>)[ctx.driver] = member;

  if (dropped.length) out.dropped = dropped;
  return { evidence: out, warnings };
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
  const part = DRIVERS.find((d) => d.name === driver)?.evidence;
  const lacking = part ? part.shortfall(member) : isRecord(member) ? undefined : `the ${driver} driver's evidence`;
  if (lacking) missing.push(lacking);
  return missing.length ? `its ${driver} evidence lacks ${missing.join(' and ')}` : undefined;
}
