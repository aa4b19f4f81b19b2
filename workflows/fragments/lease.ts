/**
 * The stage lease: one release or rollback per (service, stage). Acquire, and when another
 * execution holds it, park until the holder frees it; free it when the stage is done.
 */
import { callbackTask, catchAll, catchOn, lambdaTask, type State, type States } from '../builder';

/** AcquireStageLease → `held` (the caller's Choice on `$.lease`) and WaitForStageLease, which loops back. */
export function acquireStageLease(held: string, onInternalError: string, comment?: string): States {
  return {
    AcquireStageLease: lambdaTask('StageLease', {
      Parameters: { action: 'acquire', 'releaseId.$': '$.release.releaseId', 'stage.$': '$.stage.name' },
      ResultPath: '$.lease',
      Catch: [catchAll(onInternalError)],
      Next: held,
      ...(comment ? { Comment: comment } : {}),
    }),
    WaitForStageLease: callbackTask('StageLease', {
      Comment:
        'Another release holds this stage: park until the holder frees the lease (freeing it wakes every waiter), then try again. Looks again by itself after an hour should a wake-up be lost.',
      TimeoutSeconds: 3600,
      ResultPath: null,
      Catch: [catchOn(['States.Timeout'], 'AcquireStageLease', null), catchAll(onInternalError)],
      Next: 'AcquireStageLease',
      Payload: { action: 'wait', 'releaseId.$': '$.release.releaseId', 'stage.$': '$.stage.name', timeoutSeconds: 3600 },
    }),
  };
}

/** Frees this execution's lease on the stage (waking its waiters). */
export function releaseStageLease(next: string, onInternalError: string): State {
  return lambdaTask('StageLease', {
    Parameters: { action: 'release', 'releaseId.$': '$.release.releaseId', 'stage.$': '$.stage.name' },
    ResultPath: null,
    Catch: [catchAll(onInternalError)],
    Next: next,
  });
}
