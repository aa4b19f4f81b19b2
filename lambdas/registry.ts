/**
 * Every Gantry handler, declared once (docs/decisions/034-handler-registry.md): its name (the file
 * `lambdas/<name>.ts`, exporting `handler` for Lambda and `run` for the local runtime), what it is for, how
 * it is invoked, the AWS capabilities its code needs, its extra environment, its timeout and the dead-letter
 * queue of its asynchronous invocations.
 *
 * Pure data: no CDK, no AWS SDK. Read by
 * - the CDK stack (lib/ReleaseControlPlane.ts builds one function per entry and turns each capability into
 *   IAM statements with lib/handler-grants.ts; the ledger grants stay in lib/ledger-access.ts, keyed by the
 *   same names);
 * - the local runtime (local/handlers.ts has one `run` per name, local/engine.ts the workflow placeholders);
 * - the tests (test/infra/handler-registry.test.ts checks every role against its capabilities).
 *
 * Adding a handler: its file under lambdas/, one entry here, its ledger calls in lib/ledger-access.ts, its
 * `run` in local/handlers.ts's table.
 */

/** The workflows that invoke handlers by `${XxxFunctionArn}` (statemachines/<name>.asl.json). */
export type WorkflowName = 'release' | 'rollback' | 'insight' | 'drill';
/** The EventBridge rules on the default bus (ReleaseControlPlane `rules`). */
export type RuleName =
  | 'ecrPush'
  | 'cloudTrailPutImage'
  | 'cloudTrailStartExecution'
  | 'alarmStateChange'
  | 'executionStatusChange'
  | 'ecrImageScan'
  | 'inspectorImageScan'
  /** On the Gantry bus (not the default one): `Release Finished` → the anchor signer (decision 048). */
  | 'releaseFinished';
/** The routes of the approval API (lib/ApprovalApi.ts): the decision route, or the operator routes. */
export type ApiName = 'decision' | 'operator';
/** The dead-letter queues of the event flows (ReleaseControlPlane `deadLetterQueues`). */
export type DeadLetterQueueName = 'intake' | 'alarmWatch' | 'reconciler' | 'bakeTimer' | 'scanWatch' | 'anchorSign';

/** How a handler is invoked. */
export type Invocation =
  /** A Task state of these workflows (`${XxxFunctionArn}`), synchronously. */
  | { readonly kind: 'workflow'; readonly workflows: readonly WorkflowName[] }
  /** Targets of these EventBridge rules (asynchronously). */
  | { readonly kind: 'event'; readonly rules: readonly RuleName[] }
  /** An API Gateway integration (synchronously; API Gateway gives up after 29 s). */
  | { readonly kind: 'api'; readonly api: ApiName }
  /** EventBridge Scheduler one-time schedules (the bake timers), asynchronously: its ARN is fixed at synth. */
  | { readonly kind: 'schedule' };

/**
 * What a handler's code does in AWS beyond its own log group, X-Ray and the ledger (lib/ledger-access.ts).
 * lib/handler-grants.ts turns each into IAM statements (`CAPABILITY_ACTIONS` lists their actions).
 */
export const CAPABILITIES = {
  publishEvents: 'publishes lifecycle events on the Gantry bus',
  readRepositories: 'reads image metadata and scan findings of the configured ECR repositories',
  readImageContent: 'reads manifests, config blobs, referrers and signing status of the configured repositories',
  readInspectorFindings: 'reads Amazon Inspector enhanced-scanning findings (through DescribeImageScanFindings)',
  readSigningPublicKeys: 'reads the public keys of the KMS signing keys in the config',
  readAlarms: 'reads alarm states',
  readMetrics: 'reads CloudWatch metric data (GetMetricData, for the canary analysis)',
  createBakeTimers: 'creates bake timers (one-time schedules in the bake group)',
  cancelBakeTimers: 'deletes bake timers',
  passSchedulerRole: 'passes the bake scheduler role to EventBridge Scheduler',
  sendTaskResults: 'sends a stored task token its result (bakes, lease waits, preempted approvals, scan waits)',
  decideApprovals: 'sends the decision of an approval task token',
  startReleases: 'starts release workflow executions',
  describeReleaseExecutions: 'describes release workflow executions',
  startRollbacks: 'starts rollback workflow executions',
  signAnchors: 'signs anchors with the anchor signing key (kms:Sign; the key policy allows no other role)',
  startDrills: 'starts drill workflow executions (decision 052)',
  stopExecutions: 'stops executions of the release, rollback and drill workflows and reads their status after the stop (gantry abort, decision 053)',
} as const;
export type Capability = keyof typeof CAPABILITIES;

