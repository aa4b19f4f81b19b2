/** Human renderings of the audit record, the verification report and the DORA report (plain text, no colour). */
import type { DeployRecord, ExportVerification, ReleaseAudit, ReleaseVerification, StageAudit } from '../../lambdas/domain/audit';
import { formatProblem } from '../../lambdas/domain/audit';
import type { DoraReport, DurationStats, ServiceDora } from '../../lambdas/domain/metrics';
import { rollbackFromText } from '../../lambdas/domain/release';
import { changeLines } from './change';

/** `2026-11-24T10:00:00.000Z` → `2026-11-24 10:00:00Z`. */
export function when(iso: string | undefined): string {
  if (!iso) return '—';
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?Z$/.exec(iso);
  return m ? `${m[1]} ${m[2]}Z` : iso;
}

/** Seconds → `41m 0s`, `2h 5m`, `3d 4h`. */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}

const since = (from?: string, to?: string): number | undefined => (from && to ? (Date.parse(to) - Date.parse(from)) / 1000 : undefined);
const pad = (s: string, n: number) => (s.length >= n ? `${s} ` : s.padEnd(n));

/** A deploy's driver evidence (lambdas/domain/driver-evidence.ts): Helm status, Terraform plan, Kubernetes rollout. */
function evidenceLines(d: DeployRecord): string[] {
  const out: string[] = [];
  const ev = d.evidence;
  const line = (label: string, text: string) => out.push(`             ${pad(label, 9)} ${text}`);
  if (d.driver || ev?.driver) line('driver', String(d.driver ?? ev?.driver));
  if (ev?.helm) {
    const h = ev.helm;
    line('helm', `revision ${h.revision}, ${h.status}; helm status sha256 ${h.statusSha256}${h.statusKey ? ` (${h.statusKey})` : ''}`);
  }
  if (ev?.terraform) {
    const t = ev.terraform;
    line('plan', `sha256 ${t.planSha256}  (${t.add} to add, ${t.change} to change, ${t.destroy} to destroy)`);
    line('plan key', t.planKey);
    if (t.savedPlanSha256) line('applied', `saved plan sha256 ${t.savedPlanSha256} (checked against the approved one before the apply)`);
  }
  if (ev?.kubernetes) {
    const k = ev.kubernetes as Record<string, unknown>;
    const cond = k.condition && typeof k.condition === 'object' ? (k.condition as Record<string, unknown>) : undefined;
    const parts = [
      k.image !== undefined ? `image ${String(k.image)}` : '',
      k.generation !== undefined ? `generation ${String(k.generation)}${k.observedGeneration !== undefined ? ` (observed ${String(k.observedGeneration)})` : ''}` : '',
      cond ? `${String(cond.type)}=${String(cond.status)}${cond.reason ? ` ${String(cond.reason)}` : ''}` : '',
    ].filter(Boolean);
    line('rollout', parts.length ? parts.join('; ') : JSON.stringify(k));
  }
  if (ev?.dropped?.length) line('dropped', `${ev.dropped.join(', ')} (reported by the driver but malformed: not recorded)`);
  if ((d.driver || ev) && d.result === 'SUCCEEDED' && !ev?.helm && !ev?.terraform && !ev?.kubernetes) line('evidence', `none from the ${String(d.driver ?? ev?.driver)} driver`);
  return out;
}

/** Each decision on a stage that requires several approvals (decision 050): principal, person, when, comment, plan. */
function approvalLines(st: StageAudit): string[] {
  const required = st.approvalsRequired ?? 1;
  let approved = 0;
  return (st.approvals ?? []).map((a) => {
    const n = a.decision === 'APPROVED' ? ` ${++approved} of ${required}` : '';
    const plan = typeof a.planSha256 === 'string' ? `  plan sha256 ${a.planSha256}` : '';
    return `    ${when(a.at)}  ${a.decision}${n} by ${a.principal}${a.person ? ` (person ${a.person})` : ''}${a.comment ? ` — "${a.comment}"` : ''}${plan}`;
  });
}

