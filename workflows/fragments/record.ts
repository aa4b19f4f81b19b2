/** Steps every workflow ends with: the internal-error handler and the approval request. */
import { callbackTask, lambdaTask, type Catcher, type State } from '../builder';

/**
 * Anything unexpected: close the record as FAILED and free this execution's leases, then `next`
 * (the workflow's Fail state). Not caught: if it fails, the reconciler closes the record.
 */
export function handleInternalError(next: string, comment?: string): State {
  return lambdaTask('RecordStep', {
    ...(comment ? { Comment: comment } : {}),
    Parameters: { action: 'internal-error', 'releaseId.$': '$.release.releaseId', 'error.$': '$.error' },
    ResultPath: '$.final',
    Next: next,
  });
}

/** Asks the stage's approvers and waits for the decision (or the stage's approval timeout). */
export function requestApproval(comment: string, catchers: Catcher[], next: string): State {
  return callbackTask('ApprovalRequest', {
    Comment: comment,
    TimeoutSecondsPath: '$.stage.approvalTimeoutSeconds',
    ResultPath: '$.approval',
    Catch: catchers,
    Next: next,
    Payload: { 'releaseId.$': '$.release.releaseId', 'stage.$': '$.stage.name', 'timeoutSeconds.$': '$.stage.approvalTimeoutSeconds' },
  });
}
