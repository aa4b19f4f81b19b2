/**
 * Gate policy: where "is this image allowed into this stage" is decided. Pure functions of the
 * policy, the evidence and the workflow's clock. The image gates run in this order (docs/contracts.md §3):
 * image.exists, image.immutable-tag, image.scan, image.signature, image.labels, image.age — the
 * last four each live in lambdas/domain/image/ and are re-exported here.
 */
import type { AlarmState, ImageDetail, ScanFinding, ScanResult } from '../ports';
import { type ImagePolicy, SEVERITIES, type StageConfig } from './config';
import type { GateName, GateResult } from './types';

export { evaluateImageAge } from './image/age';
export { evaluateLabels, PROVENANCE_LABELS, provenanceOf } from './image/labels';
export { evaluateSignature, signatureKeysUnusable } from './image/signature';
export { evaluateImmutableTag } from './image/tag-mutability';

/** The image gates in the order a stage runs them. */
export const IMAGE_GATE_ORDER: readonly GateName[] = ['image.exists', 'image.immutable-tag', 'image.scan', 'image.signature', 'image.labels', 'image.age'];

const SEVERITY_ORDER: readonly string[] = SEVERITIES;
const KNOWN_SEVERITIES: ReadonlySet<string> = new Set(SEVERITIES);
/** At most this many findings are copied into a gate's evidence (the ledger item has a size limit). */
export const MAX_FINDINGS_IN_EVIDENCE = 100;

/**
 * image.exists. `tagNow` is what the release's tag resolves to now (undefined: not looked up; null:
 * the tag is gone): a tag moved since the release resolved it is recorded as a WARN, and the release
 * keeps its digest.
 */
export function evaluateImageExists(
  repository: string,
  digest: string | undefined,
  tag: string | undefined,
  image: ImageDetail | undefined,
  tagNow?: Pick<ImageDetail, 'digest'> | null,
): GateResult {
  if (!digest) {
    return { gate: 'image.exists', result: 'FAIL', reason: `tag ${tag ?? '(none)'} was not found in repository ${repository}`, evidence: { repository, tag } };
  }
  if (!image) {
    return { gate: 'image.exists', result: 'FAIL', reason: `image ${digest} was not found in repository ${repository}`, evidence: { repository, digest } };
  }
  const evidence = {
    repository,
    digest,
    tags: image.tags,
    pushedAt: image.pushedAt,
    manifestMediaType: image.manifestMediaType,
    ...(tag && tagNow !== undefined ? { tagNowPointsTo: tagNow?.digest ?? null } : {}),
  };
  const base = `${repository}@${digest} exists${tag ? ` (tag ${tag})` : ''}`;
  if (tag && tagNow === null) {
    return { gate: 'image.exists', result: 'WARN', reason: `${base}; tag ${tag} no longer exists — this release keeps ${digest}`, evidence };
  }
  if (tag && tagNow && tagNow.digest !== digest) {
    return { gate: 'image.exists', result: 'WARN', reason: `${base}; tag ${tag} now points to ${tagNow.digest} — this release keeps ${digest}`, evidence };
  }
  return { gate: 'image.exists', result: 'PASS', reason: base, evidence };
}

/** An allow entry counts strictly before its `expires` date (UTC midnight): "past its expires date no longer allows". */
export function allowEntryActive(expires: string, now: Date): boolean {
  return now.getTime() < Date.parse(`${expires}T00:00:00Z`);
}

export type ScanVerdict = { kind: 'decided'; gate: GateResult } | { kind: 'wait'; reason: string };

/**
 * image.scan: findings over the per-severity limits block, except findings with an active allow entry.
 * `waitingSince` is when this stage started waiting for the scan (undefined on the first look).
 */
