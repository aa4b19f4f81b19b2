/**
 * The raw EventBridge events Gantry consumes, parsed by one zod schema each into a small normalized
 * object. AWS adds fields over time, so every object accepts extra keys; the fields Gantry uses are
 * required. A bad event throws ValidationError with one line per problem (`path: expected …, got …`).
 *
 * Shapes follow the samples in aws-samples/ (see SOURCES.md there), notably:
 * - ECR Image Action: kebab-case keys, `resources` empty, `image-tag` absent on a push by digest.
 * - CloudTrail PutImage: the digest is `responseElements.image.imageId.imageDigest`; the tag may be absent.
 * - CloudTrail StartExecution: the execution is `responseElements.executionArn`; `requestParameters.name` is absent
 *   when the caller let Step Functions name it; `userIdentity.arn` is absent when an AWS service called.
 * - Alarm State Change: timestamps end in `+0000`; `reasonData` is a JSON document encoded as a string.
 * - Step Functions: `startDate`/`stopDate` are epoch milliseconds; `stopDate`, `input`, `output` may be null.
 * - Inspector2 Scan: `repository-name` holds the repository ARN.
 *
 * Pure: no AWS SDK, no clock.
 */
import * as z from 'zod';
import { REPOSITORY_PATTERN, TAG_PATTERN } from './config';
import { formatIssues, ValidationError } from './validation';

// ---------------------------------------------------------------- shared pieces

/** OCI digest grammar (algorithm:encoded). The AWS samples carry truncated placeholders, so events are
 * not held to the 64-hex sha256 form; callers that need one check DIGEST_PATTERN from config.ts. */
export const EVENT_DIGEST_PATTERN = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * An ISO-8601 timestamp with an offset, as AWS writes them (`2019-10-02T17:04:40.989+0000`,
 * `2019-11-16T01:54:34Z`), normalized to UTC with milliseconds (`2019-10-02T17:04:40.989Z`).
 * Returns undefined for anything else, including impossible dates.
 */
export function normalizeTimestamp(s: string): string | undefined {
  const m = TIMESTAMP.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi] = m.map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || h > 23 || mi > 59 || Number(m[6] ?? 0) > 59) return undefined;
  const probe = new Date(Date.UTC(y, mo - 1, d));
  if (probe.getUTCMonth() !== mo - 1 || probe.getUTCDate() !== d) return undefined;
  const offset = m[8] === 'Z' ? 'Z' : (m[8] as string).replace(/^([+-]\d{2}):?(\d{2})$/, '$1:$2');
  const ms = Date.parse(`${s.slice(0, s.length - (m[8] as string).length)}${offset}`);
  if (Number.isNaN(ms)) return undefined;
  return new Date(ms).toISOString();
}

const nonEmpty = (what: string) => z.string({ error: `expected ${what}` }).min(1, `expected ${what}`);

const timestamp = z.string({ error: 'expected an ISO-8601 timestamp such as 2019-10-02T17:04:40.989+0000' }).transform((s, ctx) => {
  const iso = normalizeTimestamp(s);
  if (iso === undefined) {
    ctx.addIssue({ code: 'custom', message: 'expected an ISO-8601 timestamp such as 2019-10-02T17:04:40.989+0000' });
    return z.NEVER;
  }
  return iso;
});

const epochMillis = z
  .number({ error: 'expected epoch milliseconds (a whole number)' })
  .int('expected epoch milliseconds (a whole number)')
  .min(0, 'expected epoch milliseconds (a whole number)')
  .max(8.64e15, 'expected epoch milliseconds (a whole number)')
  .transform((n) => new Date(n).toISOString());

const digest = z.string({ error: 'expected an image digest such as sha256:…' }).regex(EVENT_DIGEST_PATTERN, 'expected an image digest such as sha256:…');

