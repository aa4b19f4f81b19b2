/**
 * The scenario file of `gantry simulate` (docs/scenarios.md), validated by one schema. Errors are one
 * line per problem naming the JSON path, like the config's.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { ACCESS_ROLES } from '../lambdas/domain/access-entries';
import { configJson, type GantryConfig, parseConfig, stageWorkload } from '../lambdas/domain/config';
import { isIsoDuration } from '../lambdas/domain/durations';
import { normalizeTimestamp } from '../lambdas/domain/events';
import { JsonReadError, parseStrictJson } from '../lambdas/domain/strict-json';
import { FAULT_OPERATIONS, FAULT_SERVICES, isFaultOperation } from './fault-operations';
import { ValidationError, formatIssues, prototypeKeyProblems } from '../lambdas/domain/validation';

const digest = z.string().regex(/^sha256:[a-f0-9]{64}$/, 'expected a digest sha256:<64 lowercase hex>');
const duration = z.string().refine((s) => isIsoDuration(s), { message: 'expected an ISO-8601 duration such as PT7M' });
// A date that exists (normalizeTimestamp refuses 2026-02-30, which Date.parse quietly turns into 2 March).
const instant = z.string().refine((s) => normalizeTimestamp(s) !== undefined, { message: 'expected an ISO-8601 UTC instant such as 2026-11-24T10:00:00Z' });
const principal = z.string().regex(/^arn:aws[a-z-]*:(iam|sts)::\d{12}:\S+$/, 'expected an IAM or STS principal ARN');
const alarmState = z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA', 'MISSING']);
const rawEvent = z.looseObject({ 'detail-type': z.string(), source: z.string(), detail: z.record(z.string(), z.unknown()) });

const scan = z.strictObject({
  /** ACTIVE: Amazon Inspector enhanced (continuous) scanning has scanned the image (an addition to the base format, docs/scenarios.md). */
  status: z.enum(['COMPLETE', 'ACTIVE', 'IN_PROGRESS', 'FAILED', 'NONE']),
  completesAfter: duration.optional(),
  /** What an IN_PROGRESS scan ends as after completesAfter (default COMPLETE; FAILED: ECR's scan failed). */
  completesAs: z.enum(['COMPLETE', 'FAILED']).optional(),
  /**
   * The scan's end event on the default bus (ECR Image Scan, or Inspector2 Scan when the registry uses enhanced
   * scanning): `send` (default), `drop` (never delivered: the scan wait's deadline is the safety net), `twice`
   * (delivered twice, as EventBridge may). An addition to the base format, docs/scenarios.md.
   */
  completionEvent: z.enum(['send', 'drop', 'twice']).optional(),
  findings: z
    .array(
      z.strictObject({
        id: z.string().min(1),
        severity: z.enum(['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL', 'UNDEFINED', 'UNTRIAGED']),
        package: z.string().optional(),
        exploitAvailable: z.boolean().optional(),
        fixAvailable: z.boolean().optional(),
      }),
    )
    .default([]),
  /**
   * Findings of Amazon Inspector enhanced scanning, verbatim as DescribeImageScanFindings returns them in
   * `imageScanFindings.enhancedFindings` (Inspector's shape: packageVulnerabilityDetails, severity,
   * exploitAvailable, fixAvailable, ...). The local cloud reads them with the real adapter's parser
   * (an addition to the base format, docs/scenarios.md).
   */
  enhancedFindings: z.array(z.record(z.string(), z.unknown())).optional(),
});

/** A cosign signature the local cloud makes for real: `valid` (signed by that key), `invalid` (signature bytes corrupted), `missing` (no .sig). */
const signature = z.strictObject({
  key: z.string().min(1),
  state: z.enum(['valid', 'invalid', 'missing']),
  /** The digest the signed payload names (default: the image's own): a signature copied from another image. */
  forDigest: digest.optional(),
});