export function evaluateScan(policy: ImagePolicy, scan: ScanResult, now: Date, waitingSince: Date | undefined): ScanVerdict {
  const status = scan.status;
  if (status === 'IN_PROGRESS' || status === 'PENDING') {
    const waitedMs = waitingSince ? now.getTime() - waitingSince.getTime() : 0;
    if (waitedMs < policy.scanWaitMinutes * 60_000) {
      return { kind: 'wait', reason: `scan ${status}; waiting up to ${policy.scanWaitMinutes} minutes` };
    }
    return {
      kind: 'decided',
      gate: { gate: 'image.scan', result: 'FAIL', reason: `scan still ${status} after ${policy.scanWaitMinutes} minutes`, evidence: { status } },
    };
  }
  if (status === 'NONE') {
    return { kind: 'decided', gate: { gate: 'image.scan', result: 'FAIL', reason: 'no scan exists for this image (enable scan on push)', evidence: { status } } };
  }
  if (status !== 'COMPLETE' && status !== 'ACTIVE') {
    return {
      kind: 'decided',
      gate: {
        gate: 'image.scan',
        result: 'FAIL',
        reason: `scan ${status}${scan.description ? `: ${scan.description}` : ''}`,
        evidence: { status, ...(scan.description ? { description: scan.description } : {}) },
      },
    };
  }
  const active = new Map(policy.allow.filter((a) => allowEntryActive(a.expires, now)).map((a) => [a.id, a]));
  const expired = policy.allow.filter((a) => !allowEntryActive(a.expires, now)).map((a) => a.id);
  const anyLimit = Object.keys(policy.maxFindings).length > 0;
  const allowed: ScanFinding[] = [];
  const counted = new Map<string, ScanFinding[]>();
  const unknown: ScanFinding[] = [];
  for (const f of scan.findings) {
    const sev = f.severity.toUpperCase();
    if (!KNOWN_SEVERITIES.has(sev)) {
      // A severity Gantry does not know cannot be compared with the limits: it blocks (unless
      // allow-listed) whenever any limit is set, rather than slip through as "not limited".
      if (!anyLimit) continue;
      if (active.has(f.id)) allowed.push(f);
      else unknown.push(f);
      continue;
    }
    const limit = policy.maxFindings[sev as keyof ImagePolicy['maxFindings']];
    if (limit === undefined) continue;
    if (active.has(f.id)) {
      allowed.push(f);
      continue;
    }
    counted.set(sev, [...(counted.get(sev) ?? []), f]);
  }
  const limited = Object.entries(policy.maxFindings).sort(([a], [b]) => SEVERITY_ORDER.indexOf(a) - SEVERITY_ORDER.indexOf(b));
  const over: string[] = [];
  const counts: string[] = [];
  for (const [sev, limit] of limited) {
    const list = counted.get(sev) ?? [];
    counts.push(`${list.length} ${sev}`);
    if (list.length > (limit ?? Number.POSITIVE_INFINITY)) {
      const ids = [...new Set(list.map((f) => f.id))].sort();
      over.push(`${list.length} ${sev} over limit ${limit}: ${ids.join(', ')}`);
    }
  }
  if (unknown.length) {
    const severities = [...new Set(unknown.map((f) => JSON.stringify(f.severity)))].sort().join(', ');
    const ids = [...new Set(unknown.map((f) => f.id))].sort();
    over.push(`${unknown.length} finding(s) of unknown severity ${severities} cannot be checked against maxFindings: ${ids.join(', ')}`);
  }
  const allowedIds = [...new Set(allowed.map((f) => f.id))].sort();
  const allowNote =
    allowedIds.length === 0
      ? ''
      : allowedIds.length === 1
        ? ` (1 allowed until ${active.get(allowedIds[0] as string)?.expires}: ${allowedIds[0]})`
        : ` (${allowedIds.length} allowed: ${allowedIds.map((id) => `${id} until ${active.get(id)?.expires}`).join(', ')})`;
  const expiredNote = expired.length ? ` [expired allow entries ignored: ${expired.join(', ')}]` : '';
  const bySeverity: Record<string, number> = {};
  for (const f of scan.findings) bySeverity[f.severity.toUpperCase()] = (bySeverity[f.severity.toUpperCase()] ?? 0) + 1;
  // Blocking and allowed findings first, so a truncated list still shows what decided.
  const decisive = new Set([...counted.values()].flat().concat(unknown, allowed));
  const ordered = [...scan.findings].sort((a, b) => Number(decisive.has(b)) - Number(decisive.has(a)));
  const evidence = {
    status,
    ...(scan.completedAt ? { completedAt: scan.completedAt } : {}),
    counts: bySeverity,
    findings: ordered.slice(0, MAX_FINDINGS_IN_EVIDENCE).map((f) => ({
      id: f.id,
      severity: f.severity,
      ...(f.package ? { package: f.package } : {}),
      ...(f.exploitAvailable === undefined ? {} : { exploitAvailable: f.exploitAvailable }),
      ...(f.fixAvailable === undefined ? {} : { fixAvailable: f.fixAvailable }),
    })),
    ...(scan.findings.length > MAX_FINDINGS_IN_EVIDENCE ? { findingsOmitted: scan.findings.length - MAX_FINDINGS_IN_EVIDENCE } : {}),
    allowed: allowedIds,
    expiredAllowEntries: expired,
  };
  if (over.length > 0) {
    return { kind: 'decided', gate: { gate: 'image.scan', result: 'FAIL', reason: `${over.join('; ')}${allowNote}${expiredNote}`, evidence } };
  }
  const summary = counts.length ? counts.join(', ') : `${scan.findings.length} findings, no severity limits set`;
  return { kind: 'decided', gate: { gate: 'image.scan', result: 'PASS', reason: `${summary}${allowNote}${expiredNote}`, evidence } };
}

