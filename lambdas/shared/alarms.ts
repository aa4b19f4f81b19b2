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
import { alarmIndexKey, distinctScopes, isHomeScope, roleSessionName } from '../domain/cluster-scope';
import type { AlarmState, Deps } from '../ports';
import { alarmsIn } from './clusters';
import { logger } from './middleware';

export type AlarmRead = { readonly ok: true; readonly states: AlarmState[] } | { readonly ok: false; readonly error: AlarmReadFailure };

/** The error as a gate records it: its AWS name and message. */
export function awsErrorOf(e: unknown): AlarmReadFailure {
  if (e instanceof Error) return { name: e.name || 'Error', message: e.message };
  return { name: 'Error', message: String(e) };
}

/**
 * DescribeAlarms of the stage's alarms; no call for a stage without alarms. With `clusters` (the stage's cluster
 * keys), the alarms are read in each cluster's account and region (readClusterAlarms); without, at home as before.
 */
export async function readStageAlarms(
  deps: Deps,
  alarms: readonly string[],
  context: { releaseId: string; stage: string; check: string; clusters?: readonly string[] },
): Promise<AlarmRead> {
  if (alarms.length === 0) return { ok: true, states: [] };
  const { clusters, ...logContext } = context;
  try {
    return { ok: true, states: clusters ? await readClusterAlarms(deps, clusters, alarms, context.releaseId) : await deps.alarms.describeAlarms(alarms) };
  } catch (e) {
    const error = awsErrorOf(e);
    logger.warn('could not read alarms', { ...logContext, alarms: [...alarms], error: error.name, message: error.message });
    return { ok: false, error };
  }
}

const SEVERITY: Record<AlarmState['state'], number> = { OK: 0, INSUFFICIENT_DATA: 1, ALARM: 2 };

/**
 * THE alarm read of issue 18: the named alarms, read in the account and region of each listed cluster (distinct
 * scopes once; the home scope through `deps.alarms`, exactly as before). An alarm is healthy only if it is healthy
 * everywhere it exists: the state reported for a name is its worst (ALARM, then INSUFFICIENT_DATA, then OK), with
 * the scope it was read in; a name that exists in no scope is absent ("does not exist"). Throws what a read throws.
 */
export async function readClusterAlarms(deps: Deps, clusters: readonly string[], alarms: readonly string[], releaseId: string): Promise<AlarmState[]> {
  const scopes = distinctScopes(deps.config, clusters);
  const worst = new Map<string, AlarmState>();
  for (const scope of scopes) {
    const home = isHomeScope(scope, deps.runtime.region);
    const states = await alarmsIn(deps, scope, roleSessionName(releaseId)).describeAlarms(alarms);
    for (const st of states) {
      const placed: AlarmState = home ? st : { ...st, ...(scope.account ? { account: scope.account } : {}), region: scope.region };
      const before = worst.get(st.name);
      if (!before || SEVERITY[placed.state] > SEVERITY[before.state]) worst.set(st.name, placed);
    }
  }
  return [...new Set(alarms)].flatMap((n) => {
    const s = worst.get(n);
    return s ? [s] : [];
  });
}

/**
 * The keys a BAKE token watching `alarms` of these clusters is indexed under (`TokenRecord.alarms`): each alarm in
 * each cluster's scope, `alarmIndexKey` (the plain name at home: tokens stored before issue 18 keep their keys).
 */
export function bakeAlarmKeys(deps: Deps, clusters: string | readonly string[], alarms: readonly string[]): string[] {
  const keys = distinctScopes(deps.config, typeof clusters === 'string' ? [clusters] : clusters).flatMap((scope) =>
    alarms.map((a) => alarmIndexKey(scope, a, deps.runtime.region)),
  );
  return [...new Set(keys)];
}