/** ECR's own grammars: a push event whose repository or tag breaks them did not come from ECR. */
const repositoryName = nonEmpty('a repository name').regex(REPOSITORY_PATTERN, 'expected an ECR repository name');
const imageTag = z.string({ error: 'expected an image tag' }).regex(TAG_PATTERN, `expected an image tag matching ${TAG_PATTERN.source}`);
/** An IAM or STS principal ARN, as CloudTrail's userIdentity.arn gives it. */
const principalArn = z.string({ error: 'expected an IAM or STS principal ARN' }).regex(/^arn:aws[a-z-]*:(iam|sts)::\d{12}:[\x21-\x7e]+$/, 'expected an IAM or STS principal ARN');

/** A string, or null/absent (returned as undefined). */
const optionalString = z
  .string()
  .nullish()
  .transform((v) => v ?? undefined);

/** The envelope every EventBridge event carries. */
function envelope<S extends string, D extends string>(source: S, detailType: D) {
  return {
    id: nonEmpty('an event id'),
    source: z.literal(source, { error: `expected ${JSON.stringify(source)}` }),
    'detail-type': z.literal(detailType, { error: `expected ${JSON.stringify(detailType)}` }),
    account: nonEmpty('an account id'),
    region: nonEmpty('a region'),
    time: timestamp,
    resources: z.array(z.string(), { error: 'expected an array of ARNs' }).default([]),
  };
}

function detailObject<T extends z.core.$ZodLooseShape>(shape: T) {
  return z.looseObject(shape, { error: 'expected the event detail (an object)' });
}

function parseEvent<S extends z.ZodType>(schema: S, raw: unknown, source: string): z.output<S> {
  const r = schema.safeParse(raw);
  if (!r.success) throw new ValidationError(source, formatIssues(r.error.issues, raw));
  return r.data;
}

/** Common normalized envelope fields. */
export interface EventEnvelope {
  /** The EventBridge event id (redeliveries of one event share it). */
  readonly id: string;
  /** When the event happened, ISO-8601 UTC. */
  readonly time: string;
  readonly account: string;
  readonly region: string;
}

function repoArn(region: string, account: string, name: string): string {
  return `arn:aws:ecr:${region}:${account}:repository/${name}`;
}

// ---------------------------------------------------------------- ECR Image Action

const ecrImageActionSchema = z.looseObject({
  ...envelope('aws.ecr', 'ECR Image Action'),
  detail: detailObject({
    'action-type': nonEmpty('an action type such as "PUSH"'),
    result: nonEmpty('a result such as "SUCCESS"'),
    'repository-name': repositoryName,
    'image-digest': digest,
    'image-tag': imageTag.optional(),
  }),
});

export interface EcrImageAction extends EventEnvelope {
  /** `PUSH`, `DELETE`, … */
  readonly actionType: string;
  /** `SUCCESS` or a failure value (AWS does not document it). */
  readonly result: string;
  readonly repositoryName: string;
  /** Built from account, region and name: the event's `resources` is empty. */
  readonly repositoryArn: string;
  readonly digest: string;
  /** Absent on a push by digest. */
  readonly tag?: string;
}

/** Parse an `ECR Image Action` event (push or delete). */
export function parseEcrImageAction(raw: unknown): EcrImageAction {
  const e = parseEvent(ecrImageActionSchema, raw, 'ECR Image Action event');
  const d = e.detail;
  return {
    id: e.id,
    time: e.time,
    account: e.account,
    region: e.region,
    actionType: d['action-type'],
    result: d.result,
    repositoryName: d['repository-name'],
    repositoryArn: repoArn(e.region, e.account, d['repository-name']),
    digest: d['image-digest'],
    ...(d['image-tag'] !== undefined ? { tag: d['image-tag'] } : {}),
  };
}

// ---------------------------------------------------------------- CloudTrail PutImage

const cloudTrailPutImageSchema = z.looseObject({
  ...envelope('aws.ecr', 'AWS API Call via CloudTrail'),
  detail: detailObject({
    eventSource: z.literal('ecr.amazonaws.com', { error: 'expected "ecr.amazonaws.com"' }),
    eventName: z.literal('PutImage', { error: 'expected "PutImage"' }),
    eventID: nonEmpty('a CloudTrail event id'),
    eventTime: timestamp.optional(),
    errorCode: z.undefined({ error: 'expected no errorCode (a successful PutImage call)' }).optional(),
    userIdentity: z.looseObject({
      type: z.string().optional(),
      arn: principalArn.optional(),
    }),
    requestParameters: z.looseObject({
      repositoryName,
      imageTag: imageTag.optional(),
      registryId: z.string().optional(),
    }),
    responseElements: z.looseObject({
      image: z.looseObject({
        repositoryName: z.string().optional(),
        registryId: z.string().optional(),
        imageId: z.looseObject({
          imageDigest: digest,
          imageTag: imageTag.optional(),
        }),
      }),
    }),
  }),
});