/** Problems with a set of alarm states under a stage's policy: missing, ALARM, INSUFFICIENT_DATA (policy `fail`). */
export function alarmProblems(stage: Pick<StageConfig, 'alarms' | 'insufficientData'>, states: readonly AlarmState[]): { failures: string[]; warnings: string[] } {
  const byName = new Map(states.map((s) => [s.name, s]));
  const failures: string[] = [];
  const warnings: string[] = [];
  for (const name of stage.alarms) {
    const s = byName.get(name);
    if (!s) failures.push(`alarm ${name} does not exist`);
    else if (s.state === 'ALARM') failures.push(`alarm ${name} is in ALARM${s.reason ? `: ${s.reason}` : ''}`);
    else if (s.state === 'INSUFFICIENT_DATA') {
      if (stage.insufficientData === 'fail') failures.push(`alarm ${name} is INSUFFICIENT_DATA (policy: fail)`);
      else warnings.push(`alarm ${name} is INSUFFICIENT_DATA (policy: ignore)`);
    }
  }
  return { failures, warnings };
}

function alarmEvidence(states: readonly AlarmState[]) {
  return states.map((s) => ({ name: s.name, type: s.type, state: s.state, reason: s.reason, updatedAt: s.updatedAt }));
}

/** alarms.pre-deploy: no deploy into a stage whose alarms fire, are missing, or (policy `fail`) have no data. */
export function evaluateAlarmsPreDeploy(stage: Pick<StageConfig, 'alarms' | 'insufficientData'>, states: readonly AlarmState[]): GateResult {
  if (stage.alarms.length === 0) {
    return { gate: 'alarms.pre-deploy', result: 'WARN', reason: 'stage has no alarms: a bad release cannot be detected during bake', evidence: [] };
  }
  const { failures, warnings } = alarmProblems(stage, states);
  if (failures.length) return { gate: 'alarms.pre-deploy', result: 'FAIL', reason: failures.join('; '), evidence: alarmEvidence(states) };
  if (warnings.length) return { gate: 'alarms.pre-deploy', result: 'WARN', reason: warnings.join('; '), evidence: alarmEvidence(states) };
  return { gate: 'alarms.pre-deploy', result: 'PASS', reason: `${stage.alarms.length} alarm(s) OK: ${stage.alarms.join(', ')}`, evidence: alarmEvidence(states) };
}

/** The bake's final check when its time is up. */
export function evaluateBakeEnd(stage: Pick<StageConfig, 'alarms' | 'insufficientData' | 'bakeMinutes'>, states: readonly AlarmState[]): GateResult {
  const { failures, warnings } = alarmProblems(stage, states);
  if (failures.length) return { gate: 'bake', result: 'FAIL', reason: `final check after ${stage.bakeMinutes} minutes: ${failures.join('; ')}`, evidence: alarmEvidence(states) };
  const base = stage.alarms.length ? `${stage.bakeMinutes}-minute bake passed; ${stage.alarms.length} alarm(s) never fired` : `${stage.bakeMinutes}-minute bake with no alarms`;
  return { gate: 'bake', result: warnings.length || stage.alarms.length === 0 ? 'WARN' : 'PASS', reason: [base, ...warnings].join('; '), evidence: alarmEvidence(states) };
}

/** The whole minutes between two instants, for "at bake minute 7". */
export function minutesBetween(from: string, to: string): number {
  return Math.max(0, Math.floor((Date.parse(to) - Date.parse(from)) / 60_000));
}

/** The AWS error that stopped a read of a stage's alarms (DescribeAlarms) or another call, after the SDK's own retries. */
export interface AlarmReadFailure {
  /** The AWS error name: AccessDeniedException, ThrottlingException, InternalServiceFault, … */
  readonly name: string;
  readonly message: string;
}

/** At most this many characters of an AWS error message go into a reason (the whole message stays in the evidence). */
const ERROR_MESSAGE_IN_REASON = 300;

/**
 * "could not read alarms payments-prod-5xx, payments-prod-latency-p99: AccessDeniedException: …": the
 * reason every alarm check records when it could not read the stage's alarms. An alarm that could not be
 * read is never healthy: every check that reads alarms fails closed on it (decision 018).
 */
export function alarmReadFailureReason(alarms: readonly string[], error: AlarmReadFailure): string {
  return `could not read alarm${alarms.length === 1 ? '' : 's'} ${alarms.join(', ')}: ${awsErrorText(error)}`;
}

/** "AccessDeniedException: User … is not authorized …": an AWS error's name and (shortened) message, the name once. */
export function awsErrorText(error: AlarmReadFailure): string {
  const message = error.message.startsWith(`${error.name}:`) ? error.message.slice(error.name.length + 1).trim() : error.message.trim();
  const short = message.length > ERROR_MESSAGE_IN_REASON ? `${message.slice(0, ERROR_MESSAGE_IN_REASON - 1)}…` : message;
  return `${error.name}${short ? `: ${short}` : ''}`;
}

/** `alarms.pre-deploy` or `bake` when DescribeAlarms failed: FAIL, naming the alarms and the error. */
export function evaluateAlarmReadFailure(gate: 'alarms.pre-deploy' | 'bake', alarms: readonly string[], error: AlarmReadFailure, when?: string): GateResult {
  const reason = alarmReadFailureReason(alarms, error);
  return { gate, result: 'FAIL', reason: when ? `${when}: ${reason}` : reason, evidence: { alarms: [...alarms], error: { name: error.name, message: error.message } } };
}