/** One platform image of a multi-arch image (the image's digest becomes an OCI image index). */
const platform = z.strictObject({
  platform: z.string().regex(/^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/, 'expected os/architecture[/variant] such as linux/arm64'),
  /** Default: derived from the image digest and the platform. */
  digest: digest.optional(),
  /** Default: the image's labels. */
  labels: z.record(z.string(), z.string()).optional(),
  /** Default: the image's scan. */
  scan: scan.optional(),
  /** A signature of this platform manifest itself (cosign sign --recursive). */
  signature: signature.optional(),
});

const image = z.strictObject({
  digest,
  tags: z.array(z.string()).default([]),
  pushedAt: instant.optional(),
  labels: z.record(z.string(), z.string()).default({}),
  scan: scan.default({ status: 'COMPLETE', findings: [] }),
  signature: signature.optional(),
  platforms: z.array(platform).min(1, 'expected at least one platform').optional(),
});

const PHASES = ['window', 'gates', 'approval', 'deploy', 'bake', 'rollback'] as const;
/** The bake of canary step n (1-based) of a canary stage: `canary-1`, `canary-2`, … (docs/scenarios.md). */
const CANARY_PHASE = /^canary-[1-9][0-9]?$/;
const when = z.union(
  [
    z.strictObject({ at: duration }),
    z.strictObject({
      service: z.string(),
      stage: z.string(),
      phase: z.string().refine((p) => (PHASES as readonly string[]).includes(p) || CANARY_PHASE.test(p), {
        message: `expected one of ${PHASES.join(', ')} or canary-<step> (a canary step's bake, 1-based)`,
      }),
      after: duration.default('PT0S'),
      /**
       * Only that release's phase (an execution name). A local Gantry's decisions name the release they were taken on, so a
       * second release reaching the same stage's approval is never decided by a line meant for another (issue 20).
       */
      release: z.string().min(1).optional(),
    }),
  ],
  { error: () => `expected {"at": "<ISO-8601 duration>"} or {"service", "stage", "phase": one of ${PHASES.join(', ')} or canary-<step>, "after"?}` },
);

/** A decision's saved Terraform plan (decision 049): its sha256, or null for none. */
const planSha256 = z
  .string()
  .regex(/^[a-f0-9]{64}$/, 'expected a sha256 (64 lowercase hex digits) or null')
  .nullable();

const scriptLine = z
  .strictObject({
    when,
    alarm: z
      .strictObject({
        name: z.string().min(1),
        state: z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']),
        reason: z.string().optional(),
        /** The cluster key whose account and region the alarm is in (issue 18); absent: Gantry's own account. */
        cluster: z.string().min(1).optional(),
      })
      .optional(),
    // planSha256 (decision 049): the saved plan decided on; absent, the stage's current plan (the approver read the
    // request); null, none (`gantry approve` without --plan).
    approve: z.strictObject({ principal, comment: z.string().optional(), planSha256: planSha256.optional() }).optional(),
    reject: z.strictObject({ principal, comment: z.string().optional(), planSha256: planSha256.optional() }).optional(),
    deploy: z
      .strictObject({
        result: z.enum(['SUCCEEDED', 'FAILED']).default('SUCCEEDED'),
        message: z.string().optional(),
        duration: duration.optional(),
        /** Terraform stages: the plan also deletes this many resources (refused unless the stage's deploy.allowDestroy). */
        planDestroys: z.number().int().min(0).max(1000).optional(),
        /**
         * Terraform stages that plan before their approval (decision 049): the state moves before this apply (another
         * change applied since the plan), so Terraform refuses the saved plan as stale and nothing is applied.
         */
        planStale: z.boolean().optional(),
        /** A wave stage (decision 044): only this cluster's run takes the line (a cluster key of the config). */
        cluster: z.string().min(1).optional(),
      })
      .optional(),
    fault: z
      .strictObject({
        service: z.enum(FAULT_SERVICES),
        /** One of FAULT_OPERATIONS[service] (checked below: a misspelt name would never fire). */
        operation: z.string().min(1),
        error: z.string().regex(/^[A-Za-z][A-Za-z0-9.]{0,127}$/, 'expected an AWS error code such as ThrottlingException'),
        count: z.number().int().min(1).default(1),
      })
      .optional(),
    abort: z.strictObject({ service: z.string(), stage: z.string().optional() }).optional(),
    event: rawEvent.optional(),
  })
  .superRefine((line, ctx) => {
    if (line.fault && !isFaultOperation(line.fault.service, line.fault.operation)) {
      ctx.addIssue({
        code: 'custom',
        path: ['fault', 'operation'],
        message: `expected an operation the local cloud can fail for ${line.fault.service} (${FAULT_OPERATIONS[line.fault.service].join(', ')}), got ${JSON.stringify(line.fault.operation)}`,
      });
    }
    const actions = ['alarm', 'approve', 'reject', 'deploy', 'fault', 'abort', 'event'].filter((k) => (line as Record<string, unknown>)[k] !== undefined);
    if (actions.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: `expected exactly one action of alarm, approve, reject, deploy, fault, abort, event, got ${actions.length ? actions.join(' and ') : 'none'}`,
      });
    }
    // Every action takes either form of `when` (docs/scenarios.md): { at } from the start, or { service, stage, phase, after }.
    // An abort on a phase stops the release in that phase of that stage: its service and stage must be the phase's.
    const w = line.when;
    if (line.abort && 'phase' in w) {
      if (line.abort.service !== w.service) {
        ctx.addIssue({
          code: 'custom',
          path: ['abort', 'service'],
          message: `expected ${JSON.stringify(w.service)} (the service of when), got ${JSON.stringify(line.abort.service)}`,
        });
      }
      if (line.abort.stage !== undefined && line.abort.stage !== w.stage) {
        ctx.addIssue({
          code: 'custom',
          path: ['abort', 'stage'],
          message: `expected ${JSON.stringify(w.stage)} (the stage of when) or no stage, got ${JSON.stringify(line.abort.stage)}`,
        });
      }
    }
  });