/** Environment a handler gets beyond the common one (TABLE_NAME, EVENT_BUS_NAME, SCHEDULE_GROUP, SCHEDULER_ROLE_ARN). */
export type ExtraEnvironment =
  | 'ECR_REGISTRY'
  | 'BAKE_TIMER_FUNCTION_ARN'
  | 'BAKE_TIMER_DLQ_ARN'
  | 'RELEASE_STATE_MACHINE_ARN'
  | 'ROLLBACK_STATE_MACHINE_ARN'
  /** The anchor signing key (decision 048). */
  | 'ANCHOR_KEY_ARN'
  /** The drill workflow (decision 052). */
  | 'DRILL_STATE_MACHINE_ARN';

export interface HandlerEntry {
  /** The handler file, from the repository root. */
  readonly entry: string;
  readonly description: string;
  readonly invokedBy: Invocation;
  readonly capabilities: readonly Capability[];
  readonly environment?: readonly ExtraEnvironment[];
  /** @default 60 (the workflows' task timeout is 120 s) */
  readonly timeoutSeconds?: number;
  /** Where asynchronous invocations that failed every retry go (event-driven handlers only). */
  readonly deadLetterQueue?: DeadLetterQueueName;
}

const workflow = (...workflows: WorkflowName[]): Invocation => ({ kind: 'workflow', workflows });
const rules = (...names: RuleName[]): Invocation => ({ kind: 'event', rules: names });
/** A handler that deletes (or creates) bake timers names the bake timer's ARN and its dead-letter queue (lambdas/adapters/aws-deps.ts). */
const TIMER_ENV: readonly ExtraEnvironment[] = ['BAKE_TIMER_FUNCTION_ARN', 'BAKE_TIMER_DLQ_ARN'];
/** API Gateway gives up on an integration after 29 seconds. */
const API_TIMEOUT_SECONDS = 25;

