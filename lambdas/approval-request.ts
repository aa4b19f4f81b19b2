/**
 * Start of a stage's approval (the `.waitForTaskToken` target of the release workflow's
 * RequestApproval state): store the task token for the approval API (approval-decide), record that
 * the stage waits for an approval, and publish `Approval Requested` with what an approver needs to
 * decide: the stage's gate results so far, the digest, tag and commit, who started the release (and,
 * with `identity.persons` configured, which person that is), a console link to the execution, how many
 * distinct persons must approve (`required`) and, with `excludeAuthors`, the image's authors. The task token is never recorded, published, logged or returned.
 *
 * Task input: { taskToken, releaseId, stage, timeoutSeconds? } — `timeoutSeconds` is the task's
 * TimeoutSeconds (default: the stage's approval.timeoutMinutes); the token expires with it.
 */
import * as z from 'zod';
import { mappedPerson } from './domain/approvers';
import { authorsOf, quorumPolicy } from './domain/approval-quorum';
import { executionConsoleUrl } from './domain/console-url';
import type { ReleaseSummary } from './domain/ledger';
import { parseWith } from './domain/validation';
import type { Deps } from './ports';
import { lambdaHandler } from './shared/middleware';
import { checkLease } from './shared/lease';
import { announce, loadRelease, record, stageConfigOf } from './shared/recorder';
import { approvalWaitingStep, currentPlan, planView } from './domain/plan-approval';

const eventSchema = z.object({
  taskToken: z.string().min(1),
  releaseId: z.string().min(1),
  stage: z.string().min(1),
  timeoutSeconds: z.number().int().positive().optional(),
});

/** A stage reached RequestApproval without an `approval` in its config: a workflow wiring bug. */
export class ApprovalNotConfiguredError extends Error {
  override readonly name = 'ApprovalNotConfiguredError';
}

export interface ApprovalRequested {
  readonly requested: boolean;
  readonly expiresAt: string;
}

/** The commit of the release: the image's org.opencontainers.image.revision label, as image.labels recorded it. */
export function commitOf(release: ReleaseSummary): string | undefined {
  for (const stage of [...release.stages].reverse()) {
    for (const gate of [...stage.gates].reverse()) {
      if (gate.gate !== 'image.labels') continue;
      const revision = (gate.evidence as { provenance?: { revision?: unknown } } | undefined)?.provenance?.revision;
      if (typeof revision === 'string' && revision.trim() !== '') return revision;
    }
  }
  return undefined;
}

/** The image's authors as an approver is told of them: the label's value, or null when it cannot be read (nobody may then decide). */
function authorsFound(release: ReleaseSummary, label: string): string | null {
  const found = authorsOf(release.stages, label);
  return found.kind === 'found' ? found.value : null;
}

export async function run(event: unknown, deps: Deps): Promise<ApprovalRequested> {
  const e = parseWith(eventSchema, event, 'task input');
  const initial = await deps.ledger.events(e.releaseId);
  const release = await loadRelease(deps, e.releaseId, initial);
  const { st } = stageConfigOf(deps, release.service, e.stage);
  if (!st.approval) throw new ApprovalNotConfiguredError(`stage ${release.service}/${e.stage} has no approval in the config`);
  const now = deps.now();
  const timeoutSeconds = e.timeoutSeconds ?? st.approval.timeoutMinutes * 60;
  const expiresAt = new Date(now.getTime() + timeoutSeconds * 1000).toISOString();

  // A retried task carries a new token: the newest replaces the stored one.
  await deps.ledger.putToken({
    kind: 'APPROVAL',
    releaseId: e.releaseId,
    service: release.service,
    stage: e.stage,
    token: e.taskToken,
    alarms: [],
    createdAt: now.toISOString(),
    expiresAt,
    attrs: { approvers: [...st.approval.approvers] },
  });
  // An operator rollback may have taken the stage before the token was stored (it found none to fail): ask nobody.
  // (A forced operator rollback asks before it takes the stage: it holds no lease yet.)
  // The lease is read now; the events read above give only this release's own fence, which nobody else changes.
  const lease = release.kind === 'rollback' ? ({ held: true } as const) : await checkLease(deps, e.releaseId, release.service, e.stage, initial);
  if (!lease.held) {
    const token = await deps.ledger.takeToken('APPROVAL', e.releaseId, e.stage);
    const lost = (await deps.ledger.events(e.releaseId)).filter((x) => x.type === 'lease.lost' && x.stage === e.stage).at(-1);
    if (token) await deps.tasks.sendFailure(token.token, 'OperatorRollback', String(lost?.data.reason ?? `the stage's lease was taken by ${lease.holder ?? 'another release'}`));
    return { requested: false, expiresAt };
  }
  const quorum = quorumPolicy(st.approval);
  const r = await record(
    deps,
    e.releaseId,
    approvalWaitingStep(initial, e.stage),
    'stage.waiting',
    {
      waitingFor: 'approval',
      approvers: [...st.approval.approvers],
      timeoutMinutes: Math.round(timeoutSeconds / 60),
      expiresAt,
      reason:
        quorum.required === 1
          ? `approval by ${st.approval.approvers.join(' or ')}`
          : `${quorum.required} approvals by distinct persons among ${st.approval.approvers.join(' or ')}`,
      // N-of-M (decision 050): how many distinct persons must approve, and whether the image's authors may.
      required: quorum.required,
      ...(quorum.excludeAuthors ? { excludeAuthors: true, authorLabel: quorum.authorLabel } : {}),
    },
    e.stage,
  );
  const gates = release.stages.find((s) => s.name === e.stage)?.gates ?? [];
  const plan = currentPlan(initial, e.stage);
  // With identity.persons configured, approvers see whose release it is as a person (not only an ARN).
  const person = deps.config.identity ? mappedPerson(release.initiator, deps.config.identity) : undefined;
  // Published even when the step is a duplicate (a retried task): an approval request nobody hears of
  // blocks the release until it times out, and a second notice is harmless.
  await announce(deps, false, 'Approval Requested', release, {
    stage: e.stage,
    status: 'WAITING',
    at: r.at,
    tag: release.tag ?? null,
    commit: commitOf(release) ?? null,
    initiator: release.initiator ?? null,
    approvers: [...st.approval.approvers],
    expiresAt: (r.data.expiresAt as string | undefined) ?? expiresAt,
    gates: gates.map((g) => ({ gate: g.gate, result: g.result, reason: g.reason })),
    executionArn: release.executionArn ?? null,
    executionUrl: executionConsoleUrl(release.executionArn) ?? null,
    ...(release.breakGlass ? { breakGlass: release.breakGlass } : {}),
    ...(person ? { initiatorPerson: person.kind === 'mapped' ? person.person : null } : {}),
    required: quorum.required,
    ...(quorum.excludeAuthors ? { excludeAuthors: true, authors: authorsFound(release, quorum.authorLabel) } : {}),
    // A Terraform stage that planned first (decision 049): the saved plan the approvers approve, by its sha256.
    ...(plan ? { plan: planView(plan) } : {}),
  });
  return { requested: true, expiresAt };
}

export const handler = lambdaHandler(run);