const trigger = z.discriminatedUnion(
  'type',
  [
    z.strictObject({
      type: z.literal('ecr-push'),
      repository: z.string().min(1),
      tag: z.string().optional(),
      digest,
      copies: z.number().int().min(1).max(100).default(1),
      principal: principal.optional(),
      at: duration.default('PT0S'),
    }),
    z.strictObject({ type: z.literal('start'), principal, input: z.unknown(), at: duration.default('PT0S') }),
    z.strictObject({ type: z.literal('event'), event: rawEvent, at: duration.default('PT0S'), copies: z.number().int().min(1).max(100).default(1) }),
    z.strictObject({ type: z.literal('rollback'), principal, input: z.unknown(), at: duration.default('PT0S') }),
    /**
     * `gantry drill` (decision 052, an addition to the base format, docs/scenarios.md): a rollback drill of a stage through
     * the operator API as `principal`; with `schedule` instead, as the stack's EventBridge schedule starts it (no principal).
     */
    z
      .strictObject({
        type: z.literal('drill'),
        principal: principal.optional(),
        schedule: z.string().min(1).optional(),
        input: z.strictObject({ service: z.string().min(1), stage: z.string().min(1), reason: z.string().min(1).optional() }),
        at: duration.default('PT0S'),
      })
      .refine((t) => (t.principal === undefined) !== (t.schedule === undefined), {
        message: "expected either principal (an operator's drill) or schedule (a scheduled drill), not both",
      }),
    /**
     * A start from the Step Functions console (an addition to the base format, docs/scenarios.md): StartExecution of
     * the release (or rollback) workflow under `name`, with no start record, so the release starts unattributed. Who
     * started it arrives only as CloudTrail's StartExecution record: feed it as an `event` trigger (decision 027).
     */
    z.strictObject({
      type: z.literal('console-start'),
      name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$/, 'expected an execution name: 1-80 of letters, digits, - and _'),
      workflow: z.enum(['release', 'rollback']).default('release'),
      input: z.unknown(),
      at: duration.default('PT0S'),
    }),
    /** `gantry freeze on|off --reason` by an operator (an addition to the base format, docs/scenarios.md). */
    z.strictObject({ type: z.literal('freeze'), state: z.enum(['on', 'off']), reason: z.string().min(1), principal, at: duration.default('PT0S') }),
    /**
     * `gantry abort` (decision 053, an addition to the base format, docs/scenarios.md): POST /aborts through the operator
     * API as `principal`, for `releaseId`, or for `service`'s running release at `at` (the newest-started RUNNING record
     * of the service: a release, rollback or drill). The API validates the reason.
     */
    z
      .strictObject({
        type: z.literal('abort'),
        principal,
        releaseId: z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$/, 'expected a release id: 1-80 of letters, digits, - and _')
          .optional(),
        service: z.string().min(1).optional(),
        reason: z.string(),
        at: duration.default('PT0S'),
      })
      .refine((t) => (t.releaseId === undefined) !== (t.service === undefined), {
        message: "expected either releaseId (that release) or service (the service's running release at `at`), not both",
      }),
    /** The daily insight check (stale services, drift), run once at `at` through statemachines/insight.asl.json (an addition to the base format, docs/scenarios.md). */
    z.strictObject({ type: z.literal('insight-check'), at: duration.default('PT0S') }),
    /** An out-of-band change: someone runs `kubectl set image` on the stage's workload (an addition to the base format, docs/scenarios.md). */
    z.strictObject({
      type: z.literal('kubectl-set-image'),
      service: z.string().min(1),
      stage: z.string().min(1),
      image: z.string().regex(/^[^\s@]+(@sha256:[a-f0-9]{64})?$/, 'expected an image reference such as repo:tag or registry/repo@sha256:<64 hex>'),
      container: z.string().optional(),
      /** A stage with waves (decision 044): which of its clusters (a cluster key); default its first. */
      cluster: z.string().min(1).optional(),
      at: duration.default('PT0S'),
    }),
  ],
  {
    error: (iss) =>
      iss.code === 'invalid_union'
        ? 'expected a trigger whose type is "ecr-push", "start", "console-start", "event", "rollback", "drill", "freeze", "abort", "insight-check" or "kubectl-set-image"'
        : undefined,
  },
);

