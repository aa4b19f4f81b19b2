/**
 * Gate policy: where "is this image allowed into this stage" is decided. Pure functions of the
 * policy, the evidence and the workflow's clock.
 */
import type { AlarmState, ImageDetail, ScanFinding, ScanResult } from '../ports';
import type { ImagePolicy, StageConfig } from './config';
import type { GateResult } from './types';

const SEVERITY_ORDER = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL', 'UNDEFINED', 'UNTRIAGED'];

export function evaluateImageExists(repository: string, digest: string | undefined, tag: string | undefined, image: ImageDetail | undefined): GateResult {
  if (!digest) {
    return { gate: 'image.exists', result: 'FAIL', reason: `tag ${tag ?? '(none)'} was not found in repository ${repository}`, evidence: { repository, tag } };
  }
  if (!image) {
    return { gate: 'image.exists', result: 'FAIL', reason: `image ${digest} was not found in repository ${repository}`, evidence: { repository, digest } };
  }
  return {
    gate: 'image.exists',
    result: 'PASS',
    reason: `${repository}@${digest} exists${tag ? ` (tag ${tag})` : ''}`,
    evidence: { repository, digest, tags: image.tags, pushedAt: image.pushedAt, manifestMediaType: image.manifestMediaType },
  };
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
      gate: { gate: 'image.scan', result: 'FAIL', reason: `scan ${status}${scan.description ? `: ${scan.description}` : ''}`, evidence: { status, description: scan.description } },
    };
  }
  const active = new Map(policy.allow.filter((a) => allowEntryActive(a.expires, now)).map((a) => [a.id, a]));
  const expired = policy.allow.filter((a) => !allowEntryActive(a.expires, now)).map((a) => a.id);
  const allowed: ScanFinding[] = [];
  const counted = new Map<string, ScanFinding[]>();
  for (const f of scan.findings) {
    const sev = f.severity.toUpperCase();
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
  const allowedIds = [...new Set(allowed.map((f) => f.id))].sort();
  const allowNote = allowedIds.length
    ? ` (${allowedIds.length} allowed${allowedIds.length === 1 ? ` until ${active.get(allowedIds[0] as string)?.expires}` : ''}: ${allowedIds.join(', ')})`
    : '';
  const expiredNote = expired.length ? ` [expired allow entries ignored: ${expired.join(', ')}]` : '';
  const evidence = {
    status,
    completedAt: scan.completedAt,
    findings: scan.findings.map((f) => ({ id: f.id, severity: f.severity, package: f.package })),
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
