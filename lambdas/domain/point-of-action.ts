/**
 * The controls that change with time, decided again at the moment a driver is about to run: the
 * release windows, blackouts and the global freeze (`describeWindowAt`, the same decision the window
 * gate takes when a stage starts). A forward deploy is held to them (break-glass bypasses them, named);
 * a rollback is never blocked by them, and its record names what it went past.
 * docs/decisions/022-point-of-action-checks.md
 */
import type { FreezeState } from '../ports';
import { describeWindowAt, type WindowDecision, type WindowSpec } from './windows';

export type ActionKind = 'deploy' | 'rollback';

/** Gate `window` at the point of action: the decision, its reason prefixed with the moment ("at deploy time: …"). */
export function windowAtAction(
  spec: WindowSpec | undefined,
  now: Date,
  ctx: { kind: ActionKind; breakGlass?: { reason: string } | null; freeze: FreezeState },
): WindowDecision {
  const bypass =
    ctx.kind === 'rollback'
      ? { kind: 'rollback' as const, reason: 'never blocked by windows or the freeze (it returns the stage to a known good digest)' }
      : ctx.breakGlass
        ? { kind: 'break-glass' as const, reason: ctx.breakGlass.reason }
        : null;
  const d = describeWindowAt(spec, now, bypass, ctx.freeze);
  return { ...d, reason: `at ${ctx.kind} time: ${d.reason}` };
}
