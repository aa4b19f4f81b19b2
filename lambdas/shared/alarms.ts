/**
 * Reading a stage's alarms for a decision (pre-deploy gate, bake start, bake poll, bake end, recovery).
 *
 * The CloudWatch client retries throttling and 5xx itself (`sdkClientConfig`, lambdas/adapters/retry.ts:
 * 3 attempts, standard mode); AccessDenied and every other refusal are not retried. Whatever error is
 * left after that is returned, not thrown: each caller turns it into a FAIL that names the alarms and
 * the error, at once (decision 018). Throwing would end in the workflow's internal-error path, or, in
 * the bake timer, in a bake that only its safety timeout ends.
 */
import type { AlarmReadFailure } from '../domain/gates';
import type { AlarmState, Deps } from '../ports';
import { logger } from './middleware';

export type AlarmRead = { readonly ok: true; readonly states: AlarmState[] } | { readonly ok: false; readonly error: AlarmReadFailure };

/** The error as a gate records it: its AWS name and message. */
export function awsErrorOf(e: unknown): AlarmReadFailure {
  if (e instanceof Error) return { name: e.name || 'Error', message: e.message };
  return { name: 'Error', message: String(e) };
}

/** DescribeAlarms of the stage's alarms; no call for a stage without alarms. */
export async function readStageAlarms(deps: Deps, alarms: readonly string[], context: { releaseId: string; stage: string; check: string }): Promise<AlarmRead> {
  if (alarms.length === 0) return { ok: true, states: [] };
  try {
    return { ok: true, states: await deps.alarms.describeAlarms(alarms) };
  } catch (e) {
    const error = awsErrorOf(e);
    logger.warn('could not read alarms', { ...context, alarms: [...alarms], error: error.name, message: error.message });
    return { ok: false, error };
  }
}