// ---------------------------------------------------------------- what `gantry doctor --local` reads (an addition to the base format, docs/scenarios.md)

const k8sName = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'expected a Kubernetes namespace');
/** An access policy associated with an access entry: an EKS access policy name (AmazonEKSEditPolicy) and its scope. */
const eksAccessPolicy = z.strictObject({
  policy: z.string().regex(/^[A-Za-z0-9]+$/, 'expected an EKS access policy name such as AmazonEKSEditPolicy'),
  scope: z.enum(['namespace', 'cluster']).default('namespace'),
  namespaces: z.array(k8sName).default([]),
});
/** An access entry: `principal` is one of Gantry's roles (helmDriver, …: the local cloud's ARN of it) or any IAM principal ARN. */
const eksAccessEntry = z.strictObject({
  principal: z.string().refine((p) => (ACCESS_ROLES as readonly string[]).includes(p) || /^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/\S+$/.test(p), {
    message: `expected one of Gantry's roles (${ACCESS_ROLES.join(', ')}) or an IAM role or user ARN`,
  }),
  type: z.enum(['STANDARD', 'EC2_LINUX', 'EC2_WINDOWS', 'FARGATE_LINUX', 'EC2', 'HYBRID_LINUX', 'HYPERPOD_LINUX']).default('STANDARD'),
  kubernetesGroups: z.array(z.string().min(1)).default([]),
  policies: z.array(eksAccessPolicy).default([]),
});
/**
 * An EKS cluster of the local cloud, by cluster name. A cluster of the config that is not named here exists, ACTIVE,
 * with API_AND_CONFIG_MAP authentication, a public endpoint and every access entry Gantry needs; "MISSING": it does not exist.
 */