export interface CloudTrailPutImage extends EventEnvelope {
  /** CloudTrail's own `eventID`. */
  readonly cloudTrailEventId: string;
  readonly repositoryName: string;
  readonly repositoryArn: string;
  readonly registryId?: string;
  /** Absent on a push by digest. */
  readonly tag?: string;
  readonly digest: string;
  /**
   * `userIdentity.arn`: the pusher. Absent when AWS itself made the call (userIdentity type
   * AWSService has no ARN), so it is optional rather than required.
   */
  readonly principalArn?: string;
  readonly principalType?: string;
}

/** Parse an `AWS API Call via CloudTrail` event for a successful ECR `PutImage`. */
export function parseCloudTrailPutImage(raw: unknown): CloudTrailPutImage {
  const e = parseEvent(cloudTrailPutImageSchema, raw, 'CloudTrail PutImage event');
  const d = e.detail;
  const registryId = d.requestParameters.registryId ?? d.responseElements.image.registryId;
  const account = registryId && /^\d{12}$/.test(registryId) ? registryId : e.account;
  const tag = d.requestParameters.imageTag ?? d.responseElements.image.imageId.imageTag;
  return {
    id: e.id,
    time: e.time,
    account: e.account,
    region: e.region,
    cloudTrailEventId: d.eventID,
    repositoryName: d.requestParameters.repositoryName,
    repositoryArn: repoArn(e.region, account, d.requestParameters.repositoryName),
    ...(registryId !== undefined ? { registryId } : {}),
    ...(tag !== undefined ? { tag } : {}),
    digest: d.responseElements.image.imageId.imageDigest,
    ...(d.userIdentity.arn !== undefined ? { principalArn: d.userIdentity.arn } : {}),
    ...(d.userIdentity.type !== undefined ? { principalType: d.userIdentity.type } : {}),
  };
}

// ---------------------------------------------------------------- CloudTrail StartExecution

/** `arn:<partition>:states:<region>:<account>:execution:<state machine name>:<execution name>` (a Standard workflow's execution). */
// Step Functions names may hold more than Gantry's own (the documentation's sample has dots): any 1-80 characters
// without whitespace, `:` or `/`. Intake ignores a name that is not a Gantry release id (lambdas/intake.ts).
const EXECUTION_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[^\s:/]{1,80}:([^\s:/]{1,80})$/;

const cloudTrailStartExecutionSchema = z.looseObject({
  ...envelope('aws.states', 'AWS API Call via CloudTrail'),
  detail: detailObject({
    eventSource: z.literal('states.amazonaws.com', { error: 'expected "states.amazonaws.com"' }),
    eventName: z.literal('StartExecution', { error: 'expected "StartExecution"' }),
    eventID: nonEmpty('a CloudTrail event id'),
    eventTime: timestamp.optional(),
    errorCode: z.undefined({ error: 'expected no errorCode (a successful StartExecution call)' }).optional(),
    userIdentity: z.looseObject({
      type: z.string().optional(),
      arn: principalArn.optional(),
    }),
    requestParameters: z.looseObject({
      stateMachineArn: z
        .string({ error: 'expected a state machine ARN' })
        .regex(/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[^\s:/]{1,80}$/, 'expected a state machine ARN'),
      name: z.string().optional(),
    }),
    responseElements: z.looseObject({
      executionArn: z
        .string({ error: 'expected an execution ARN' })
        .regex(EXECUTION_ARN, 'expected an execution ARN arn:aws:states:<region>:<account>:execution:<state machine>:<name>'),
    }),
  }),
});

