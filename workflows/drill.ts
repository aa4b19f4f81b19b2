/**
 * The drill workflow (docs/decisions/052-rollback-drills.md): a rehearsed rollback of one non-production stage,
 * through the real rollback workflow twice — back to the previous last known good, then forward again to the digest
 * that was running — each run as a nested execution (`states:startExecution.sync:2`), then the figures recorded.
 */
import { catchAll, catchOn, lambdaTask, type StateMachine } from './builder';

/** A nested run of the rollback workflow, waited for; any end but SUCCEEDED goes to the record step. */
function rollbackLeg(leg: 'back' | 'forward', next: string, comment: string) {
  return {
    Type: 'Task',
    Resource: 'arn:aws:states:::states:startExecution.sync:2',
    Parameters: {
      StateMachineArn: '${RollbackStateMachineArn}',
      'Name.$': `$.drill.${leg}.name`,
      'Input.$': `$.drill.${leg}.input`,
    },
    ResultSelector: { 'status.$': '$.Status', 'executionArn.$': '$.ExecutionArn' },
    ResultPath: `$.${leg}`,
    // A StartExecution throttled or unanswered is retried: a start under the same name and input is the same execution.
    Retry: [{ ErrorEquals: ['StepFunctions.ThrottlingException', 'StepFunctions.SdkClientException'], IntervalSeconds: 2, MaxAttempts: 4, BackoffRate: 2 }],
    // A whole rollback (gates, deploy, recovery window): the rollback workflow's own waits bound it.
    TimeoutSeconds: 6 * 3600,
    Catch: [catchAll('RecordDrill', `$.${leg}Error`)],
    Next: next,
    Comment: comment,
  };
}

export const drillWorkflow: StateMachine = {
  Comment:
    'Gantry rollback drill: roll one non-production stage back to its previous last known good and forward again, through the rollback workflow, and record the time to restore. Refuses a production stage, a stage with a release or rollback in flight, and one with no previous last known good.',
  StartAt: 'PrepareDrill',
  States: {
    PrepareDrill: lambdaTask('DrillStep', {
      Parameters: {
        action: 'prepare',
        'input.$': '$',
        'executionArn.$': '$$.Execution.Id',
        'executionName.$': '$$.Execution.Name',
      },
      ResultPath: '$.drill',
      Catch: [catchOn(['ValidationError', 'PolicyRefusedError'], 'RefuseDrill'), catchAll('DrillFailedInternally')],
      Next: 'RollStageBack',
    }),
    RefuseDrill: {
      Type: 'Fail',
      Error: 'DrillRefused',
      CausePath: '$.error.Cause',
      Comment: 'Nothing was deployed.',
    },
    RollStageBack: rollbackLeg('back', 'RollStageForward', 'The rollback workflow returns the stage to the previous last known good (its gates, its deploy, its recovery check).'),
    RollStageForward: rollbackLeg('forward', 'RecordDrill', 'The rollback workflow returns the stage to the digest that was running before the drill.'),
    RecordDrill: lambdaTask('DrillStep', {
      Parameters: {
        action: 'finish',
        'drillId.$': '$.drill.drillId',
      },
      ResultPath: '$.final',
      Catch: [catchAll('DrillFailedInternally')],
      Next: 'DidDrillSucceed',
      Comment: 'Measures both legs from their records, records drill.recorded and the outcome, publishes Rollback Drilled.',
    }),
    DidDrillSucceed: {
      Type: 'Choice',
      Choices: [{ Variable: '$.final.status', StringEquals: 'SUCCEEDED', Next: 'DrillSucceeded' }],
      Default: 'DrillDidNotSucceed',
    },
    DrillSucceeded: { Type: 'Succeed' },
    DrillDidNotSucceed: {
      Type: 'Fail',
      Error: 'DrillNotSucceeded',
      CausePath: '$.final.reason',
    },
    DrillFailedInternally: {
      Type: 'Fail',
      Error: 'DrillFailed',
      Comment:
        "An internal error: the legs keep their own complete records; the reconciler closes the drill record FAILED on this execution's status change (no Rollback Drilled).",
    },
  },
};
