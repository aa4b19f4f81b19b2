/**
 * The controls that change with time, decided again at the moment a driver is about to run: the
 * release windows, blackouts and the global freeze. A forward deploy is held to them (break-glass
 * bypasses them, named); a rollback is never blocked by them, and its record says what it overrode.
 * docs/decisions/022-point-of-action-checks.md
 */
import type { FreezeState } from '../ports';
import { evaluateWindow, type WindowSpec } from './windows';

export type ActionKind = 'deploy' | 'rollback';

export type WindowAtAction =
  | { verdict: 'OPEN'; result: 'PASS' | 'WARN'; reason: string }
  | { verdict: 'WAIT'; result: 'FAIL'; until: string; reason: string }
  | { verdict: 'BLOCK'; result: 'FAIL'; reason: string };

export function freezeWords(freeze: FreezeState): string {
  return `global freeze since ${freeze.at ?? 'an unknown time'} by ${freeze.principal ?? 'an unknown principal'}: ${freeze.reason ?? 'no reason given'}`;
}

/** Gate `window` at the point of action. */
export function windowAtAction(
  spec: WindowSpec | undefined,
  now: Date,
  ctx: { kind: ActionKind; breakGlass?: { reason: string } | null; freeze: FreezeState },
): WindowAtAction {
  const at = `at ${ctx.kind} time`;
  if (ctx.kind === 'rollback') {
    const notes: string[] = [];
    if (ctx.freeze.on) notes.push(freezeWords(ctx.freeze));
    const w = evaluateWindow(spec, now, null);
    if (w.verdict !== 'OPEN') notes.push(w.reason.replace(/; (waiting until|no opening within).*$/, ''));
    return notes.length
      ? { verdict: 'OPEN', result: 'WARN', reason: `${at}: rollback during ${notes.join('; and ')}; not blocked (a rollback returns the stage to a known good digest)` }
      : { verdict: 'OPEN', result: 'PASS', reason: `${at}: no freeze; ${w.reason}` };
  }
  if (ctx.freeze.on && !ctx.breakGlass) return { verdict: 'BLOCK', result: 'FAIL', reason: `${at}: ${freezeWords(ctx.freeze)}` };
  const w = evaluateWindow(spec, now, ctx.breakGlass ?? null);
  if (w.verdict === 'WAIT') return { verdict: 'WAIT', result: 'FAIL', until: w.until, reason: `${at}: ${w.reason}` };
  if (w.verdict === 'BLOCK') return { verdict: 'BLOCK', result: 'FAIL', reason: `${at}: ${w.reason}` };
  const bypassedFreeze = ctx.freeze.on && ctx.breakGlass ? `; ${freezeWords(ctx.freeze)} — bypassed by break-glass` : '';
  return { verdict: 'OPEN', result: ctx.breakGlass ? 'WARN' : 'PASS', reason: `${at}: ${w.reason}${bypassedFreeze}` };
}