export interface CloudTrailStartExecution extends EventEnvelope {
  /** CloudTrail's own `eventID`. */
  readonly cloudTrailEventId: string;
  readonly stateMachineArn: string;
  readonly executionArn: string;
  /** The execution's name (the release id): the last part of `executionArn`. */
  readonly executionName: string;
  /** `userIdentity.arn`: who started it. Absent when an AWS service made the call (no ARN to name). */
  readonly principalArn?: string;
  readonly principalType?: string;
}

/** Parse an `AWS API Call via CloudTrail` event for a successful Step Functions `StartExecution`. */
export function parseCloudTrailStartExecution(raw: unknown): CloudTrailStartExecution {
  const e = parseEvent(cloudTrailStartExecutionSchema, raw, 'CloudTrail StartExecution event');
  const d = e.detail;
  const executionArn = d.responseElements.executionArn;
  const smName = d.requestParameters.stateMachineArn.split(':').at(-1) as string;
  if (executionArn.split(':')[6] !== smName) {
    throw new ValidationError('CloudTrail StartExecution event', [
      `detail.responseElements.executionArn: expected an execution of ${d.requestParameters.stateMachineArn} (detail.requestParameters.stateMachineArn), got ${JSON.stringify(executionArn)}`,
    ]);
  }
  return {
    id: e.id,
    time: e.time,
    account: e.account,
    region: e.region,
    cloudTrailEventId: d.eventID,
    stateMachineArn: d.requestParameters.stateMachineArn,
    executionArn,
    executionName: (EXECUTION_ARN.exec(executionArn) as RegExpExecArray)[1] as string,
    ...(d.userIdentity.arn !== undefined ? { principalArn: d.userIdentity.arn } : {}),
    ...(d.userIdentity.type !== undefined ? { principalType: d.userIdentity.type } : {}),
  };
}

// ---------------------------------------------------------------- CloudWatch alarms

export const ALARM_STATE_VALUES = ['OK', 'ALARM', 'INSUFFICIENT_DATA'] as const;
export type AlarmStateValue = (typeof ALARM_STATE_VALUES)[number];

const alarmStateValue = z.enum(ALARM_STATE_VALUES, { error: 'expected one of "OK", "ALARM", "INSUFFICIENT_DATA"' });
const alarmArn = z.string({ error: 'expected a CloudWatch alarm ARN' }).regex(/^arn:[a-z-]+:cloudwatch:[^:]*:[^:]*:alarm:.+$/, 'expected a CloudWatch alarm ARN');
const ALARM_RESOURCES = 'expected an array whose first element is the alarm ARN';
const alarmResources = z.array(z.string(), { error: ALARM_RESOURCES }).refine((r) => alarmArn.safeParse(r[0]).success, { message: ALARM_RESOURCES });

/**
 * `reasonData` is a JSON document encoded as a string. Parsed leniently: a string that is not a JSON
 * object is kept as `reasonDataRaw` only, an object already decoded is taken as is, anything else is dropped.
 */
function decodeReasonData(v: unknown): { reasonData?: Record<string, unknown>; reasonDataRaw?: string } {
  if (v === undefined || v === null) return {};
  if (typeof v === 'object' && !Array.isArray(v)) return { reasonData: v as Record<string, unknown> };
  if (typeof v !== 'string') return {};
  try {
    const parsed: unknown = JSON.parse(v);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return { reasonData: parsed as Record<string, unknown> };
  } catch {
    // lenient: keep the raw text only
  }
  return { reasonDataRaw: v };
}

/** CloudWatch alarm names: 1-255 characters, no control characters (as the config allows them). */
const alarmName = nonEmpty('an alarm name').regex(/^[^\u0000-\u001f]{1,255}$/, 'expected an alarm name of at most 255 characters without control characters');