/** The handlers, in the order the stack creates them. */
export const HANDLER_REGISTRY = {
  'prepare-release': {
    entry: 'lambdas/prepare-release.ts',
    description: 'Validates a release input, resolves the tag to its digest once, records Release Started',
    invokedBy: workflow('release'),
    capabilities: ['publishEvents', 'readRepositories'],
  },
  'stage-lease': {
    entry: 'lambdas/stage-lease.ts',
    description:
      'Takes, waits for (task token, woken when freed) and frees the one-release-per-(service, stage) lease; an operator rollback takes it from a waiting or baking release',
    invokedBy: workflow('release', 'rollback'),
    capabilities: ['readRepositories', 'cancelBakeTimers', 'sendTaskResults'],
    environment: TIMER_ENV,
  },
  'deploy-check': {
    entry: 'lambdas/deploy-check.ts',
    description: 'The point of action: lease, newest digest, window and alarms checked again right before a deploy, which is then claimed on the lease',
    invokedBy: workflow('release'),
    capabilities: ['publishEvents', 'readRepositories', 'readAlarms'],
  },
  'window-gate': {
    entry: 'lambdas/window-gate.ts',
    description: 'Gate window: release windows, blackouts and the global freeze (break-glass bypasses them only)',
    invokedBy: workflow('release'),
    capabilities: ['publishEvents'],
  },
  'image-gates': {
    entry: 'lambdas/image-gates.ts',
    description:
      "Runs the image.* gates (scan, signature, labels, age, immutable tags) on the release digest; stores a scan wait's task token against the image (completing it when the scan already ended)",
    invokedBy: workflow('release', 'rollback'),
    capabilities: ['publishEvents', 'readRepositories', 'readImageContent', 'readInspectorFindings', 'readSigningPublicKeys', 'sendTaskResults'],
  },
  'alarm-gate': {
    entry: 'lambdas/alarm-gate.ts',
    description: 'Reads the stage alarms for a polling bake and for the recovery check after a rollback',
    invokedBy: workflow('release', 'rollback'),
    capabilities: ['readAlarms'],
  },
  'record-step': {
    entry: 'lambdas/record-step.ts',
    description: 'The workflow bookkeeping steps: ledger events, stage pointer, lifecycle events',
    invokedBy: workflow('release', 'rollback'),
    capabilities: ['publishEvents', 'sendTaskResults'],
    environment: ['ECR_REGISTRY'],
  },
  'bake-register': {
    entry: 'lambdas/bake-register.ts',
    description: 'Starts a bake: stores the task token against the stage alarms and schedules its end',
    invokedBy: workflow('release'),
    capabilities: ['readAlarms', 'createBakeTimers', 'cancelBakeTimers', 'passSchedulerRole', 'sendTaskResults'],
    environment: TIMER_ENV,
  },
  'bake-timer': {
    entry: 'lambdas/bake-timer.ts',
    description: 'Ends a bake when its time is up, after a final alarm check (invoked by EventBridge Scheduler)',
    invokedBy: { kind: 'schedule' },
    capabilities: ['publishEvents', 'readAlarms', 'cancelBakeTimers', 'sendTaskResults'],
    environment: TIMER_ENV,
    deadLetterQueue: 'bakeTimer',
  },
  'alarm-watch': {
    entry: 'lambdas/alarm-watch.ts',
    description: 'Fails every bake watching an alarm that went into ALARM (CloudWatch Alarm State Change)',
    invokedBy: rules('alarmStateChange'),
    capabilities: ['publishEvents', 'readAlarms', 'cancelBakeTimers', 'sendTaskResults'],
    environment: TIMER_ENV,
    deadLetterQueue: 'alarmWatch',
  },
  'scan-watch': {
    entry: 'lambdas/scan-watch.ts',
    description: 'Wakes the releases waiting for an image scan that ended (ECR Image Scan, Inspector2 Scan): claims their scan-wait tokens once',
    invokedBy: rules('ecrImageScan', 'inspectorImageScan'),
    capabilities: ['sendTaskResults'],
    deadLetterQueue: 'scanWatch',
  },
  intake: {
    entry: 'lambdas/intake.ts',
    description: 'Starts one release per (service, digest) from ECR pushes; records skipped pushes; attributes console starts',
    invokedBy: rules('ecrPush', 'cloudTrailPutImage', 'cloudTrailStartExecution'),
    capabilities: ['startReleases', 'describeReleaseExecutions'],
    environment: ['RELEASE_STATE_MACHINE_ARN'],
    deadLetterQueue: 'intake',
  },
  reconciler: {
    entry: 'lambdas/reconciler.ts',
    description: 'Closes the record of a release execution that FAILED, was ABORTED or TIMED_OUT; frees its leases',
    invokedBy: rules('executionStatusChange'),
    capabilities: ['publishEvents', 'cancelBakeTimers', 'sendTaskResults'],
    environment: TIMER_ENV,
    deadLetterQueue: 'reconciler',
  },
  'rollback-prepare': {
    entry: 'lambdas/rollback-prepare.ts',
    description: 'Validates an operator rollback request and picks its target digest',
    invokedBy: workflow('rollback'),
    capabilities: ['publishEvents'],
  },
  'approval-request': {
    entry: 'lambdas/approval-request.ts',
    description: 'Asks for a stage approval: stores the task token, records the wait and publishes Approval Requested',
    invokedBy: workflow('release', 'rollback'),
    capabilities: ['publishEvents', 'sendTaskResults'],
  },
  'approval-decide': {
    entry: 'lambdas/approval-decide.ts',
    description: 'The approval API: checks the approvers and segregation of duties, records the decision and resumes the release',
    invokedBy: { kind: 'api', api: 'decision' },
    capabilities: ['publishEvents', 'decideApprovals'],
    timeoutSeconds: API_TIMEOUT_SECONDS,
  },
  'insight-plan': {
    entry: 'lambdas/insight-plan.ts',
    description: 'Insight check: lists, from the config, the stage workloads whose running image is read for drift',
    invokedBy: workflow('insight'),
    capabilities: [],
  },
  'insight-record': {
    entry: 'lambdas/insight-record.ts',
    description: 'Insight check: finds stale services, compares running images with the ledger, records the findings, publishes Service Stale and Drift Detected',
    invokedBy: workflow('insight'),
    capabilities: ['publishEvents', 'signAnchors'],
    environment: ['ECR_REGISTRY', 'ANCHOR_KEY_ARN'],
  },
  'rollout-check': {
    entry: 'lambdas/rollout-check.ts',
    description: 'Kubernetes driver: the validated rollout target, the Deployment update (PUT body) and the rollout decision (DONE, PROGRESSING, FAILED)',
    invokedBy: workflow('release', 'rollback'),
    capabilities: [],
    environment: ['ECR_REGISTRY'],
  },
  'canary-analysis': {
    entry: 'lambdas/canary-analysis.ts',
    description: "Canary analysis: a metric of the canary against the stable's over a canary step's bake (GetMetricData), recorded as gate canary.analysis",
    invokedBy: workflow('release'),
    capabilities: ['readMetrics'],
  },
  'operator-api': {
    entry: 'lambdas/operator-api.ts',
    description:
      'The operator API: starts releases, rollbacks and drills (writing the start record that names the caller), sets the global freeze and aborts a running release (recording who and why)',
    invokedBy: { kind: 'api', api: 'operator' },
    capabilities: ['startReleases', 'startRollbacks', 'startDrills', 'stopExecutions'],
    environment: ['RELEASE_STATE_MACHINE_ARN', 'ROLLBACK_STATE_MACHINE_ARN', 'DRILL_STATE_MACHINE_ARN'],
    timeoutSeconds: API_TIMEOUT_SECONDS,
  },
  'anchor-sign': {
    entry: 'lambdas/anchor-sign.ts',
    description: "Signs a finished release's end (its release.finished seq and hash) with the anchor key, once (decision 048)",
    invokedBy: rules('releaseFinished'),
    capabilities: ['signAnchors'],
    environment: ['ANCHOR_KEY_ARN'],
    deadLetterQueue: 'anchorSign',
  },
  'drill-step': {
    entry: 'lambdas/drill-step.ts',
    description:
      'The drill workflow steps (decision 052): refuses a stage that cannot be drilled, opens the drill record, measures both rollback legs and publishes Rollback Drilled',
    invokedBy: workflow('drill'),
    capabilities: ['publishEvents'],
  },
} as const satisfies Record<string, HandlerEntry>;