const eksCluster = z.union(
  [
    z.strictObject({
      status: z.enum(['CREATING', 'ACTIVE', 'DELETING', 'FAILED', 'UPDATING', 'PENDING']).default('ACTIVE'),
      authenticationMode: z.enum(['API', 'API_AND_CONFIG_MAP', 'CONFIG_MAP']).default('API_AND_CONFIG_MAP'),
      endpointPublicAccess: z.boolean().default(true),
      endpointPrivateAccess: z.boolean().default(false),
      publicAccessCidrs: z.array(z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'expected an IPv4 CIDR such as 0.0.0.0/0')).default(['0.0.0.0/0']),
      /** Absent: the entries Gantry needs (lambdas/domain/access-entries.ts). Given: exactly these. */
      accessEntries: z.array(eksAccessEntry).optional(),
    }),
    z.literal('MISSING'),
  ],
  {
    error: (iss) =>
      iss.code === 'invalid_union'
        ? 'expected "MISSING" or a cluster object {status, authenticationMode, endpointPublicAccess, endpointPrivateAccess, publicAccessCidrs, accessEntries}'
        : undefined,
  },
);
const wildcardFilter = z.strictObject({ filter: z.string().min(1), filterType: z.literal('WILDCARD').default('WILDCARD') });
/** ECR's registry scanning configuration. Absent: BASIC with no rule (each repository's scanOnPush decides). */
const registryScanning = z.strictObject({
  scanType: z.enum(['BASIC', 'ENHANCED']).default('BASIC'),
  rules: z.array(z.strictObject({ scanFrequency: z.enum(['SCAN_ON_PUSH', 'CONTINUOUS_SCAN', 'MANUAL']), repositoryFilters: z.array(wildcardFilter).min(1) })).default([]),
});
/** A CloudTrail trail. Absent `trails`: one multi-region trail logging every management event. */
const trail = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{2,127}$/, 'expected a trail name'),
  homeRegion: z
    .string()
    .regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'expected an AWS region such as eu-west-2')
    .optional(),
  multiRegion: z.boolean().default(true),
  logging: z.boolean().default(true),
  /** Which management events it logs (its basic event selector's ReadWriteType), or None. */
  managementEvents: z.enum(['All', 'WriteOnly', 'ReadOnly', 'None']).default('All'),
});
/** A KMS key, by key ARN. A KMS key ARN of signing.keys that is not named here does not exist in the local cloud. */
const kmsKey = z.strictObject({
  keySpec: z
    .string()
    .regex(/^[A-Z0-9_]+$/, 'expected a KMS key spec such as ECC_NIST_P256')
    .default('ECC_NIST_P256'),
  keyUsage: z.enum(['SIGN_VERIFY', 'ENCRYPT_DECRYPT', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT']).default('SIGN_VERIFY'),
  keyState: z.enum(['Enabled', 'Disabled', 'PendingDeletion', 'PendingImport', 'Unavailable', 'Creating', 'Updating', 'PendingReplicaDeletion']).default('Enabled'),
});

export const scenarioSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  config: z.union([z.string().min(1), z.record(z.string(), z.unknown())]),
  clock: instant,
  ecr: z
    .record(
      z.string(),
      z.strictObject({
        tagMutability: z.enum(['IMMUTABLE', 'MUTABLE', 'IMMUTABLE_WITH_EXCLUSION', 'MUTABLE_WITH_EXCLUSION']).default('IMMUTABLE'),
        /** ECR WILDCARD exclusion filters of an *_WITH_EXCLUSION setting, such as "latest" or "dev-*". */
        tagMutabilityExclusions: z.array(z.string().min(1)).default([]),
        /** Basic scanning on push (imageScanningConfiguration.scanOnPush); absent: on (an addition to the base format, docs/scenarios.md). */
        scanOnPush: z.boolean().optional(),
        images: z.array(image).default([]),
      }),
    )
    .default({}),
  /** Signing keys the local cloud holds: "generate" makes a P-256 key pair; otherwise a PEM private key. */
  keys: z.record(z.string(), z.union([z.literal('generate'), z.string().regex(/^-----BEGIN (EC |RSA )?PRIVATE KEY-----/, 'expected "generate" or a PEM private key')])).default({}),
  stages: z
    .record(
      z.string().regex(/^[^/]+\/[^/]+$/, 'expected "<service>/<stage>"'),
      z.strictObject({ running: digest.optional(), lastKnownGood: digest.optional(), promoted: z.array(digest).optional() }),
    )
    .default({}),
  alarms: z.record(z.string(), alarmState).default({}),
  /** Cluster roles (`clusters.<key>.roleArn`) the target account does not have (its companion stack not deployed): AssumeRole is refused. */
  missingRoles: z.array(z.string().min(1)).optional(),
  /**
   * CloudWatch metric series for GetMetricData (the canary analysis; an addition to the base format, docs/scenarios.md):
   * one value a minute from `start` (after the clock's start), for the metric with exactly these dimensions.
   */
  metrics: z
    .array(
      z.strictObject({
        namespace: z.string().min(1),
        name: z.string().min(1),
        dimensions: z.record(z.string(), z.string()),
        start: duration.default('PT0S'),
        values: z.array(z.number({ error: 'expected a number per minute' })).max(10_080, 'expected at most a week of minutes'),
      }),
    )
    .default([]),
  triggers: z.array(trigger).default([]),
  script: z.array(scriptLine).default([]),
  /** EKS clusters by name (gantry doctor --local). */
  eks: z.record(z.string(), eksCluster).optional(),
  registryScanning: registryScanning.optional(),
  trails: z.array(trail).optional(),
  /** KMS keys by key ARN (gantry doctor --local). */
  kms: z.record(z.string().regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/, 'expected a KMS key ARN'), kmsKey).optional(),
});

