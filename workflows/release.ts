/**
 * The release workflow: verify one image digest and promote it through the service's stages in
 * order (lease, window, image gates, approval, deploy, bake), rolling a stage back when it goes bad.
 */
import { callbackTask, catchAll, catchOn, lambdaTask, states, type StateMachine } from './builder';
import { chooseDriverState, deployChain } from './fragments/deploy';
import { acquireStageLease, releaseStageLease } from './fragments/lease';
import { handleInternalError, requestApproval } from './fragments/record';
import { stageRollback } from './fragments/rollback';
import { deployWaveMap } from './fragments/waves';
import { APPLY_SAVED_PLAN_RULE, PLAN_FIRST_RULE, terraformPlanChain } from './fragments/terraform-plan';

/** What ends a stage's wait for its approval: a rejection, the timeout, an operator rollback taking the stage, anything else. */
const APPROVAL_CATCHERS = () => [
  catchOn(['ApprovalRejected'], 'RejectStage', '$.rejection'),
  catchOn(['States.Timeout'], 'RecordApprovalTimeout', '$.rejection'),
  catchOn(['OperatorRollback'], 'RecordPreemption', '$.preemption'),
  catchAll('HandleInternalError'),
];

export const releaseWorkflow: StateMachine = {
  Comment:
    "Gantry release: verify one image digest and promote it through the service's stages in order, baking each against its alarms and rolling a stage back to its last known good digest when it goes bad. JSONPath only. Every decision is written to the ledger by the tasks.",
  StartAt: 'ValidateAndStartRelease',
  States: states(
    {
      ValidateAndStartRelease: lambdaTask('PrepareRelease', {
        Comment:
          'Validates the input against the release input contract (docs/contracts.md §2) (a bad input fails here, naming the field, and nothing is written), resolves a tag to its digest once, records Release Started.',
        Parameters: {
          'input.$': '$',
          'executionArn.$': '$$.Execution.Id',
          'executionName.$': '$$.Execution.Name',
        },
        ResultPath: '$.release',
        Catch: [catchOn(['ValidationError'], 'RejectInvalidInput'), catchAll('FailWithoutRecord')],
        Next: 'InitialiseStageCursor',
      }),
      RejectInvalidInput: {
        Type: 'Fail',
        Error: 'ValidationError',
        CausePath: '$.error.Cause',
        Comment: 'The input did not validate; nothing was written or deployed.',
      },
      FailWithoutRecord: {
        Type: 'Fail',
        Error: 'ReleaseStartFailed',
        CausePath: '$.error.Cause',
      },
      InitialiseStageCursor: {
        Type: 'Pass',
        Parameters: {
          index: 0,
          'count.$': '$.release.stageCount',
        },
        ResultPath: '$.cursor',
        Next: 'HasNextStage',
      },
      HasNextStage: {
        Type: 'Choice',
        Comment: 'Stages run strictly in order; a stage starts only after the previous one was promoted.',
        Choices: [
          {
            Variable: '$.cursor.index',
            NumericLessThanPath: '$.cursor.count',
            Next: 'BeginStage',
          },
        ],
        Default: 'FinishRelease',
      },
      BeginStage: lambdaTask('RecordStep', {
        Parameters: {
          action: 'begin-stage',
          'releaseId.$': '$.release.releaseId',
          'stageIndex.$': '$.cursor.index',
        },
        ResultPath: '$.stage',
        Catch: [catchAll('HandleInternalError')],
        Next: 'AcquireStageLease',
        Comment: 'Loads the stage policy from the config and the stage pointer (running and last known good digests) before anything changes.',
      }),
    },
    acquireStageLease('IsStageLeaseHeld', 'HandleInternalError', 'One release per (service, stage): a conditional write owned by this execution.'),
    {
      IsStageLeaseHeld: {
        Type: 'Choice',
        Comment: 'A newer digest already running in the stage supersedes this release: an older digest is never deployed over it.',
        Choices: [
          {
            Variable: '$.lease.superseded',
            IsPresent: true,
            Next: 'ReleaseLeaseAfterFailure',
          },
          {
            Variable: '$.lease.acquired',
            BooleanEquals: true,
            Next: 'CheckReleaseWindow',
          },
        ],
        Default: 'WaitForStageLease',
      },
      CheckReleaseWindow: lambdaTask('WindowGate', {
        Parameters: {
          'releaseId.$': '$.release.releaseId',
          'stage.$': '$.stage.name',
        },
        ResultPath: '$.window',
        Catch: [catchAll('HandleInternalError')],
        Next: 'ReleaseWindowVerdict',
        Comment: "Gate window: the global freeze, release windows and blackouts in the stage's time zone. Break-glass bypasses these only.",
      }),
      ReleaseWindowVerdict: {
        Type: 'Choice',
        Choices: [
          {
            Variable: '$.window.verdict',
            StringEquals: 'PASS',
            Next: 'RunImageGates',
          },
          {
            Variable: '$.window.verdict',
            StringEquals: 'WAIT',
            Next: 'WaitForReleaseWindow',
          },
        ],
        Default: 'BlockStage',
      },
      WaitForReleaseWindow: {
        Type: 'Wait',
        TimestampPath: '$.window.until',
        Comment: 'Outside the release window (policy: wait): resume at the next allowed moment.',
        Next: 'CheckReleaseWindow',
      },
      RunImageGates: lambdaTask('ImageGates', {
        Parameters: {
          'releaseId.$': '$.release.releaseId',
          'stage.$': '$.stage.name',
        },
        ResultPath: '$.gates',
        Catch: [catchAll('HandleInternalError')],
        Next: 'ImageGatesVerdict',
        Comment:
          'image.* gates on the digest resolved at the start. While a scan is still running (up to scanWaitMinutes): WAIT_FOR_SCAN_EVENT the first time, WAIT (poll) after a wake-up that found it unfinished.',
      }),
      ImageGatesVerdict: {
        Type: 'Choice',
        Choices: [
          {
            Variable: '$.gates.verdict',
            StringEquals: 'PASS',
            Next: 'NeedsApproval',
          },
          {
            Variable: '$.gates.verdict',
            StringEquals: 'WAIT_FOR_SCAN_EVENT',
            Next: 'WaitForImageScanEvent',
          },
          {
            Variable: '$.gates.verdict',
            StringEquals: 'WAIT',
            Next: 'WaitForImageScan',
          },
        ],
        Default: 'BlockStage',
      },
      WaitForImageScanEvent: callbackTask('ImageGates', {
        Comment:
          "Event-driven scan wait (decision 040): the token is stored against the image; ECR's ECR Image Scan event or Inspector's Inspector2 Scan event wakes it (scan-watch), and the registration completes it itself when the scan already ended. The timeout is what is left of scanWaitMinutes. Woken or timed out, the image gates run once more and decide.",
        TimeoutSecondsPath: '$.gates.timeoutSeconds',
        ResultPath: null,
        Catch: [catchOn(['States.Timeout'], 'RunImageGates', null), catchAll('HandleInternalError')],
        Next: 'RunImageGates',
        Payload: {
          action: 'await-scan',
          'releaseId.$': '$.release.releaseId',
          'stage.$': '$.stage.name',
          'timeoutSeconds.$': '$.gates.timeoutSeconds',
        },
      }),
      WaitForImageScan: {
        Type: 'Wait',
        Comment: 'Woken by a scan event while the scan is still unfinished (a platform of a multi-arch image, a late read): look again every 30 s until scanWaitMinutes.',
        SecondsPath: '$.gates.waitSeconds',
        Next: 'RunImageGates',
      },
      NeedsApproval: {
        Type: 'Choice',
        Choices: [
          // A Terraform stage with an approval plans first, and its approvers approve that plan (decision 049).
          PLAN_FIRST_RULE,
          {
            Variable: '$.stage.approvalRequired',
            BooleanEquals: true,
            Next: 'RequestApproval',
          },
        ],
        Default: 'StartDeployCheck',
      },
      RequestApproval: requestApproval(
        "Asks the stage's approvers (Approval Requested, with the gate results). The approval API records the decision; segregation of duties: the initiator never approves. No decision within timeoutMinutes rejects.",
        APPROVAL_CATCHERS(),
        'StartDeployCheck',
      ),
      RecordApprovalTimeout: lambdaTask('RecordStep', {
        Parameters: {
          action: 'approval-timeout',
          'releaseId.$': '$.release.releaseId',
          'stage.$': '$.stage.name',
        },
        ResultPath: null,
        Catch: [catchAll('HandleInternalError')],
        Next: 'RejectStage',
      }),
      RejectStage: lambdaTask('RecordStep', {
        Parameters: {
          action: 'reject-stage',
          'releaseId.$': '$.release.releaseId',
          'stage.$': '$.stage.name',
          'error.$': '$.rejection',
        },
        ResultPath: null,
        Catch: [catchAll('HandleInternalError')],
        Next: 'ReleaseLeaseAfterFailure',
        Comment: 'An approver said no, or nobody decided in time: nothing is deployed to this stage.',
      }),
      RecordPreemption: lambdaTask('RecordStep', {
        Parameters: {
          action: 'preempted',
          'releaseId.$': '$.release.releaseId',
          'stage.$': '$.stage.name',
        },
        ResultPath: null,
        Catch: [catchAll('HandleInternalError')],
        Next: 'ReleaseLeaseAfterFailure',
        Comment: 'An operator rollback took the stage while it waited for its approval: the stage ends here, nothing deployed.',
      }),
      StartDeployCheck: {
        Type: 'Pass',
        Comment: 'The point of action: the controls that can change while a release waits are checked again right before the driver runs.',
        Result: {
          attempt: 0,
        },
        ResultPath: '$.deployCheck',
        Next: 'ConfirmDeploy',
      },
      ConfirmDeploy: lambdaTask('DeployCheck', {
        Comment:
          'Immediately before the deploy: the lease is still ours (fencing token), no newer digest supersedes this one, the window/blackout/freeze allow it now (gate window), the alarms are healthy now (gate alarms.pre-deploy); then the deploy is claimed on the lease.',
        Parameters: {
          'releaseId.$': '$.release.releaseId',
          'stage.$': '$.stage.name',
          'attempt.$': '$.deployCheck.attempt',
        },
        ResultPath: '$.deployCheck',
        Catch: [catchAll('HandleInternalError')],
        Next: 'DeployCheckVerdict',
      }),
      DeployCheckVerdict: {
        Type: 'Choice',
        Choices: [
          // A stage that planned first applies its approved saved plan (decision 049).
          APPLY_SAVED_PLAN_RULE,
          {
            // A stage with waves (decision 044) takes the wave loop; every other stage the states it always ran.
            And: [
              { Variable: '$.deployCheck.verdict', StringEquals: 'PASS' },
              { Variable: '$.stage.waveCount', IsPresent: true },
            ],
            Next: 'RecordWavesDeployStarted',
          },
          {
            Variable: '$.deployCheck.verdict',
            StringEquals: 'PASS',
            Next: 'RecordDeployStarted',
          },
          {
            Variable: '$.deployCheck.verdict',
            StringEquals: 'WAIT',
            Next: 'WaitForDeployWindow',
          },
          {
            Variable: '$.deployCheck.verdict',
            StringEquals: 'BLOCK',
            Next: 'BlockStage',
          },
        ],
        Default: 'ReleaseLeaseAfterFailure',
        Comment: 'SUPERSEDED (a newer digest) and LEASE_LOST (an operator rollback took the stage) are already recorded on the stage.',
      },
      WaitForDeployWindow: {
        Type: 'Wait',
        TimestampPath: '$.deployCheck.until',
        Comment: 'The window closed while the release waited (policy: wait): resume at the next opening and check everything again.',
        Next: 'ConfirmDeploy',
      },
      RecordDeployStarted: lambdaTask('RecordStep', {
        Parameters: {
          action: 'deploy-started',
          'releaseId.$': '$.release.releaseId',
          'stage.$': '$.stage.name',
        },
        ResultPath: null,
        Catch: [catchAll('HandleInternalError')],
        Next: chooseDriverState('deploy'),
      }),
    },
    {
      RecordWavesDeployStarted: lambdaTask('RecordStep', {
        Comment: "A stage with waves: the stage's deploy starts (its clusters' runs follow, wave by wave).",
        Parameters: {
          action: 'deploy-started',
          'releaseId.$': '$.release.releaseId',
          'stage.$': '$.stage.name',
        },
        ResultPath: null,
        Catch: [catchAll('HandleInternalError')],
        Next: 'InitialiseWaveCursor',
      }),
      InitialiseWaveCursor: {
        Type: 'Pass',
        Parameters: { index: 1 },
        ResultPath: '$.waveCursor',
        Next: 'BeginWave',
      },
      BeginWave: lambdaTask('RecordStep', {
        Comment: "The wave's targets: each cluster key with its own driver environment (validated values only).",
        Parameters: {
          action: 'begin-wave',
          'releaseId.$': '$.release.releaseId',
          'stage.$': '$.stage.name',
          'wave.$': '$.waveCursor.index',
        },
        ResultPath: '$.wave',
        Catch: [catchAll('CarryErrorToRollback')],
        Next: 'DeployWave',
      }),
      DeployWave: deployWaveMap(
        "The wave's clusters at once, each with the stage's driver; a cluster that fails does not stop the others (the wave ends when every cluster has).",
        'FinishWave',
      ),
      FinishWave: lambdaTask('RecordStep', {
        Comment:
          "From the ledger: the wave SUCCEEDED when every cluster's deploy did (wave.finished). One failed cluster fails the wave, and the stage rolls back every cluster it touched.",
        Parameters: {
          action: 'finish-wave',
          'releaseId.$': '$.release.releaseId',
          'stage.$': '$.stage.name',
          'wave.$': '$.waveCursor.index',
        },
        ResultPath: '$.waveOutcome',
        Catch: [catchAll('CarryErrorToRollback')],
        Next: 'WaveVerdict',
      }),
      WaveVerdict: {
        Type: 'Choice',
        Choices: [
          { Variable: '$.waveOutcome.result', StringEquals: 'FAILED', Next: 'CarryWaveFailure' },
          { Variable: '$.waveOutcome.last', BooleanEquals: true, Next: 'RecordWavesDeployed' },
        ],
        Comment:
          "Between two waves, always a wave bake: waveBakeMinutes 0 is still the bake's check of the stage's alarms in every cluster's account (a firing alarm stops the next wave), with no schedule.",
        Default: 'BakeWave',
      },
      CarryWaveFailure: {
        Type: 'Pass',
        Parameters: { Error: 'DeployFailed', 'Cause.$': '$.waveOutcome.message' },
        ResultPath: '$.failure',
        Next: 'PlanRollback',
      },
      BakeWave: callbackTask('BakeRegister', {
        Comment:
          "The wave bake (decision 044): waveBakeMinutes on the stage's alarms, as a phase of the stage's bake (phase wave-<k>); an alarm rolls back every cluster touched so far. The timeout is only a safety net.",
        TimeoutSecondsPath: '$.waveOutcome.bakeTimeoutSeconds',
        ResultPath: null,
        Catch: [catchOn(['AlarmBreached', 'BakeFailed', 'States.Timeout', 'OperatorRollback'], 'PlanRollback', '$.failure'), catchAll('CarryErrorToRollback')],
        Next: 'AdvanceWave',
        Payload: {
          'releaseId.$': '$.release.releaseId',
          'stage.$': '$.stage.name',
          'timeoutSeconds.$': '$.waveOutcome.bakeTimeoutSeconds',
          'phase.$': '$.waveOutcome.phase',
        },
      }),
      AdvanceWave: {
        Type: 'Pass',
        Parameters: { 'index.$': 'States.MathAdd($.waveCursor.index, 1)' },
        ResultPath: '$.waveCursor',
        Next: 'BeginWave',
      },
      RecordWavesDeployed: lambdaTask('RecordStep', {
        Comment: "Every wave deployed: the stage runs the release's digest on every cluster; the stage's own bake follows, as for any stage.",
        Parameters: {
          action: 'waves-deployed',
          'releaseId.$': '$.release.releaseId',
          'stage.$': '$.stage.name',
        },
        ResultPath: null,
        Catch: [catchAll('CarryErrorToRollback')],
        Next: 'ChooseBakeMode',
      }),
    },
    terraformPlanChain({
      approvalCatchers: APPROVAL_CATCHERS(),
      confirmDeploy: 'ConfirmDeploy',
      onBlocked: 'BlockStage',
      onDeployed: 'RecordStageDeployed',
      onFailed: 'RecordDeployFailed',
      onInternalError: 'HandleInternalError',
    }),
    deployChain({
      kind: 'deploy',
      workflow: 'release',
      resultPath: '$.deploy',
      envPath: '$.stage.deployEnv',
      onDeployed: 'RecordStageDeployed',
      onFailed: 'RecordDeployFailed',
      onInternalError: 'HandleInternalError',
      onCanaryAborted: 'RecordCanaryAborted',
    }),
    {
      RecordStageDeployed: lambdaTask('RecordStep', {
        Parameters: {
          action: 'deployed',
          'releaseId.$': '$.release.releaseId',
          'stage.$': '$.stage.name',
          'buildId.$': '$.deploy.buildId',
          'result.$': '$.deploy',
        },
        ResultPath: null,
        Catch: [catchAll('CarryErrorToRollback')],
        Next: 'ChooseBakeMode',
      }),
      ChooseBakeMode: {
        Type: 'Choice',
        Comment: 'Event-driven bake by default; a polling bake for accounts that cannot route alarm events to Gantry.',
        Choices: [
          {
            Variable: '$.stage.bakeMode',
            StringEquals: 'poll',
            Next: 'PollBakeAlarms',
          },
        ],
        Default: 'BakeStage',
      },
      PollBakeAlarms: lambdaTask('AlarmGate', {
        Parameters: {
          action: 'bake-poll',
          'releaseId.$': '$.release.releaseId',
          'stage.$': '$.stage.name',
        },
        ResultPath: '$.poll',
        Catch: [catchAll('CarryErrorToRollback')],
        Next: 'PollBakeVerdict',
        Comment: 'Polling bake: DescribeAlarms now; CONTINUE until the bake time is up.',
      }),
      PollBakeVerdict: {
        Type: 'Choice',
        Choices: [
          {
            Variable: '$.poll.verdict',
            StringEquals: 'CONTINUE',
            Next: 'WaitBakePollInterval',
          },
          {
            Variable: '$.poll.verdict',
            StringEquals: 'PASS',
            Next: 'PromoteStage',
          },
        ],
        Default: 'CarryBakeFailure',
      },
      WaitBakePollInterval: {
        Type: 'Wait',
        SecondsPath: '$.poll.waitSeconds',
        Next: 'PollBakeAlarms',
      },
      CarryBakeFailure: {
        Type: 'Pass',
        Parameters: {
          'Error.$': '$.poll.error',
          'Cause.$': '$.poll.cause',
        },
        ResultPath: '$.failure',
        Next: 'PlanRollback',
      },
      CarryErrorToRollback: {
        Type: 'Pass',
        Comment:
          'Fail safe after a deploy: an unexpected error once a driver has run (recording it, setting up or running the bake) rolls the stage back, with the error recorded, rather than leave an unbaked digest running.',
        Parameters: {
          Error: 'InternalErrorAfterDeploy',
          'Cause.$': 'States.JsonToString($.error)',
        },
        ResultPath: '$.failure',
        Next: 'PlanRollback',
      },
      BakeStage: callbackTask('BakeRegister', {
        Comment:
          "Event-driven bake: the token is stored against the stage's alarms; an ALARM event fails it at once (AlarmBreached), a one-time schedule ends it after bakeMinutes with a final alarm check. The timeout is only a safety net.",
        TimeoutSecondsPath: '$.stage.bakeTimeoutSeconds',
        ResultPath: '$.bake',
        Catch: [catchOn(['AlarmBreached', 'BakeFailed', 'States.Timeout', 'OperatorRollback'], 'PlanRollback', '$.failure'), catchAll('CarryErrorToRollback')],
        Next: 'PromoteStage',
        Payload: {
          'releaseId.$': '$.release.releaseId',
          'stage.$': '$.stage.name',
          'timeoutSeconds.$': '$.stage.bakeTimeoutSeconds',
        },
      }),
      PromoteStage: lambdaTask('RecordStep', {
        Parameters: {
          action: 'promote',
          'releaseId.$': '$.release.releaseId',
          'stage.$': '$.stage.name',
        },
        ResultPath: null,
        Catch: [catchOn(['StagePreempted'], 'ReleaseLeaseAfterFailure', '$.preemption'), catchAll('HandleInternalError')],
        Next: 'ReleaseStageLease',
        Comment: "The digest becomes the stage's last known good.",
      }),
      ReleaseStageLease: releaseStageLease('AdvanceToNextStage', 'HandleInternalError'),
      AdvanceToNextStage: {
        Type: 'Pass',
        Parameters: {
          'index.$': 'States.MathAdd($.cursor.index, 1)',
          'count.$': '$.cursor.count',
        },
        ResultPath: '$.cursor',
        Next: 'HasNextStage',
      },
      RecordCanaryAborted: lambdaTask('RecordStep', {
        Parameters: {
          action: 'canary-aborted',
          'releaseId.$': '$.release.releaseId',
          'stage.$': '$.stage.name',
          'step.$': '$.canaryAbort.step',
          'error.$': '$.canaryAbort.error',
          'cleanupError.$': '$.canaryAbort.cleanup',
        },
        ResultPath: null,
        Catch: [catchAll('HandleInternalError')],
        Next: 'ReleaseLeaseAfterFailure',
        Comment:
          'A canary aborted at a step, its traffic already back on the stable and the canary scaled to 0: records the step, closes the stage ROLLED_BACK (the stable Deployment never changed; ROLLBACK_FAILED when taking the canary back failed) and frees the lease. No rollback deploy: nothing to undo.',
      }),
      RecordDeployFailed: lambdaTask('RecordStep', {
        Parameters: {
          action: 'deploy-failed',
          'releaseId.$': '$.release.releaseId',
          'stage.$': '$.stage.name',
          'error.$': '$.deployError',
        },
        ResultPath: '$.failure',
        Catch: [catchAll('CarryErrorToRollback')],
        Next: 'PlanRollback',
      }),
    },
    stageRollback({
      failure: { 'failure.$': '$.failure' },
      onFinished: 'ReleaseLeaseAfterFailure',
      onInternalError: 'HandleInternalError',
      comments: {
        planRollback: "Picks the stage's last known good digest. With none, the stage ends FAILED and the release with it.",
        recordDeployed: 'The rollback deploy succeeded: the stage runs the last known good digest again (recovery time ends here).',
        waitForRecovery: 'Give the stage a short recovery window before checking its alarms.',
        checkRecovery: "Whether the stage's alarms recovered after the rollback (recorded; the rollback itself already succeeded).",
      },
      workflow: 'release',
    }),
    {
      BlockStage: lambdaTask('RecordStep', {
        Parameters: {
          action: 'block-stage',
          'releaseId.$': '$.release.releaseId',
          'stage.$': '$.stage.name',
        },
        ResultPath: null,
        Catch: [catchAll('HandleInternalError')],
        Next: 'ReleaseLeaseAfterFailure',
        Comment: 'A gate refused: nothing was deployed to this stage and no later stage starts.',
      }),
      ReleaseLeaseAfterFailure: releaseStageLease('FinishRelease', 'HandleInternalError'),
      FinishRelease: lambdaTask('RecordStep', {
        Parameters: {
          action: 'finish',
          'releaseId.$': '$.release.releaseId',
        },
        ResultPath: '$.final',
        Catch: [catchAll('HandleInternalError')],
        Next: 'DidReleaseSucceed',
        Comment: 'Derives the release status from its stages, records Release Finished.',
      }),
      DidReleaseSucceed: {
        Type: 'Choice',
        Choices: [
          {
            Variable: '$.final.status',
            StringEquals: 'SUCCEEDED',
            Next: 'ReleaseSucceeded',
          },
        ],
        Default: 'ReleaseDidNotSucceed',
      },
      ReleaseSucceeded: {
        Type: 'Succeed',
      },
      ReleaseDidNotSucceed: {
        Type: 'Fail',
        Error: 'ReleaseNotSucceeded',
        CausePath: '$.final.summary',
        Comment: 'The release ended ROLLED_BACK, BLOCKED, REJECTED, FAILED or ROLLBACK_FAILED; its record is already closed.',
      },
      HandleInternalError: handleInternalError(
        'ReleaseFailedInternally',
        "Anything unexpected: close the record as FAILED and free this execution's leases. If this fails too, the reconciler does it from the execution's FAILED event.",
      ),
      ReleaseFailedInternally: {
        Type: 'Fail',
        Error: 'ReleaseFailed',
        CausePath: '$.final.summary',
      },
    },
  ),
};
