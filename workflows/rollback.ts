/**
 * The rollback workflow: an operator's rollback of one stage to a chosen (or the last known good)
 * digest, with the target's image gates and, when forced, the stage approvers. The rollback itself
 * is the release workflow's stage rollback (workflows/fragments/rollback.ts).
 */
import { catchAll, catchOn, lambdaTask, states, type StateMachine } from './builder';
import { acquireStageLease, releaseStageLease } from './fragments/lease';
import { handleInternalError, requestApproval } from './fragments/record';
import { stageRollback } from './fragments/rollback';

export const rollbackWorkflow: StateMachine = {
  Comment:
    'Gantry operator rollback: return one stage to a digest that was promoted there before (default: the one before the digest now running). Refuses any digest never promoted in that stage.',
  StartAt: 'ValidateRollbackRequest',
  States: states(
    {
      ValidateRollbackRequest: lambdaTask('RollbackPrepare', {
        Parameters: {
          'input.$': '$',
          'executionArn.$': '$$.Execution.Id',
          'executionName.$': '$$.Execution.Name',
        },
        ResultPath: '$.release',
        Catch: [catchOn(['ValidationError', 'PolicyRefusedError'], 'RefuseRollback'), catchAll('RefuseRollback')],
        Next: 'BeginRollbackStage',
      }),
      RefuseRollback: {
        Type: 'Fail',
        Error: 'RollbackRefused',
        CausePath: '$.error.Cause',
        Comment: 'Nothing was deployed.',
      },
      BeginRollbackStage: lambdaTask('RecordStep', {
        Parameters: {
          action: 'begin-stage',
          'releaseId.$': '$.release.releaseId',
          stageIndex: 0,
        },
        ResultPath: '$.stage',
        Catch: [catchAll('HandleInternalError')],
        Next: 'CheckRollbackTarget',
      }),
      CheckRollbackTarget: lambdaTask('ImageGates', {
        Parameters: {
          'releaseId.$': '$.release.releaseId',
          'stage.$': '$.stage.name',
        },
        ResultPath: '$.gates',
        Catch: [catchAll('HandleInternalError')],
        Next: 'RollbackTargetVerdict',
        Comment:
          "The rollback target's image gates, as for a release (a CRITICAL finding or a revoked signing key found since it was promoted blocks it), except image.age: a known good digest is old by nature. With force in the input, a failing gate is recorded as a WARN that names the override, and the stage's approval (if it has one) is asked for before anything else.",
      }),
      RollbackTargetVerdict: {
        Type: 'Choice',
        Choices: [
          {
            Variable: '$.gates.verdict',
            StringEquals: 'PASS',
            Next: 'IsForcedRollbackApprovalNeeded',
          },
          {
            Variable: '$.gates.verdict',
            StringEquals: 'WAIT',
            Next: 'WaitForRollbackTargetScan',
          },
        ],
        Default: 'BlockRollback',
      },
      WaitForRollbackTargetScan: {
        Type: 'Wait',
        SecondsPath: '$.gates.waitSeconds',
        Next: 'CheckRollbackTarget',
        Comment: "The rollback target's scan is still running: look again.",
      },
      IsForcedRollbackApprovalNeeded: {
        Type: 'Choice',
        Comment: 'A forced rollback (a gate overridden) of a stage that requires an approval asks for it before it takes the stage.',
        Choices: [
          {
            And: [
              {
                Variable: '$.gates.overridden',
                IsPresent: true,
              },
              {
                Variable: '$.gates.overridden',
                BooleanEquals: true,
              },
              {
                Variable: '$.stage.approvalRequired',
                BooleanEquals: true,
              },
            ],
            Next: 'RequestApproval',
          },
        ],
        Default: 'AcquireStageLease',
      },
      RequestApproval: requestApproval(
        'A forced rollback asks the stage approvers (segregation of duties: never the operator who forced it). No decision within timeoutMinutes refuses the rollback.',
        [
          catchOn(['ApprovalRejected'], 'RejectRollback', '$.rejection'),
          catchOn(['States.Timeout'], 'RecordRollbackApprovalTimeout', '$.rejection'),
          catchAll('HandleInternalError'),
        ],
        'AcquireStageLease',
      ),
      RecordRollbackApprovalTimeout: lambdaTask('RecordStep', {
        Parameters: {
          action: 'approval-timeout',
          'releaseId.$': '$.release.releaseId',
          'stage.$': '$.stage.name',
        },
        ResultPath: null,
        Catch: [catchAll('HandleInternalError')],
        Next: 'RejectRollback',
      }),
      RejectRollback: lambdaTask('RecordStep', {
        Parameters: {
          action: 'reject-stage',
          'releaseId.$': '$.release.releaseId',
          'stage.$': '$.stage.name',
          'error.$': '$.rejection',
        },
        ResultPath: null,
        Catch: [catchAll('HandleInternalError')],
        Next: 'FinishRollback',
        Comment: 'An approver said no, or nobody decided in time: nothing is deployed to this stage.',
      }),
      BlockRollback: lambdaTask('RecordStep', {
        Parameters: {
          action: 'block-stage',
          'releaseId.$': '$.release.releaseId',
          'stage.$': '$.stage.name',
        },
        ResultPath: null,
        Catch: [catchAll('HandleInternalError')],
        Next: 'FinishRollback',
        Comment: 'The rollback target failed an image gate: nothing is deployed (start it again with force and a reason to override).',
      }),
    },
    acquireStageLease('IsStageLeaseHeld', 'HandleInternalError'),
    {
      IsStageLeaseHeld: {
        Type: 'Choice',
        Choices: [
          {
            Variable: '$.lease.acquired',
            BooleanEquals: true,
            Next: 'PlanRollback',
          },
        ],
        Default: 'WaitForStageLease',
      },
    },
    stageRollback({
      failure: { failure: { Error: 'OperatorRollback' } },
      onFinished: 'ReleaseStageLease',
      onInternalError: 'HandleInternalError',
      workflow: 'rollback',
    }),
    {
      ReleaseStageLease: releaseStageLease('FinishRollback', 'HandleInternalError'),
      FinishRollback: lambdaTask('RecordStep', {
        Parameters: {
          action: 'finish',
          'releaseId.$': '$.release.releaseId',
        },
        ResultPath: '$.final',
        Catch: [catchAll('HandleInternalError')],
        Next: 'DidRollbackSucceed',
      }),
      DidRollbackSucceed: {
        Type: 'Choice',
        Choices: [
          {
            Variable: '$.final.status',
            StringEquals: 'ROLLED_BACK',
            Next: 'RollbackSucceeded',
          },
        ],
        Default: 'RollbackDidNotSucceed',
      },
      RollbackSucceeded: {
        Type: 'Succeed',
      },
      RollbackDidNotSucceed: {
        Type: 'Fail',
        Error: 'RollbackNotSucceeded',
        CausePath: '$.final.summary',
      },
      HandleInternalError: handleInternalError('RollbackFailedInternally'),
      RollbackFailedInternally: {
        Type: 'Fail',
        Error: 'RollbackFailed',
        CausePath: '$.final.summary',
      },
    },
  ),
};