export type Scenario = z.output<typeof scenarioSchema>;
export type ScriptLine = Scenario['script'][number];
export type Trigger = Scenario['triggers'][number];
export type ScenarioImage = z.output<typeof image>;
export type ScenarioPlatform = z.output<typeof platform>;
export type ScenarioSignature = z.output<typeof signature>;
export type ScenarioEksCluster = Exclude<z.output<typeof eksCluster>, 'MISSING'>;
export type ScenarioAccessEntry = z.output<typeof eksAccessEntry>;

export interface LoadedScenario {
  readonly scenario: Scenario;
  readonly config: GantryConfig;
  readonly path?: string;
}

/** Validate a scenario and its config; every problem of either is a ValidationError line. */
export function loadScenario(raw: unknown, baseDir: string, path?: string): LoadedScenario {
  const r = scenarioSchema.safeParse(raw);
  // zod drops a `__proto__` key from records silently: refuse it like any unknown field.
  const early = [...new Set([...(r.success ? [] : formatIssues(r.error.issues, raw)), ...prototypeKeyProblems(raw)])];
  if (!r.success || early.length > 0) throw new ValidationError(path ?? 'scenario', early);
  const scenario = r.data;
  let configRaw: unknown = scenario.config;
  let configSource = `${path ?? 'scenario'}: config`;
  if (typeof scenario.config === 'string') {
    const file = resolve(baseDir, scenario.config);
    configSource = file;
    configRaw = readConfigFile(file, scenario.config, path ?? 'scenario');
  }
  const config = parseConfig(configRaw, configSource);
  const problems: string[] = [];
  // Own keys only: a name such as "constructor" must not find Object.prototype's members.
  const own = <T>(o: Record<string, T>, k: string): T | undefined => (Object.hasOwn(o, k) ? o[k] : undefined);
  scenario.script.forEach((line, i) => {
    if (line.abort && !('service' in line.when)) {
      const svc = own(config.services, line.abort.service);
      if (!svc) problems.push(`script[${i}].abort.service: expected one of ${Object.keys(config.services).join(', ')}, got ${JSON.stringify(line.abort.service)}`);
      else if (line.abort.stage !== undefined && !svc.stages.some((s) => s.name === line.abort?.stage)) {
        problems.push(`script[${i}].abort.stage: expected one of ${svc.stages.map((s) => s.name).join(', ')}, got ${JSON.stringify(line.abort.stage)}`);
      }
    }
    if (line.alarm?.cluster !== undefined && !own(config.clusters, line.alarm.cluster)) {
      problems.push(`script[${i}].alarm.cluster: expected one of the keys of "clusters" (${Object.keys(config.clusters).join(', ')}), got ${JSON.stringify(line.alarm.cluster)}`);
    }
    if ('service' in line.when) {
      const svc = own(config.services, line.when.service);
      if (!svc) problems.push(`script[${i}].when.service: expected one of ${Object.keys(config.services).join(', ')}, got ${JSON.stringify(line.when.service)}`);
      else if (!svc.stages.some((s) => s.name === (line.when as { stage: string }).stage)) {
        problems.push(`script[${i}].when.stage: expected one of ${svc.stages.map((s) => s.name).join(', ')}, got ${JSON.stringify(line.when.stage)}`);
      }
    }
  });
  for (const [repo, r] of Object.entries(scenario.ecr)) {
    r.images.forEach((img, i) => {
      const signed = [
        { path: `ecr[${JSON.stringify(repo)}].images[${i}].signature.key`, sig: img.signature },
        ...(img.platforms ?? []).map((p, j) => ({ path: `ecr[${JSON.stringify(repo)}].images[${i}].platforms[${j}].signature.key`, sig: p.signature })),
      ];
      for (const { path: at, sig } of signed) {
        if (sig && sig.state !== 'missing' && !Object.hasOwn(scenario.keys, sig.key)) {
          problems.push(
            `${at}: expected a key of "keys" (the local cloud signs only with keys it holds: ${Object.keys(scenario.keys).join(', ') || 'none'}), got ${JSON.stringify(sig.key)}`,
          );
        }
      }
    });
  }
  scenario.triggers.forEach((t, i) => {
    if (t.type !== 'kubectl-set-image') return;
    const st = own(config.services, t.service)?.stages.find((x) => x.name === t.stage);
    if (!st) problems.push(`triggers[${i}]: expected a service and stage of the config, got ${JSON.stringify(`${t.service}/${t.stage}`)}`);
    else if (!stageWorkload(st) && !t.container)
      problems.push(`triggers[${i}].container: expected a container name (stage ${t.service}/${t.stage} has no workload in the config), got nothing`);
  });
  for (const key of Object.keys(scenario.stages)) {
    const [svc, st] = key.split('/') as [string, string];
    if (!own(config.services, svc)?.stages.some((s) => s.name === st)) problems.push(`stages["${key}"]: expected "<service>/<stage>" of the config, got ${JSON.stringify(key)}`);
  }
  if (problems.length) throw new ValidationError(path ?? 'scenario', problems);
  return { scenario, config, path };
}

