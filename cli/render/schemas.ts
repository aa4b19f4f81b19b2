/**
 * The `--json` outputs of the operator commands (`status`, `releases`, `freeze status`, `start`,
 * `rollback`) and of `doctor`: one zod schema each. Scripts may rely on every field named here; fields are only ever
 * added. The tests validate real outputs against them; `z.toJSONSchema(OUTPUT_SCHEMAS.status,
 * { unrepresentable: 'any' })` gives a JSON Schema for other tools.
 */
import { z } from 'zod';
import { CHECK_IDS, CHECK_STATUSES } from '../../lambdas/domain/doctor';
import { RELEASE_STATUSES, STAGE_STATUSES } from '../../lambdas/domain/types';

const iso = z.string().refine((s) => !Number.isNaN(Date.parse(s)), { message: 'expected an ISO-8601 instant' });
const nullableIso = iso.nullable();

export const waitingSchema = z.object({
  /** What the stage waits for. */
  for: z.enum(['window', 'approval', 'lease', 'scan', 'bake', 'other']),
  since: iso,
  /** When the wait ends by itself (window opens, approval times out, bake ends), when known. */
  until: nullableIso,
  /** The reason in words, as `gantry status` prints it. */
  message: z.string().min(1),
  approvers: z.array(z.string()).optional(),
  holder: z.string().nullable().optional(),
  alarms: z.array(z.string()).optional(),
  /** An approval wait (decision 050): how many distinct persons must approve, and who has. */
  required: z.number().int().min(1).optional(),
  approvedBy: z.array(z.string()).optional(),
});
export type Waiting = z.infer<typeof waitingSchema>;

export const stageStatusSchema = z.object({
  name: z.string().min(1),
  status: z.enum(STAGE_STATUSES),
  phase: z.enum(['not-started', 'starting', 'lease', 'window', 'gates', 'scan', 'approval', 'deploy', 'bake', 'rollback', 'done']),
  waiting: waitingSchema.nullable(),
  /** What the stage is doing, or how it ended, in words. */
  activity: z.string(),
  deployedDigest: z.string().nullable(),
  startedAt: nullableIso,
  endedAt: nullableIso,
  gates: z.array(z.object({ gate: z.string(), result: z.enum(['PASS', 'FAIL', 'WARN']), reason: z.string() })),
  approval: z.object({ decision: z.string(), principal: z.string().nullable(), at: iso }).nullable(),
  /** Every decision on the stage's approval so far, oldest first (decision 050: N-of-M); absent when there is none. */
  approvals: z.array(z.object({ principal: z.string(), person: z.string().nullable(), decision: z.string(), at: iso })).optional(),
  /** How many distinct persons must approve the stage (absent: the stage asked for no approval yet). */
  approvalsRequired: z.number().int().min(1).optional(),
  /** A wave stage (decision 044): which cluster runs what, per the ledger. Absent for a stage with one cluster. */
  clusters: z
    .array(z.object({ cluster: z.string(), wave: z.number().int().nullable(), deploy: z.string().nullable(), rollback: z.string().nullable(), runs: z.string().nullable() }))
    .optional(),
  /**
   * A Terraform stage that plans before its approval (decision 049): its current saved plan — the sha256 the approvers
   * approve (`gantry approve --plan`), its key and counts. Absent for other stages.
   */
  plan: z
    .object({ sha256: z.string(), key: z.string(), adds: z.number().int(), changes: z.number().int(), destroys: z.number().int(), attempt: z.number().int(), at: iso })
    .optional(),
});
export type StageStatusView = z.infer<typeof stageStatusSchema>;