function stageLines(st: StageAudit, approvalPolicy: readonly string[] | undefined): string[] {
  const out: string[] = [];
  const span = st.startedAt ? `  (${when(st.startedAt)} → ${when(st.endedAt)})` : '';
  out.push(`Stage ${st.name} — ${st.status}${span}`);
  if (st.reason) out.push(`  outcome    ${st.reason}`);
  if (st.previousDigest) out.push(`  was running ${st.previousDigest}`);
  for (const w of st.waits) out.push(`  waited     ${when(w.at)}  for ${w.waitingFor ?? 'something'}${w.reason ? `: ${w.reason}` : ''}`);
  if (st.gates.length) {
    out.push('  gates');
    for (const g of st.gates) out.push(`    ${when(g.at)}  ${pad(g.gate, 20)} ${pad(g.result, 5)} ${g.reason}`);
  } else if (st.status !== 'NOT_STARTED') {
    out.push('  gates      none recorded');
  }
  const requested = st.waits.some((w) => w.waitingFor === 'approval');
  const several = (st.approvalsRequired ?? 1) > 1 || (st.approvals?.length ?? 0) > 1;
  if (st.approval) {
    out.push(
      `  approval   ${st.approval.decision} by ${st.approval.principal ?? '(no principal recorded)'} at ${when(st.approval.at)}${st.approval.comment ? ` — "${st.approval.comment}"` : ''}`,
    );
    if (several) out.push(...approvalLines(st));
  } else if (several) {
    out.push(`  approval   REQUESTED — ${st.approvals?.length ?? 0} of ${st.approvalsRequired ?? 1} approvals, no decision yet`);
    out.push(...approvalLines(st));
  } else if (requested || approvalPolicy?.includes(st.name)) {
    out.push(`  approval   ${requested ? 'REQUESTED' : 'REQUIRED'} — no decision recorded`);
  } else if (approvalPolicy === undefined) {
    if (st.status !== 'NOT_STARTED') out.push('  approval   none requested (the release does not record its approval policy)');
  } else {
    out.push('  approval   not required by the policy the release recorded');
  }
  // Decision 049: each saved Terraform plan, the decisions on it (with the hash each approved), and whether it went stale.
  for (const p of st.plans ?? []) {
    out.push(`  plan ${p.attempt}     ${when(p.at)}  sha256 ${p.sha256}  (${p.adds} to add, ${p.changes} to change, ${p.destroys} to destroy)`);
    out.push(`             saved plan ${p.key}`);
    for (const d of p.decisions)
      out.push(`             ${d.decision} by ${d.principal ?? '(no principal recorded)'} at ${when(d.at)}${d.planSha256 ? `, approving plan sha256 ${d.planSha256}` : ''}`);
    if (p.stale) out.push(`             STALE at ${when(p.stale.at)}: nothing applied${p.stale.message ? ` — ${p.stale.message}` : ''}`);
    if (p.appliedSha256) out.push(`             applied: the apply checked the saved plan's sha256 ${p.appliedSha256}`);
  }
  for (const d of st.deploys) {
    const on = d.cluster ? `  on ${d.cluster} (wave ${d.wave ?? '?'})` : ''; // a wave stage's run (decision 044)
    out.push(`  ${d.kind === 'rollback' ? 'rollback deploy' : 'deploy    '} ${when(d.startedAt)} → ${when(d.endedAt)}  ${d.result ?? ''}  ${d.digest ?? ''}${on}`);
    if (d.message) out.push(`             ${d.message}`);
    if (d.buildId) out.push(`             build id  ${d.buildId}`);
    if (d.buildArn) out.push(`             build ARN ${d.buildArn}`);
    if (d.logLink) out.push(`             log       ${d.logLink}`);
    out.push(...evidenceLines(d));
    for (const [k, v] of Object.entries(d.driverEvidence ?? {})) out.push(`             ${pad(k, 9)} ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  }
  for (const c of st.canarySteps ?? [])
    out.push(
      `  canary     ${when(c.at)}  step ${c.step} (${c.weight} %) ${c.status}${c.replicas !== undefined ? `, ${c.replicas} canary replica(s)` : ''}${c.reason ? `: ${c.reason}` : ''}`,
    );
  if (st.bake) {
    const b = st.bake;
    out.push(
      `  bake       ${when(b.startedAt)} → ${when(b.endedAt)}  ${b.result ?? 'RUNNING'}${b.minutes !== undefined ? `  ${b.minutes} min` : ''}${b.alarms ? ` against ${b.alarms.join(', ') || 'no alarms'}` : ''}`,
    );
    if (b.reason) out.push(`             ${b.reason}`);
  }
  if (st.promotedAt) out.push(`  promoted   ${when(st.promotedAt)}`);
  if (st.rollback) {
    const r = st.rollback;
    out.push(`  rollback   ${r.reason ?? ''}`);
    out.push(`             detected ${when(r.detectedAt)}, started ${when(r.startedAt)}, finished ${when(r.endedAt)}: ${r.result ?? 'RUNNING'}`);
    out.push(`             rolled back ${rollbackFromText(r)} to ${r.toDigest ?? '(not recorded)'}`);
    if (r.recoverySeconds !== undefined)
      out.push(`             recovery time ${duration(r.recoverySeconds)} (detection → rollback done)${r.reactionSeconds ? `, reaction ${duration(r.reactionSeconds)}` : ''}`);
    if (r.message) out.push(`             ${r.message}`);
    if (r.recovery && typeof r.recovery === 'object') {
      const rec = r.recovery as { recovered?: unknown; reason?: unknown };
      out.push(
        `             after the rollback: ${rec.recovered === true ? 'recovered' : rec.recovered === false ? 'NOT recovered' : 'unknown'}${rec.reason ? ` — ${String(rec.reason)}` : ''}`,
      );
    }
  }
  return out;
}

/** A rollback drill's section of `audit show` (decision 052): when, stage, digests, time to restore, outcome; or the drill a leg belongs to. */
export function drillLines(a: Pick<ReleaseAudit, 'drill' | 'drillLeg'>): string[] {
  if (a.drillLeg) return [`Drill        leg ${a.drillLeg.leg} of rollback drill ${a.drillLeg.drillId} (gantry audit show ${a.drillLeg.drillId})`];
  const d = a.drill;
  if (!d) return [];
  const secs = (n: number | undefined) => (n === undefined ? '— (not healthy)' : `${duration(n)} (${n} s)`);
  const out = [
    `Drill        ${d.status} at ${when(d.at)}, stage ${d.stage}, started by ${d.initiator ?? '?'} (${d.trigger === 'schedule' ? 'the drill schedule' : 'an operator'})`,
    `  back       ${d.fromDigest ?? '?'} → ${d.toDigest ?? '?'}: time to restore ${secs(d.timeToRestoreSeconds)}`,
    `  forward    ${d.toDigest ?? '?'} → ${d.fromDigest ?? '?'}: ${secs(d.rollForwardSeconds)}`,
  ];
  for (const l of d.legs)
    out.push(`  leg        ${l.leg} ${l.releaseId} ${l.status}${l.startedAt ? ` from ${when(l.startedAt)}` : ''}${l.healthyAt ? ` healthy ${when(l.healthyAt)}` : ''}`);
  if (d.reason) out.push(`  outcome    ${d.reason}`);
  return out;
}

export function renderAudit(a: ReleaseAudit, approvalPolicy: readonly string[] | undefined): string {
  const out: string[] = [];
  out.push(`RELEASE ${a.releaseId} — ${a.status}${a.kind === 'rollback' ? ' (operator rollback)' : a.kind === 'drill' ? ' (rollback drill)' : ''}`);
  if (a.reason) out.push(`  ${a.reason}`);
  out.push('');
  const i = a.integrity;
  out.push(
    `Record       ${a.events} ledger events; hash chain ${i.ok ? 'intact' : 'BROKEN'}${i.anchor ? `; anchor: version ${String(i.anchor.version)}, last hash ${String(i.anchor.lastHash).slice(0, 16)}…` : '; no anchor'}`,
  );
  for (const p of i.problems) out.push(`             ✗ ${p.message}`);
  out.push(`Signature    ${signatureLine(i.signature)}`);
  out.push(`Artifact     ${a.service ?? '?'}${a.repository ? ` (ECR repository ${a.repository})` : ''}`);
  out.push(`  digest     ${a.digest ?? '(not resolved)'}`);
  out.push(`  tag        ${a.tag ?? '(none)'}`);
  out.push(`  commit     ${a.commit ? `${a.commit.value}  (${a.commit.source})` : 'not recorded (no revision label in the evidence)'}`);
  if (a.sourceRepository) out.push(`  source     ${a.sourceRepository}`);
  out.push(`  created    ${a.imageCreated ? `${when(a.imageCreated.value)}  (${a.imageCreated.source})` : 'not recorded (no created label in the evidence)'}`);
  if (a.imagePushedAt) out.push(`  pushed     ${when(a.imagePushedAt)}`);
  if (a.rollbackTarget) out.push(`  rolls back to ${a.rollbackTarget}`);
  out.push(`Started by   ${a.initiator ?? '(not recorded)'}${a.attributedAt ? `  (attributed ${when(a.attributedAt)} from ${a.attributedFrom ?? 'CloudTrail PutImage'})` : ''}`);
  out.push(`  at         ${when(a.startedAt)}`);
  if (a.requestReason) out.push(`  reason     ${a.requestReason}`);
  if (a.startAt) out.push(`  promotion  starts at ${a.startAt} (gate promotion.previous-stage)`);
  if (a.breakGlass) out.push(`  BREAK-GLASS ${JSON.stringify(a.breakGlass)}`);
  out.push(`Config       sha256 ${a.configHash ?? '(not recorded)'}`);
  out.push(...changeLines(a.change));
  if (a.executionArn) out.push(`Execution    ${a.executionArn}`);
  out.push(`Finished     ${a.endedAt ? `${when(a.endedAt)}  after ${duration(since(a.startedAt, a.endedAt))}` : 'not finished (RUNNING)'}`);
  out.push(...drillLines(a));
  const policy = a.kind === 'rollback' ? [] : approvalPolicy;
  for (const st of a.stages) {
    out.push('');
    out.push(...stageLines(st, policy));
  }
  out.push('');
  const ev = a.evidence;
  if (ev.promotedStages.length === 0) out.push('Evidence     no promoted stage to check');
  else if (ev.gaps.length === 0) out.push(`Evidence     complete for every promoted stage (${ev.promotedStages.join(', ')})`);
  else {
    out.push(`Evidence     ${ev.gaps.length} gap(s) in promoted stages`);
    for (const g of ev.gaps) out.push(`  ✗ ${g.stage}: ${g.missing}: ${g.message}`);
  }
  for (const n of ev.notes) out.push(`  note: ${n}`);
  return out.join('\n');
}

/** `, signed by K (verified)`: a release's signature status in one phrase (decision 048). */
export function signatureWords(s: ReleaseVerification['signature']): string {
  if (!s) return '';
  switch (s.status) {
    case 'verified':
      return `, signature verified (${s.keyId})`;
    case 'present':
      return `, signed by ${s.keyId} (not checked)`;
    case 'missing':
      return ', NOT SIGNED';
    case 'invalid':
      return ', signature INVALID';
    default:
      return ', unfinished (nothing signed yet)';
  }
}

/** `audit show`'s Signature line (decision 048). */
export function signatureLine(s: ReleaseVerification['signature']): string {
  if (!s || s.status === 'unfinished') return 'none yet (the release has not finished)';
  if (s.status === 'missing') return 'NONE: the release finished but its anchor is not signed';
  const what = `${s.keyId}, ${s.signedAt}, covers event #${s.version}${s.uncovered ? ` (${s.uncovered} later event(s) not covered)` : ''}`;
  if (s.status === 'verified') return `verified: ${what}`;
  if (s.status === 'invalid') return `INVALID: ${what}`;
  return `present, not checked (give --public-key): ${what}`;
}

export function renderVerification(
  source: string,
  v: ExportVerification,
  gaps: ReadonlyArray<{ releaseId: string; stage: string; missing: string; message: string }>,
  notes: readonly string[],
): string {
  const out: string[] = [];
  const events = v.releases.reduce((n, r) => n + r.events, 0);
  const broken = v.releases.filter((r) => !r.ok);
  out.push(
    v.ok
      ? `VERIFIED  ${source}: ${v.releases.length} release(s), ${events} event(s); every hash chain intact${v.anchored === 'all' ? ' and every release ends at its anchor' : ''}`
      : `FAILED    ${source}: ${v.problems.length} problem(s) in ${broken.length} of ${v.releases.length} release(s)`,
  );
  out.push(
    v.authorship === 'verified'
      ? 'Authorship  VERIFIED: every signature checked with the public key given (decision 048)'
      : v.authorship === 'failed'
        ? 'Authorship  FAILED: a signature is missing, does not verify, or covers another chain (below)'
        : 'Authorship  NOT CHECKED: no public key given (--public-key key.pem or --key-arn): the chains prove order, not who wrote them',
  );
  for (const r of v.releases) {
    out.push(
      `  ${r.ok ? '✓' : '✗'} ${r.releaseId}  ${r.service ?? '?'}  ${r.status ?? ''}  ${r.events} event(s)${r.anchor ? `, anchor at line ${r.anchor.line}` : ''}${signatureWords(r.signature)}`,
    );
    for (const p of r.problems) out.push(`      ${formatProblem(p)}`);
  }
  const insightProblems = v.problems.filter((p) => p.kind === 'insight');
  if (insightProblems.length) {
    out.push('  ✗ insight check records (drift and stale-service findings)');
    for (const p of insightProblems) out.push(`      ${p.message}`);
  }
  for (const n of v.notes) out.push(`  note: ${n}`);
  out.push('');
  out.push(gaps.length === 0 ? 'Evidence  complete: every promoted stage has gate results, deploy evidence and a bake result' : `Evidence  ${gaps.length} gap(s):`);
  for (const g of gaps) out.push(`  ✗ release ${g.releaseId}, stage ${g.stage}: ${g.missing}: ${g.message}`);
  for (const n of notes) out.push(`  note: ${n}`);
  return out.join('\n');
}

const pct = (r: number | null) => (r === null ? '—' : `${Math.round(r * 1000) / 10}%`);
const statsLine = (s: DurationStats) => (s.count === 0 ? '—' : `median ${duration(s.medianSeconds)}, mean ${duration(s.meanSeconds)} (n=${s.count})`);

function serviceLines(s: ServiceDora): string[] {
  const out: string[] = [];
  const outcomes = Object.entries(s.outcomes)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
  out.push(
    `${s.service}  — ${s.releases} release(s)${outcomes ? `: ${outcomes}` : ''}${s.operatorRollbacks ? `; ${s.operatorRollbacks} operator rollback(s)` : ''}; production stage ${s.productionStage ?? '?'}`,
  );
  const f = s.deploymentFrequency;
  out.push(`  deployment frequency   ${f.deployments} to ${s.productionStage ?? 'production'} (${f.perDay.toFixed(2)}/day, ${f.perWeek.toFixed(2)}/week)`);
  const src = Object.entries(s.leadTime.sources)
    .map(([k, v]) => `${v} from ${k}`)
    .join(', ');
  out.push(`  lead time for changes  ${s.leadTime.count ? `${statsLine(s.leadTime)}${src ? `; ${src}` : ''}` : `— (no release promoted to ${s.productionStage ?? 'production'})`}`);
  const c = s.changeFailureRate;
  out.push(`  change failure rate    ${c.rate === null ? '— (no release deployed)' : `${pct(c.rate)} (${c.failed} of ${c.deployed} release(s) that deployed)`}`);
  out.push(`  recovery time          ${statsLine(s.recoveryTime)}${s.recoveryTime.unrecovered ? `; ${s.recoveryTime.unrecovered} rollback(s) did not succeed` : ''}`);
  out.push(`  ${pad('stage', 12)}${pad('deploys', 9)}${pad('per day', 9)}${pad('lead time (median)', 20)}${pad('change failure', 16)}recovery (median)`);
  for (const st of s.stages) {
    out.push(
      `  ${pad(st.stage, 12)}${pad(String(st.deploymentFrequency.deployments), 9)}${pad(st.deploymentFrequency.perDay.toFixed(2), 9)}${pad(duration(st.leadTime.medianSeconds), 20)}${pad(
        st.changeFailureRate.rate === null ? '—' : `${pct(st.changeFailureRate.rate)} (${st.changeFailureRate.failed}/${st.changeFailureRate.deployed})`,
        16,
      )}${duration(st.recoveryTime.medianSeconds)}`,
    );
  }
  // Rollback drills (decision 052): rehearsed time to restore, beside the real recovery time above.
  if (s.drills.drills > 0) {
    out.push(
      `  drills (rehearsed)     ${s.drills.drills} drill(s): ${s.drills.succeeded} succeeded, ${s.drills.failed} did not; time to restore ${statsLine(s.drills.timeToRestore)}`,
    );
    for (const st of s.stages) {
      if (st.drills.drills === 0) continue;
      out.push(
        `    ${pad(st.stage, 12)}${st.drills.drills} drill(s), time to restore ${statsLine(st.drills.timeToRestore)}, roll-forward ${statsLine(st.drills.rollForward)}; real recovery ${statsLine(st.recoveryTime)}; last ${when(st.drills.lastAt ?? undefined)}`,
      );
    }
  }
  return out;
}

export function renderDora(r: DoraReport): string {
  const out: string[] = [];
  out.push(
    `DORA metrics — window ${when(r.window.since ?? undefined)} → ${when(r.window.until ?? undefined)} (${r.window.days.toFixed(2)} day(s); rates per day count at least one day)`,
  );
  if (r.services.length === 0) out.push('  no release in the window');
  for (const s of r.services) {
    out.push('');
    out.push(...serviceLines(s));
  }
  return out.join('\n');
}