/**
 * A scenario's JSON text, read strictly (lambdas/domain/strict-json.ts): a duplicate key or nesting past the
 * limit is refused with its JSON path, like any other problem of the scenario. @throws ValidationError
 */
export function scenarioJson(text: string, source: string): unknown {
  try {
    return parseStrictJson(text);
  } catch (e) {
    if (!(e instanceof JsonReadError)) throw e;
    throw new ValidationError(source, e.syntax ? [`(root): expected a readable JSON file (${e.message})`] : e.problems);
  }
}

/** A scenario file's JSON (scenarioJson). @throws ValidationError */
export function readScenarioJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ValidationError(file, [`(root): expected a readable JSON file (${(e as Error).message})`]);
  }
  return scenarioJson(text, file);
}

/** The config file a scenario names (`config: "path"`), read strictly (configJson): its own problems are reported against it. */
export function readConfigFile(file: string, given: string, scenarioSource: string): unknown {
  try {
    return configJson(readFileSync(file, 'utf8'), file);
  } catch (e) {
    if (e instanceof ValidationError) throw e;
    throw new ValidationError(scenarioSource, [`config: expected a readable JSON file, got ${JSON.stringify(given)} (${(e as Error).message})`]);
  }
}

/** A scenario given as text, validated as `gantry simulate` validates a file (`source` names it in messages). */
export function loadScenarioText(text: string, baseDir: string, source: string): LoadedScenario {
  return loadScenario(scenarioJson(text, source), baseDir, source);
}

export function loadScenarioFile(file: string): LoadedScenario {
  return loadScenario(readScenarioJson(file), dirname(resolve(file)), file);
}