export const releaseStatusSchema = z.object({
  releaseId: z.string().min(1),
  kind: z.enum(['release', 'rollback', 'drill']),
  service: z.string(),
  digest: z.string().nullable(),
  tag: z.string().nullable(),
  initiator: z.string().nullable(),
  status: z.enum(RELEASE_STATUSES),
  reason: z.string().nullable(),
  requestReason: z.string().nullable(),
  /** A promotion (decision 054): the stage the release started at; null for a release from the first stage. */
  startAt: z.string().nullable(),
  /** The change record the release answers to and the image's commit (decision 051); null when neither was recorded. */
  change: z.object({ id: z.string().nullable(), commit: z.string().nullable() }).nullable(),
  /** The break-glass reason, when the release bypassed windows. */
  breakGlass: z.string().nullable(),
  /** `gantry abort` (decision 053): who asked to stop it, why and when; absent when nobody did. */
  abort: z.object({ by: z.string(), reason: z.string(), at: iso }).optional(),
  startedAt: iso,
  endedAt: nullableIso,
  /** The backend's clock when the answer was read (virtual for a local Gantry). */
  now: iso,
  execution: z.object({ status: z.string(), arn: z.string(), error: z.string().nullable(), cause: z.string().nullable() }).nullable(),
  consoleUrl: z.string().nullable(),
  stages: z.array(stageStatusSchema),
  /** The exit code `gantry status` returns for this release (0 SUCCEEDED or RUNNING, 1 otherwise). */
  exitCode: z.number().int().min(0).max(1),
});
export type ReleaseStatusView = z.infer<typeof releaseStatusSchema>;

/** `gantry status --json`: one release, or every release of `--service` that is running (newest first) or its latest. */
export const statusOutputSchema = z.object({
  source: z.string(),
  simulated: z.boolean(),
  releases: z.array(releaseStatusSchema),
});

export const releaseListItemSchema = z.object({
  releaseId: z.string().min(1),
  kind: z.enum(['release', 'rollback', 'drill']),
  service: z.string(),
  status: z.enum(RELEASE_STATUSES),
  digest: z.string().nullable(),
  tag: z.string().nullable(),
  initiator: z.string().nullable(),
  startedAt: iso,
  endedAt: nullableIso,
  reason: z.string().nullable(),
  stages: z.array(z.object({ name: z.string(), status: z.enum(STAGE_STATUSES) })),
  /** Decision 051: the change record id, the commit and each stage's range, when the service has a changeRecord or source. */
  change: z
    .object({
      id: z.string().min(1).max(100).optional(),
      commit: z
        .string()
        .regex(/^[0-9a-f]{7,64}$/)
        .optional(),
      stages: z.record(
        z.string(),
        z.object({
          from: z.object({ digest: z.string(), commit: z.string().optional() }).optional(),
          to: z.object({ digest: z.string(), commit: z.string().optional() }),
          compareUrl: z.string().startsWith('https://').optional(),
        }),
      ),
    })
    .optional(),
});

/** `gantry releases --json`. */
export const releasesOutputSchema = z.object({
  source: z.string(),
  simulated: z.boolean(),
  now: iso,
  releases: z.array(releaseListItemSchema),
});

/** `gantry freeze status --json` (and `freeze on|off --json`). */
export const freezeOutputSchema = z.object({
  source: z.string(),
  simulated: z.boolean(),
  on: z.boolean(),
  reason: z.string().nullable(),
  principal: z.string().nullable(),
  at: nullableIso,
});

/** `gantry start --json` and `gantry rollback --json`. */
export const startOutputSchema = z.object({
  source: z.string(),
  simulated: z.boolean(),
  releaseId: z.string().min(1),
  kind: z.enum(['release', 'rollback', 'drill']),
  executionArn: z.string(),
  consoleUrl: z.string().nullable(),
  alreadyExists: z.boolean(),
  /** The input sent to the workflow (validated). */
  input: z.record(z.string(), z.unknown()),
  /** The release's status when the command returned (a refused rollback is BLOCKED at once), when known. */
  status: z.enum(RELEASE_STATUSES).nullable(),
  reason: z.string().nullable(),
  /**
   * A refused rollback only: the digest running in the stage and the digests `--digest` may name, newest promotion first
   * (each whole, with the tags it was promoted under and when); null when they could not be read.
   */
  rollbackTargets: z
    .object({
      running: z.string().optional(),
      candidates: z.array(z.object({ digest: z.string(), tags: z.array(z.string()), promotedAt: z.string().optional() })),
    })
    .nullable()
    .optional(),
});

/** One check of `gantry doctor` (lambdas/domain/doctor.ts): ✓ pass, ✗ fail (with `fix`), – skip, ! error (a read failed). */
export const doctorCheckSchema = z.object({
  id: z.enum(CHECK_IDS),
  /** What was checked: a cluster, `cluster/role`, a repository, an alarm, a key. */
  subject: z.string().min(1),
  status: z.enum(CHECK_STATUSES),
  message: z.string().min(1),
  /** What to do, for a failed check; null otherwise. */
  fix: z.string().nullable(),
});