export type HandlerName = keyof typeof HANDLER_REGISTRY;

/** The handler names, in the registry's order. */
export const HANDLER_NAMES = Object.keys(HANDLER_REGISTRY) as HandlerName[];

/** One handler's entry, typed as the general shape. */
export function handlerEntry(name: HandlerName): HandlerEntry {
  return HANDLER_REGISTRY[name];
}

/** `prepare-release` → `PrepareRelease` (the construct id, and `${PrepareReleaseFunctionArn}` in the ASL). */
export function pascalCase(name: string): string {
  return name.replace(/(^|-)([a-z0-9])/g, (_m, _d, c: string) => c.toUpperCase());
}

/** The ASL placeholder of a handler's ARN: `prepare-release` → `PrepareReleaseFunctionArn`. */
export function functionPlaceholder(name: HandlerName): string {
  return `${pascalCase(name)}FunctionArn`;
}

/** The handlers the workflows invoke (every workflow, or the one named). */
export function workflowHandlers(workflowName?: WorkflowName): HandlerName[] {
  return HANDLER_NAMES.filter((n) => {
    const inv = handlerEntry(n).invokedBy;
    return inv.kind === 'workflow' && (workflowName === undefined || inv.workflows.includes(workflowName));
  });
}

/** The handlers with a capability. */
export function handlersWith(capability: Capability): HandlerName[] {
  return HANDLER_NAMES.filter((n) => handlerEntry(n).capabilities.includes(capability));
}

export class HandlerRegistryError extends Error {
  override readonly name = 'HandlerRegistryError';
}

/** The one handler invoked a given way (the scheduled bake timer, the handler of an API or a rule). @throws HandlerRegistryError unless exactly one */
export function theHandler(what: string, matches: (inv: Invocation) => boolean): HandlerName {
  const found = HANDLER_NAMES.filter((n) => matches(handlerEntry(n).invokedBy));
  if (found.length !== 1)
    throw new HandlerRegistryError(`lambdas/registry.ts: expected exactly one handler invoked by ${what}, found ${found.length} (${found.join(', ') || 'none'})`);
  return found[0] as HandlerName;
}
