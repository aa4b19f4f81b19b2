/**
 * The controls that change with time, decided again at the moment a driver is about to run: the
 * release windows, blackouts and the global freeze (`describeWindowAt`, the same decision the window
 * gate takes when a stage starts). A forward deploy is held to them (break-glass bypasses them, named);
 * a rollback is never blocked by them, and its record names what it went past.
 * A promotion's first stage (decision 054) also takes gate promotion.previous-stage again (`previousStageAtAction`).
 * docs/decisions/022-point-of-action-checks.md
 */
import type { FreezeState } from '../ports';
import { previousStageVerdict, type PromotionFacts, type PromotionVerdict } from './promotion';
import { describeWindowAt, type WindowDecision, type WindowSpec } from './windows';

export type ActionKind = 'deploy' | 'rollback';

/** Gate `window` at the point of action: the decision, its reason prefixed with the moment ("at deploy time: …"). */
export function windowAtAction(spec: WindowSpec | undefined, now: Date, ctx: { kind: ActionKind; breakGlass?: { reason: string } | null; freeze: FreezeState }): WindowDecision {
  const bypass =
    ctx.kind === 'rollback'
      ? { kind: 'rollback' as const, reason: 'never blocked by windows or the freeze (it returns the stage to a known good digest)' }
      : ctx.breakGlass
        ? { kind: 'break-glass' as const, reason: ctx.breakGlass.reason }
        : null;
  const d = describeWindowAt(spec, now, bypass, ctx.freeze);
  return { ...d, reason: `at ${ctx.kind} time: ${d.reason}` };
}

/**
 * Whether the stage's approval still stands at the point of action. It stands unless the stage's
 * `approval.validForMinutes` has passed since it was given. Undefined when there is nothing to check.
 * With several approvals (decision 050) it counts from the FIRST of them: every approval the deploy
 * rests on must still be within its validity, so the oldest decides.
 */
export function approvalAtAction(
  validForMinutes: number | undefined,
  approval: { decision: string; principal?: string; at: string } | undefined,
  now: Date,
  approvals?: ReadonlyArray<{ decision: string; principal: string; at: string }>,
): { result: 'PASS' | 'FAIL'; reason: string } | undefined {
  if (validForMinutes === undefined || !approval || approval.decision !== 'APPROVED') return undefined;
  const accepted = (approvals ?? []).filter((a) => a.decision === 'APPROVED');
  const first = accepted.length > 1 ? accepted.reduce((a, b) => (Date.parse(b.at) < Date.parse(a.at) ? b : a)) : undefined;
  const since = first?.at ?? approval.at;
  const age = Math.floor((now.getTime() - Date.parse(since)) / 60_000);
  const by = first
    ? `${accepted.length} approvals (the first by ${first.principal} at ${first.at}, the last by ${approval.principal ?? 'an approver'} at ${approval.at})`
    : `approval by ${approval.principal ?? 'an approver'} at ${approval.at}`;
  return age > validForMinutes
    ? {
        result: 'FAIL',
        reason: `at deploy time: ${by} expired (valid for ${validForMinutes} minutes, ${first ? 'the first ' : ''}given ${age} minutes ago); ask again with a new release`,
      }
    : { result: 'PASS', reason: `at deploy time: ${by} still valid (${age} of ${validForMinutes} minutes)` };
}

/**
 * Gate `promotion.previous-stage` at the point of action (decision 054): the rule the release was prepared with
 * (lambdas/domain/promotion.ts), taken again on what the ledger says now; the reason says when.
 */
export function previousStageAtAction(facts: PromotionFacts): PromotionVerdict {
  const v = previousStageVerdict(facts);
  return { ...v, reason: `at deploy time: ${v.reason}` };
}