/** `gantry doctor --json`. */
export const doctorOutputSchema = z.object({
  source: z.string(),
  simulated: z.boolean(),
  /** `deployed` (a stack), `config` (a config before deploying: the roles' access entries are not checked), `local`. */
  mode: z.enum(['deployed', 'config', 'local']),
  /** The region Gantry runs in (repositories, alarms, trail). */
  region: z.string(),
  /** The config file read (null for a local Gantry, which has its own). */
  config: z.string().nullable(),
  /** Every check passed or was skipped. */
  ok: z.boolean(),
  /** 0 all hold, 1 one failed, 4 one could not be read. */
  exitCode: z.union([z.literal(0), z.literal(1), z.literal(4)]),
  summary: z.object({ pass: z.number().int(), fail: z.number().int(), skip: z.number().int(), error: z.number().int() }),
  checks: z.array(doctorCheckSchema),
});
export type DoctorOutput = z.infer<typeof doctorOutputSchema>;

/** A digest in a stage as `gantry stages --json` gives it (decision 055). */
const digestRefSchema = z.object({
  digest: z.string().min(1),
  /** The short form `sha256:1234567890ab` the human output prints. */
  short: z.string().min(1),
  tag: z.string().nullable(),
  /** running: when it was deployed in the stage; lastKnownGood: when it was promoted there (null: before the releases the ledger holds). */
  since: nullableIso,
  releaseId: z.string().nullable(),
});

/** One stage of one service in `gantry stages --json` (cli/stage-matrix.ts StageCell). */
export const stageCellSchema = z.object({
  service: z.string().min(1),
  stage: z.string().min(1),
  production: z.boolean(),
  /** EMPTY never deployed; HEALTHY runs its last known good; IN_FLIGHT something at work there; WAITING something waits for it; DEGRADED a bad last outcome or running ≠ last known good. */
  state: z.enum(['EMPTY', 'HEALTHY', 'IN_FLIGHT', 'WAITING', 'DEGRADED']),
  /** Why, in words. */
  reason: z.string().min(1),
  running: digestRefSchema.nullable(),
  lastKnownGood: digestRefSchema.nullable(),
  /** Releases, rollbacks and drills at work in or waiting for the stage, oldest first. */
  inFlight: z.array(
    z.object({
      releaseId: z.string().min(1),
      kind: z.enum(['release', 'rollback', 'drill']),
      status: z.enum(RELEASE_STATUSES),
      stageStatus: z.string(),
      phase: z.string(),
      waitingFor: z.enum(['window', 'approval', 'lease', 'scan', 'other']).nullable(),
      message: z.string(),
      digest: z.string().nullable(),
      startedAt: iso,
      tag: z.string().nullable(),
      /** `gantry abort` (decision 053): who asked to stop it and why, until the reconciler closes the record. */
      abort: z.object({ by: z.string(), reason: z.string(), at: iso }).nullable(),
    }),
  ),
  lastOutcome: z
    .object({
      releaseId: z.string().min(1),
      status: z.string(),
      at: iso,
      kind: z.enum(['release', 'rollback', 'drill']),
      releaseStatus: z.enum(RELEASE_STATUSES),
      deployed: z.boolean(),
    })
    .nullable(),
});

/** `gantry stages --json` (decision 055): what runs in each stage of each service, since when, and what is in flight. */
export const stageMatrixSchema = z.object({
  generatedAt: iso,
  source: z.string(),
  simulated: z.boolean(),
  /** Where the services and stages come from: the config, or (no config given) the releases seen. */
  layout: z.enum(['config', 'releases']),
  note: z.string().nullable(),
  services: z.array(z.object({ service: z.string().min(1), stages: z.array(stageCellSchema) })),
});

export const OUTPUT_SCHEMAS = {
  status: statusOutputSchema,
  releases: releasesOutputSchema,
  freeze: freezeOutputSchema,
  start: startOutputSchema,
  doctor: doctorOutputSchema,
} as const;