const alarmStateChangeSchema = z.looseObject({
  ...envelope('aws.cloudwatch', 'CloudWatch Alarm State Change'),
  resources: alarmResources,
  detail: detailObject({
    alarmName,
    state: z.looseObject({
      value: alarmStateValue,
      reason: z.string({ error: 'expected a reason string' }),
      timestamp,
      reasonData: z.unknown().optional(),
      evaluationState: z.string().optional(),
      actionsSuppressedBy: z.string().optional(),
    }),
    previousState: z.looseObject({
      value: alarmStateValue,
      reason: z.string().optional(),
      timestamp: timestamp.optional(),
      reasonData: z.unknown().optional(),
    }),
    configuration: z
      .looseObject({
        metrics: z.array(z.record(z.string(), z.unknown()), { error: 'expected an array of metric objects' }).optional(),
        alarmRule: z.string().optional(),
      })
      .optional(),
  }),
});

export interface AlarmState {
  readonly value: AlarmStateValue;
  readonly reason?: string;
  /** ISO-8601 UTC (`+0000` normalized to `Z`). */
  readonly timestamp?: string;
  /** `reasonData` decoded; absent when it was missing or not a JSON object. */
  readonly reasonData?: Record<string, unknown>;
  /** `reasonData` as AWS sent it, only when it was a string that did not decode to a JSON object. */
  readonly reasonDataRaw?: string;
}

export interface AlarmStateChange extends EventEnvelope {
  readonly alarmName: string;
  /** `resources[0]`. */
  readonly alarmArn: string;
  readonly state: AlarmState & { readonly reason: string; readonly timestamp: string; readonly evaluationState?: string; readonly actionsSuppressedBy?: string };
  readonly previousState: AlarmState;
  /** `configuration.metrics` of a metric alarm (absent for a composite alarm). */
  readonly metrics?: ReadonlyArray<Record<string, unknown>>;
  /** `configuration.alarmRule` of a composite alarm. */
  readonly alarmRule?: string;
}

/** Parse a `CloudWatch Alarm State Change` event. */
export function parseAlarmStateChange(raw: unknown): AlarmStateChange {
  const e = parseEvent(alarmStateChangeSchema, raw, 'CloudWatch Alarm State Change event');
  const d = e.detail;
  const s = d.state;
  const p = d.previousState;
  return {
    id: e.id,
    time: e.time,
    account: e.account,
    region: e.region,
    alarmName: d.alarmName,
    alarmArn: e.resources[0] as string,
    state: {
      value: s.value,
      reason: s.reason,
      timestamp: s.timestamp,
      ...decodeReasonData(s.reasonData),
      ...(s.evaluationState !== undefined ? { evaluationState: s.evaluationState } : {}),
      ...(s.actionsSuppressedBy !== undefined ? { actionsSuppressedBy: s.actionsSuppressedBy } : {}),
    },
    previousState: {
      value: p.value,
      ...(p.reason !== undefined ? { reason: p.reason } : {}),
      ...(p.timestamp !== undefined ? { timestamp: p.timestamp } : {}),
      ...decodeReasonData(p.reasonData),
    },
    ...(d.configuration?.metrics !== undefined ? { metrics: d.configuration.metrics } : {}),
    ...(d.configuration?.alarmRule !== undefined ? { alarmRule: d.configuration.alarmRule } : {}),
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** True for a `CloudWatch Alarm Configuration Change` event (create/update/delete), which is not a state transition. */
export function isAlarmConfigurationChange(raw: unknown): boolean {
  return isObject(raw) && raw.source === 'aws.cloudwatch' && raw['detail-type'] === 'CloudWatch Alarm Configuration Change';
}

const alarmConfigChangeSchema = z.looseObject({
  ...envelope('aws.cloudwatch', 'CloudWatch Alarm Configuration Change'),
  resources: alarmResources,
  detail: detailObject({
    alarmName: nonEmpty('an alarm name'),
    operation: nonEmpty('an operation such as "create"'),
    state: z.looseObject({ value: alarmStateValue }).optional(),
  }),
});

export interface AlarmConfigurationChange extends EventEnvelope {
  readonly alarmName: string;
  readonly alarmArn: string;
  /** `create`, `update` or `delete`. */
  readonly operation: string;
  readonly stateValue?: AlarmStateValue;
}

/** Parse a `CloudWatch Alarm Configuration Change` event. */
export function parseAlarmConfigurationChange(raw: unknown): AlarmConfigurationChange {
  const e = parseEvent(alarmConfigChangeSchema, raw, 'CloudWatch Alarm Configuration Change event');
  return {
    id: e.id,
    time: e.time,
    account: e.account,
    region: e.region,
    alarmName: e.detail.alarmName,
    alarmArn: e.resources[0] as string,
    operation: e.detail.operation,
    ...(e.detail.state ? { stateValue: e.detail.state.value } : {}),
  };
}

// ---------------------------------------------------------------- Step Functions

/** Step Functions execution names (StartExecution `name`). */
export const EXECUTION_NAME_PATTERN = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]{1,80}$/;
const EXECUTION_NAME_ALLOWED = 'expected an execution name of 1-80 characters without whitespace, control characters or any of < > { } [ ] ? * " # % \\ ^ | ~ ` $ & , ; : /';

export const EXECUTION_STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE'] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

const executionStatusChangeSchema = z.looseObject({
  ...envelope('aws.states', 'Step Functions Execution Status Change'),
  detail: detailObject({
    executionArn: z.string({ error: 'expected an execution ARN' }).regex(/^arn:[a-z-]+:states:[^:]*:[^:]*:(express|execution):.+$/, 'expected an execution ARN'),
    stateMachineArn: z.string({ error: 'expected a state machine ARN' }).regex(/^arn:[a-z-]+:states:[^:]*:[^:]*:stateMachine:.+$/, 'expected a state machine ARN'),
    // Step Functions' own rule for names: 1-80 characters, no whitespace, brackets, wildcards, control characters or these specials.
    name: nonEmpty('an execution name').regex(EXECUTION_NAME_PATTERN, EXECUTION_NAME_ALLOWED),
    status: z.enum(EXECUTION_STATUSES, { error: `expected one of ${EXECUTION_STATUSES.map((s) => `"${s}"`).join(', ')}` }),
    startDate: epochMillis,
    stopDate: epochMillis.nullish(),
    input: optionalString,
    output: optionalString,
    cause: optionalString,
    error: optionalString,
  }),
});

export interface ExecutionStatusChange extends EventEnvelope {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly status: ExecutionStatus;
  /** ISO-8601 UTC (from epoch milliseconds). */
  readonly startDate: string;
  /** Absent while RUNNING. */
  readonly stopDate?: string;
  /** The execution input as a JSON string. */
  readonly input?: string;
  readonly output?: string;
  readonly cause?: string;
  readonly error?: string;
}

/** Parse a `Step Functions Execution Status Change` event. */
export function parseExecutionStatusChange(raw: unknown): ExecutionStatusChange {
  const e = parseEvent(executionStatusChangeSchema, raw, 'Step Functions Execution Status Change event');
  const d = e.detail;
  const opt = <K extends 'stopDate' | 'input' | 'output' | 'cause' | 'error'>(k: K) => (d[k] !== undefined && d[k] !== null ? { [k]: d[k] as string } : {});
  return {
    id: e.id,
    time: e.time,
    account: e.account,
    region: e.region,
    executionArn: d.executionArn,
    stateMachineArn: d.stateMachineArn,
    name: d.name,
    status: d.status,
    startDate: d.startDate,
    ...opt('stopDate'),
    ...opt('input'),
    ...opt('output'),
    ...opt('cause'),
    ...opt('error'),
  };
}

// ---------------------------------------------------------------- image scans

const severityCounts = z
  .record(z.string(), z.number({ error: 'expected a count' }).int('expected a whole number').min(0, 'expected a count'), {
    error: 'expected an object of counts by severity',
  })
  .default({});

const scanDetail = detailObject({
  'scan-status': nonEmpty('a scan status such as "COMPLETE"'),
  'repository-name': nonEmpty('a repository name'),
  'image-digest': digest,
  'image-tags': z.array(z.string(), { error: 'expected an array of tags' }).default([]),
  'finding-severity-counts': severityCounts,
});

export interface ImageScanEvent extends EventEnvelope {
  readonly scanStatus: string;
  readonly repositoryName: string;
  readonly repositoryArn: string;
  readonly digest: string;
  readonly tags: readonly string[];
  /** Counts by severity; a severity with no findings may be absent (basic scan) or 0 (Inspector). */
  readonly findingSeverityCounts: Readonly<Record<string, number>>;
}

const ecrScanSchema = z.looseObject({ ...envelope('aws.ecr', 'ECR Image Scan'), detail: scanDetail });

/** Parse an `ECR Image Scan` event (basic scanning). */
export function parseEcrScanEvent(raw: unknown): ImageScanEvent {
  const e = parseEvent(ecrScanSchema, raw, 'ECR Image Scan event');
  const d = e.detail;
  const name = d['repository-name'];
  return {
    id: e.id,
    time: e.time,
    account: e.account,
    region: e.region,
    scanStatus: d['scan-status'],
    repositoryName: name,
    repositoryArn: e.resources.find((r) => r.endsWith(`:repository/${name}`)) ?? repoArn(e.region, e.account, name),
    digest: d['image-digest'],
    tags: d['image-tags'],
    findingSeverityCounts: d['finding-severity-counts'],
  };
}

const inspectorScanSchema = z.looseObject({ ...envelope('aws.inspector2', 'Inspector2 Scan'), detail: scanDetail });

const REPO_ARN = /^arn:[a-z-]+:ecr:[^:]*:[^:]*:repository\/(.+)$/;

/** Parse an `Inspector2 Scan` event (enhanced scanning). Its `repository-name` holds the repository ARN. */
export function parseInspectorScanEvent(raw: unknown): ImageScanEvent {
  const e = parseEvent(inspectorScanSchema, raw, 'Inspector2 Scan event');
  const d = e.detail;
  const given = d['repository-name'];
  const m = REPO_ARN.exec(given);
  const name = m ? (m[1] as string) : given;
  return {
    id: e.id,
    time: e.time,
    account: e.account,
    region: e.region,
    scanStatus: d['scan-status'],
    repositoryName: name,
    repositoryArn: m ? given : repoArn(e.region, e.account, name),
    digest: d['image-digest'],
    tags: d['image-tags'],
    findingSeverityCounts: d['finding-severity-counts'],
  };
}

// ---------------------------------------------------------------- dispatch

export type GantryEvent =
  | ({ readonly kind: 'ecr-push' } & EcrImageAction)
  | ({ readonly kind: 'cloudtrail-put-image' } & CloudTrailPutImage)
  | ({ readonly kind: 'cloudtrail-start-execution' } & CloudTrailStartExecution)
  | ({ readonly kind: 'alarm-state' } & AlarmStateChange)
  | ({ readonly kind: 'alarm-config' } & AlarmConfigurationChange)
  | ({ readonly kind: 'execution-status' } & ExecutionStatusChange)
  | ({ readonly kind: 'ecr-scan' } & ImageScanEvent)
  | ({ readonly kind: 'inspector-scan' } & ImageScanEvent)
  | { readonly kind: 'unknown'; readonly source: string; readonly detailType: string; readonly id?: string; readonly reason: string };

export type GantryEventKind = GantryEvent['kind'];

const routingSchema = z.looseObject({
  source: z.string({ error: 'expected an event source such as "aws.ecr"' }),
  'detail-type': z.string({ error: 'expected a detail-type such as "ECR Image Action"' }),
  id: z.unknown().optional(),
  detail: z.unknown().optional(),
});

/**
 * Recognize and parse a raw EventBridge event. Events of a kind Gantry consumes are parsed (and
 * throw ValidationError when malformed); anything else, including an ECR Image Action that is not
 * a PUSH and a failed PutImage call, comes back as `unknown` with the reason.
 */
export function parseGantryEvent(raw: unknown): GantryEvent {
  const r = parseEvent(routingSchema, raw, 'EventBridge event');
  const { source } = r;
  const detailType = r['detail-type'];
  const detail = isObject(r.detail) ? r.detail : undefined;
  const unknown = (reason: string): GantryEvent => ({
    kind: 'unknown',
    source,
    detailType,
    ...(typeof r.id === 'string' ? { id: r.id } : {}),
    reason,
  });
  switch (`${source} ${detailType}`) {
    case 'aws.ecr ECR Image Action': {
      if (detail && typeof detail['action-type'] === 'string' && detail['action-type'] !== 'PUSH') {
        return unknown(`ECR Image Action ${detail['action-type']} is not a push`);
      }
      return { kind: 'ecr-push', ...parseEcrImageAction(raw) };
    }
    case 'aws.ecr AWS API Call via CloudTrail': {
      if (detail && (detail.eventSource !== 'ecr.amazonaws.com' || detail.eventName !== 'PutImage')) {
        return unknown(`CloudTrail call ${String(detail.eventSource)} ${String(detail.eventName)} is not an ECR PutImage`);
      }
      if (detail && detail.errorCode !== undefined && detail.errorCode !== null) {
        return unknown(`PutImage failed with ${String(detail.errorCode)}`);
      }
      return { kind: 'cloudtrail-put-image', ...parseCloudTrailPutImage(raw) };
    }
    case 'aws.states AWS API Call via CloudTrail': {
      if (detail && (detail.eventSource !== 'states.amazonaws.com' || detail.eventName !== 'StartExecution')) {
        return unknown(`CloudTrail call ${String(detail.eventSource)} ${String(detail.eventName)} is not a Step Functions StartExecution`);
      }
      if (detail && detail.errorCode !== undefined && detail.errorCode !== null) {
        return unknown(`StartExecution failed with ${String(detail.errorCode)}`);
      }
      return { kind: 'cloudtrail-start-execution', ...parseCloudTrailStartExecution(raw) };
    }
    case 'aws.cloudwatch CloudWatch Alarm State Change':
      return { kind: 'alarm-state', ...parseAlarmStateChange(raw) };
    case 'aws.cloudwatch CloudWatch Alarm Configuration Change':
      return { kind: 'alarm-config', ...parseAlarmConfigurationChange(raw) };
    case 'aws.states Step Functions Execution Status Change':
      return { kind: 'execution-status', ...parseExecutionStatusChange(raw) };
    case 'aws.ecr ECR Image Scan':
      return { kind: 'ecr-scan', ...parseEcrScanEvent(raw) };
    case 'aws.inspector2 Inspector2 Scan':
      return { kind: 'inspector-scan', ...parseInspectorScanEvent(raw) };
    default:
      return unknown(`Gantry does not consume ${JSON.stringify(detailType)} events from ${JSON.stringify(source)}`);
  }
}

function short(digest: string): string {
  const [alg, hex = ''] = digest.split(':');
  return hex.length > 12 ? `${alg}:${hex.slice(0, 12)}…` : digest;
}

/** One line describing an event, for logs and timelines. */
export function describeEvent(e: GantryEvent): string {
  switch (e.kind) {
    case 'ecr-push':
      return `ECR ${e.actionType} ${e.result} ${e.repositoryName}${e.tag ? `:${e.tag}` : ''}@${short(e.digest)}`;
    case 'cloudtrail-put-image':
      return `PutImage ${e.repositoryName}${e.tag ? `:${e.tag}` : ''}@${short(e.digest)} by ${e.principalArn ?? 'an AWS service'}`;
    case 'cloudtrail-start-execution':
      return `StartExecution ${e.executionName} by ${e.principalArn ?? 'an AWS service'}`;
    case 'alarm-state':
      return `alarm ${e.alarmName} ${e.previousState.value} -> ${e.state.value} at ${e.state.timestamp}`;
    case 'alarm-config':
      return `alarm ${e.alarmName} configuration ${e.operation}`;
    case 'execution-status':
      return `execution ${e.name} ${e.status}${e.error ? ` (${e.error})` : ''}`;
    case 'ecr-scan':
    case 'inspector-scan': {
      const counts = Object.entries(e.findingSeverityCounts)
        .map(([k, v]) => `${v} ${k}`)
        .join(', ');
      return `${e.kind === 'ecr-scan' ? 'ECR scan' : 'Inspector scan'} ${e.scanStatus} ${e.repositoryName}@${short(e.digest)}${counts ? ` (${counts})` : ''}`;
    }
    case 'unknown':
      return `ignored ${e.source} ${JSON.stringify(e.detailType)}: ${e.reason}`;
  }
}
