/**
 * The deployment config (docs/contracts.md §1): policy as code, parsed once by one schema.
 * Pure: no AWS SDK, no I/O. `parseConfig` takes an already-read JSON value.
 */
import { createHash } from 'node:crypto';
import { IANAZone } from './time-zones';
import * as z from 'zod';
import { PERSON_NAME, type PersonPattern, parsePersonPattern, patternsOverlap } from './approvers';
import { DEFAULT_AUTHOR_LABEL, MAX_REQUIRED_APPROVALS } from './approval-quorum';
import { canonicalJson } from './canonical';
import { historyBudgetProblems } from './history-budget';
import { DRIVERS, deploySchemaOf } from '../../drivers';
import { k8sName, positiveMinutes } from './config-fields';
import { JsonReadError, parseStrictJson } from './strict-json';
import { tagPatternProblem } from './tag-pattern';
import { formatIssues, jsonPath, prototypeKeyProblems, ValidationError } from './validation';

/** Names that reach a shell (as environment variables) or a resource name: letters, digits, - _ . / */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9._/-]{0,127}$/;
export { K8S_NAME_PATTERN } from './config-fields';
export const DIGEST_PATTERN = /^sha256:[a-f0-9]{64}$/;
export const TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
/** ECR repository names (optionally namespaced with /), as ECR itself allows them. */
export const REPOSITORY_PATTERN = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
export const SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL', 'UNDEFINED', 'UNTRIAGED'] as const;
export const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;

/** A calendar date that exists: 2027-13-01 or 2026-02-30 match the pattern and mean nothing. */
const realDate = (s: string) => {
  // Only a string of the right shape is checked here; the pattern reports the rest.
  if (!/^\d{4}-\d{2}-\d{2}/.test(s)) return true;
  const [y, m, d] = s.slice(0, 10).split('-').map(Number) as [number, number, number];
  const probe = new Date(Date.UTC(y, m - 1, d));
  return probe.getUTCFullYear() === y && probe.getUTCMonth() === m - 1 && probe.getUTCDate() === d;
};
const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date YYYY-MM-DD')
  .refine(realDate, { message: 'expected a date YYYY-MM-DD that exists on the calendar' });
const localDateTime = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/, 'expected a local date-time YYYY-MM-DDTHH:MM')
  .refine(realDate, { message: 'expected a local date-time YYYY-MM-DDTHH:MM on a date that exists on the calendar' });
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'expected a time HH:MM from 00:00 to 24:00');
const minutes = (max: number) =>
  z
    .number({ error: `expected a whole number from 0 to ${max}` })
    .int(`expected a whole number from 0 to ${max}`)
    .min(0, `expected a whole number from 0 to ${max}`)
    .max(max, `expected a whole number from 0 to ${max}`);
const name = (what: string) => z.string().regex(NAME_PATTERN, `expected ${what} matching ${NAME_PATTERN.source}`);
/** A tag pattern: intake matches it with RE2 (linear time), so it must compile there (lambdas/domain/tag-pattern.ts). */
const regex = z.string().superRefine((s, ctx) => {
  const problem = tagPatternProblem(s);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

const allowEntry = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'expected a finding id such as CVE-2024-1234'),
  expires: isoDate,
  reason: z.string().min(1, 'expected a non-empty reason'),
});

const imagePolicy = z.strictObject({
  maxFindings: z.partialRecord(z.enum(SEVERITIES), minutes(100000)).default({}),
  allow: z.array(allowEntry).default([]),
  requireImmutableTags: z.boolean().default(false),
  requireSignature: z
    .union([z.literal(false), z.strictObject({ keys: z.array(name('a key name')).min(1) })], {
      error: 'expected false or {"keys": [names of signing.keys entries]}',
    })
    .default(false),
  requiredLabels: z.array(z.string().min(1)).default([]),
  maxAgeDays: positiveMinutes(3650).optional(),
  scanWaitMinutes: minutes(240).default(15),
});

/** One `deploy` block per registered driver (drivers/index.ts): each driver's folder owns its schema. */
const deploy = deploySchemaOf(DRIVERS);

/**
 * The workload whose running image the drift check reads (eks:call GET). For a kubernetes stage it defaults to the
 * deploy's deployment and container; for Helm and Terraform stages drift is checked only where it is given.
 */
const workload = z.strictObject({
  deployment: k8sName('a Deployment name'),
  container: k8sName('a container name'),
});

/**
 * An allow window. `from` later than `to` runs across midnight: from `from` on each listed day until `to` on the
 * next day (lambdas/domain/windows.ts). `from` equal to `to` is refused: it would mean either nothing or all day.
 */
const allowWindow = z
  .strictObject({
    days: z.array(z.enum(DAYS)).min(1),
    from: hhmm.refine((t) => t !== '24:00', { message: 'expected a time HH:MM from 00:00 to 23:59 (a window cannot open at 24:00)' }),
    to: hhmm,
  })
  .superRefine((w, ctx) => {
    if (w.from === w.to) ctx.addIssue({ code: 'custom', path: ['to'], message: `expected a time different from from (${JSON.stringify(w.from)})` });
  });

const blackout = z.strictObject({ from: localDateTime, to: localDateTime, reason: z.string().min(1) }).superRefine((b, ctx) => {
  // Wall times compared as written (seconds default to :00): the zone shifts both alike.
  const wall = (s: string) => (s.length === 16 ? `${s}:00` : s);
  if (wall(b.to) <= wall(b.from)) ctx.addIssue({ code: 'custom', path: ['to'], message: `expected a local date-time after from (${JSON.stringify(b.from)})` });
});

const windowSpec = z.strictObject({
  timezone: z.string().refine((tz) => IANAZone.isValidZone(tz), { message: 'expected an IANA time zone such as Europe/London' }),
  allow: z.array(allowWindow).default([]),
  outside: z.enum(['wait', 'block']).default('wait'),
  blackouts: z.array(blackout).default([]),
});

const approval = z.strictObject({
  approvers: z
    .array(z.string().regex(/^arn:aws[a-z-]*:(iam|sts)::\d{12}:(role|user|assumed-role)\/[\w+=,.@/-]+$/, 'expected an IAM role, user or assumed-role ARN'))
    .min(1, 'expected at least one approver ARN'),
  timeoutMinutes: positiveMinutes(10080).default(1440),
  /**
   * How long an approval stays good for the deploy it allows. Unset: it stands however long the release
   * then waits (for a window, a lease). Checked at the point of action: an expired approval blocks the stage.
   */
  validForMinutes: positiveMinutes(10080).optional(),
  /**
   * N-of-M (decision 050): how many distinct persons must approve (absent: 1). Absent rather than defaulted, as
   * the two fields below, so configs written before them keep their config hash.
   */
  required: z
    .number({ error: `expected a whole number of approvals from 1 to ${MAX_REQUIRED_APPROVALS}` })
    .int(`expected a whole number of approvals from 1 to ${MAX_REQUIRED_APPROVALS}`)
    .min(1, `expected a whole number of approvals from 1 to ${MAX_REQUIRED_APPROVALS}`)
    .max(MAX_REQUIRED_APPROVALS, `expected a whole number of approvals from 1 to ${MAX_REQUIRED_APPROVALS}`)
    .optional(),
  /** Refuse a decision by an author of the image, as `authorLabel` names them (absent: false). */
  excludeAuthors: z.boolean({ error: 'expected true or false' }).optional(),
  /** The image label naming the authors (absent: org.opencontainers.image.authors). */
  authorLabel: z
    .string({ error: 'expected an image label name such as org.opencontainers.image.authors' })
    .regex(/^[A-Za-z0-9][A-Za-z0-9._\-/]{0,127}$/, 'expected an image label name such as org.opencontainers.image.authors (1-128 of letters, digits and ._-/)')
    .optional(),
});

/** A wave: cluster keys deployed at once (in parallel); the stage's waves run one after the other (decision 044). */
const wave = z.array(name('a cluster key'), { error: 'expected a list of cluster keys' }).min(1, 'expected at least one cluster key in a wave (no empty wave)');

const stageFields = z.strictObject({
  name: k8sName('a stage name'),
  /** The cluster the stage deploys to; a stage with `waves` names no cluster (it gets the first wave's first cluster). */
  cluster: name('a cluster key').optional(),
  /** Waves of clusters (decision 044): each wave's clusters in parallel, the waves in order. Instead of `cluster`. */
  waves: z.array(wave, { error: 'expected a list of waves, each a list of cluster keys' }).min(1, 'expected at least one wave').optional(),
  /** Minutes each wave but the last bakes on the stage's alarms before the next wave starts (absent: 0). */
  waveBakeMinutes: minutes(1440).optional(),
  namespace: k8sName('a namespace'),
  deploy,
  alarms: z.array(z.string().regex(/^[^\u0000-\u001f]{1,255}$/, 'expected a CloudWatch alarm name')).default([]),
  bakeMinutes: minutes(1440).default(0),
  insufficientData: z.enum(['fail', 'ignore']).default('fail'),
  /** How the bake watches its alarms: `event` (alarm events fail it at once) or `poll` (DescribeAlarms every intervalSeconds). */
  bake: z
    .strictObject({
      mode: z.enum(['event', 'poll']).default('event'),
      intervalSeconds: z
        .number({ error: 'expected a whole number of seconds from 10 to 3600' })
        .int('expected a whole number of seconds from 10 to 3600')
        .min(10, 'expected a whole number of seconds from 10 to 3600')
        .max(3600, 'expected a whole number of seconds from 10 to 3600')
        .default(60),
    })
    .default({ mode: 'event', intervalSeconds: 60 }),
  /** After a rollback deploy, how long to watch the stage's alarms before recording whether it recovered. */
  recoveryMinutes: minutes(60).default(5),
  approval: approval.optional(),
  windows: windowSpec.optional(),
  workload: workload.optional(),
});

/**
 * A stage: either `cluster` or `waves` (decision 044). After parsing, a stage given `waves` also has `cluster` = its
 * first wave's first cluster, so code that reads `st.cluster` still type-checks; every reader that acts on the
 * stage's clusters uses `stageClusters`/`stageWaves` instead.
 */
const stage = stageFields
  .superRefine((st, ctx) => {
    if (st.waves === undefined) {
      if (st.cluster === undefined) ctx.addIssue({ code: 'custom', path: ['cluster'], message: 'expected a cluster key, or waves (a list of waves of cluster keys)' });
      if (st.waveBakeMinutes !== undefined)
        ctx.addIssue({ code: 'custom', path: ['waveBakeMinutes'], message: 'expected waves alongside waveBakeMinutes (it is the bake between two waves)' });
      return;
    }
    if (st.cluster !== undefined)
      ctx.addIssue({ code: 'custom', path: ['cluster'], message: 'expected either cluster or waves, not both (a stage with waves deploys to the clusters of its waves)' });
    // A stage is either a canary or waves (decision 044): the canary's rollout lives in the kubernetes deploy block.
    if ((st.deploy as { rollout?: unknown }).rollout !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['waves'], message: 'expected either waves or a canary deploy.rollout, not both (a stage is either a canary or waves)' });
    }
    const seen = new Map<string, string>();
    st.waves.forEach((w, k) =>
      w.forEach((key, j) => {
        const first = seen.get(key);
        if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['waves', k, j], message: `expected each cluster once across all waves (${key} is already in ${first})` });
        else seen.set(key, `waves[${k}][${j}]`);
      }),
    );
  })
  .transform((st) => ({ ...st, cluster: (st.cluster ?? st.waves?.[0]?.[0]) as string }));

/** An OCI label name, as `changeRecord.from` ("label:<name>") and `source.label` take it (decision 051). */
export const LABEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/;
export const CHANGE_RECORD_FROM_MESSAGE = `expected "input" (the release input's changeRecord) or "label:<name>" (an image label, the name matching ${LABEL_NAME_PATTERN.source})`;

/**
 * The change record a release of the service maps to (decision 051): the gate `change.record` reads it from an
 * image label or from the release input's `changeRecord`, and FAILs when it is required and missing or does not
 * match `pattern` (RE2 syntax, matched in linear time: a label is written by whoever builds the image).
 */
const changeRecord = z.strictObject({
  required: z.boolean({ error: 'expected true (a release without a change record is blocked) or false' }).default(true),
  pattern: regex,
  from: z.string({ error: CHANGE_RECORD_FROM_MESSAGE }).regex(/^(input|label:[A-Za-z0-9][A-Za-z0-9._/-]{0,127})$/, CHANGE_RECORD_FROM_MESSAGE),
});

/** Where the service's code lives (decision 051): the commit is read from `label`; `repositoryUrl` builds compare links. */
const source = z.strictObject({
  repositoryUrl: z
    .string({ error: 'expected an https URL of the repository, such as https://github.com/example/payments-api' })
    .max(300, 'expected an https URL of at most 300 characters')
    .regex(
      /^https:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(\/[A-Za-z0-9._~%-]+)+$/,
      'expected an https URL of the repository, such as https://github.com/example/payments-api (no query, no fragment, no trailing /)',
    ),
  label: z
    .string({ error: `expected an image label name matching ${LABEL_NAME_PATTERN.source}` })
    .regex(LABEL_NAME_PATTERN, `expected an image label name matching ${LABEL_NAME_PATTERN.source}`)
    .default('org.opencontainers.image.revision'),
});

const service = z.strictObject({
  repository: z.string().regex(REPOSITORY_PATTERN, 'expected an ECR repository name'),
  tagPattern: regex.default('.*'),
  imagePolicy: imagePolicy.default({
    maxFindings: {},
    allow: [],
    requireImmutableTags: false,
    requireSignature: false,
    requiredLabels: [],
    scanWaitMinutes: 15,
  }),
  stages: z.array(stage).min(1, 'expected at least one stage'),
  /** Absent rather than defaulted (decision 051), so configs written before keep their config hash. */
  changeRecord: changeRecord.optional(),
  source: source.optional(),
});

/** A KMS key named by its key ARN: the only form an IAM policy can name it by (kms:GetPublicKey for the image gates). */
export const KMS_KEY_ARN_PATTERN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]{1,128}$/;
const KMS_ARN = /^arn:aws[a-z-]*:kms:/;
const KMS_ALIAS_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]*:\d*:alias\//;

/**
 * A signing key: a PEM public key, or the key ARN of an asymmetric KMS key. An alias ARN is refused: IAM
 * names a KMS key only by its key ARN, so the image gates' role could not be granted kms:GetPublicKey on it
 * (docs/decisions/020-aws-fidelity.md).
 */
const signingKey = z
  .string()
  .min(1, 'expected a PEM public key or the key ARN of an asymmetric KMS key')
  .superRefine((s, ctx) => {
    if (KMS_ALIAS_ARN.test(s)) {
      ctx.addIssue({
        code: 'custom',
        message:
          'expected the key ARN of the KMS key (arn:aws:kms:<region>:<account>:key/<key id>), not an alias ARN: an IAM policy cannot name a KMS key by its alias, so Gantry could not grant kms:GetPublicKey on it (aws kms describe-key --key-id <alias ARN> prints the key ARN)',
      });
    } else if (KMS_ARN.test(s) && !KMS_KEY_ARN_PATTERN.test(s)) {
      ctx.addIssue({ code: 'custom', message: 'expected the key ARN of a KMS key (arn:aws:kms:<region>:<account>:key/<key id>)' });
    }
  });

/**
 * What the stack does about the EKS access entries of Gantry's roles on a cluster (lib/EksAccessEntries.ts):
 * `create` makes them (AWS::EKS::AccessEntry, scoped to the stages' namespaces); `document` (the default when the
 * field is absent) leaves them to the deployer, with the role ARNs as stack outputs (docs/deploying.md).
 * Absent rather than defaulted, so configs written before the field keep their config hash.
 */
export const ACCESS_ENTRY_MODES = ['create', 'document'] as const;

/** An AWS account id. */
export const ACCOUNT_PATTERN = /^\d{12}$/;
/**
 * A role ARN as the runtime checks it before a request (rollout target, AssumeRole, the drivers' scripts): an IAM
 * role in any partition, with an optional path (decision 045).
 */
export const ROLE_ARN_PATTERN = /^arn:aws[-a-z]*:iam::\d{12}:role\/(?:[\w+=,.@-]{1,64}\/){0,10}[\w+=,.@-]{1,64}$/;

/** A cluster's `roleArn`: an IAM role in the cluster's account (group 1). */
export const CLUSTER_ROLE_ARN = /^arn:aws[-a-z]*:iam::(\d{12}):role\/[\w+=,.@/-]{1,512}$/;

const cluster = z
  .strictObject({
    name: z.string().regex(/^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/, 'expected an EKS cluster name'),
    region: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'expected an AWS region such as eu-west-2'),
    accessEntries: z.enum(ACCESS_ENTRY_MODES, { error: 'expected "create" (the stack creates the access entries) or "document" (you create them)' }).optional(),
    /** The cluster's AWS account when it is not Gantry's own (issue 18): Gantry reaches it through `roleArn`. */
    account: z
      .string()
      .regex(/^\d{12}$/, 'expected a 12-digit AWS account id')
      .optional(),
    /** The role Gantry assumes for this cluster (the GantryTargetAccount stack's output): required with `account`. */
    roleArn: z.string().regex(CLUSTER_ROLE_ARN, 'expected an IAM role ARN such as arn:aws:iam::222222222222:role/gantry-target-Gantry').optional(),
  })
  .superRefine((c, ctx) => {
    if (c.account !== undefined && c.roleArn === undefined) {
      ctx.addIssue({ code: 'custom', path: ['roleArn'], message: `expected the role Gantry assumes in account ${c.account} (a cluster with account needs roleArn)` });
    }
    if (c.roleArn !== undefined && c.account === undefined) {
      ctx.addIssue({ code: 'custom', path: ['account'], message: "expected the account of roleArn: set account to the role's account" });
    }
    const roleAccount = c.roleArn === undefined ? undefined : CLUSTER_ROLE_ARN.exec(c.roleArn)?.[1];
    if (c.account !== undefined && /^\d{12}$/.test(c.account) && roleAccount !== undefined && roleAccount !== c.account) {
      ctx.addIssue({ code: 'custom', path: ['roleArn'], message: `expected a role in account ${c.account}, got a role in account ${roleAccount}` });
    }
  });

/**
 * Who is which person (segregation of duties compares persons, lambdas/domain/approvers.ts): each person
 * with the principals that are them, in every account and under every role they use. Optional: without
 * it, persons are compared by IAM user or role session name within one account.
 */
const identity = z
  .strictObject({
    persons: z
      .record(
        z.string().regex(PERSON_NAME, 'expected a person name (1-128 of letters, digits and +=,.@_-, starting with a letter or digit)'),
        z.array(z.string()).min(1, 'expected at least one principal ARN for the person'),
        {
          error: (iss) => (iss.code === 'invalid_key' ? `expected a person name (1-128 of letters, digits and +=,.@_-), got ${JSON.stringify(iss.input)}` : undefined),
        },
      )
      .default({}),
    /** Refuse an approval when the caller or the initiator is listed under no person. */
    requirePersons: z.boolean().default(false),
  })
  .superRefine((id, ctx) => {
    // One principal, one person: two persons whose entries could match one ARN are refused here (and
    // a principal that still matches two is refused at approval time, as ambiguous).
    const seen: Array<{ person: string; pattern: PersonPattern }> = [];
    for (const [person, entries] of Object.entries(id.persons)) {
      entries.forEach((entry, i) => {
        const p = parsePersonPattern(entry);
        if (!p.ok) {
          ctx.addIssue({ code: 'custom', path: ['persons', person, i], message: p.reason });
          return;
        }
        const clash = seen.find((s) => s.person !== person && patternsOverlap(s.pattern, p.pattern));
        if (clash) {
          ctx.addIssue({
            code: 'custom',
            path: ['persons', person, i],
            message: `expected principals that belong to one person only (this entry and ${clash.pattern.entry} of ${clash.person} can match the same principal)`,
          });
        }
        seen.push({ person, pattern: p.pattern });
      });
    }
    if (id.requirePersons && Object.keys(id.persons).length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['requirePersons'],
        message: 'expected persons to list at least one person when requirePersons is true (otherwise nobody could ever approve)',
      });
    }
  });

export const configSchema = z
  .strictObject({
    /** The JSON Schema an editor checks the file against (schemas/gantry.config.schema.json); not policy, so parseConfig drops it. */
    $schema: z.string().optional(),
    services: z.record(z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'expected a service name (lowercase, digits, -)'), service, {
      // zod reports a bad key as "Invalid key in record"; name the rule and the key instead of the value.
      error: (iss) => (iss.code === 'invalid_key' ? `expected a service name (lowercase, digits, -), got ${JSON.stringify(iss.input)}` : undefined),
    }),
    clusters: z.record(z.string(), cluster),
    signing: z.strictObject({ keys: z.record(z.string(), signingKey) }).default({ keys: {} }),
    /** The daily insight check: a service with no promotion to its last stage in staleAfterDays is flagged stale. */
    insight: z
      .strictObject({
        staleAfterDays: positiveMinutes(3650).default(14),
        driftCheck: z.boolean().default(true),
      })
      .default({ staleAfterDays: 14, driftCheck: true }),
    /** Who is which person, for segregation of duties. Absent: persons compared by name (docs/config.md). */
    identity: identity.optional(),
  })
  .superRefine((cfg, ctx) => {
    const repos = new Map<string, string>();
    for (const [svcName, svc] of Object.entries(cfg.services)) {
      const other = repos.get(svc.repository);
      if (other) {
        ctx.addIssue({
          code: 'custom',
          path: ['services', svcName, 'repository'],
          message: `expected a repository no other service uses (${svc.repository} is used by service ${other})`,
        });
      }
      repos.set(svc.repository, svcName);
      const seen = new Set<string>();
      svc.stages.forEach((st, i) => {
        if (seen.has(st.name))
          ctx.addIssue({
            code: 'custom',
            path: ['services', svcName, 'stages', i, 'name'],
            message: `expected a stage name not used by an earlier stage of ${svcName} (${st.name} is a duplicate)`,
          });
        seen.add(st.name);
        // Own keys only: "constructor" or "toString" would otherwise find Object.prototype's members.
        if (st.waves !== undefined) {
          st.waves.forEach((w, k) =>
            w.forEach((key, j) => {
              if (!Object.hasOwn(cfg.clusters, key)) {
                ctx.addIssue({
                  code: 'custom',
                  path: ['services', svcName, 'stages', i, 'waves', k, j],
                  message: `expected one of the keys of "clusters" (${Object.keys(cfg.clusters).join(', ') || 'none defined'}), got ${JSON.stringify(key)}`,
                });
              }
            }),
          );
          // A stage with neither cluster nor waves is already refused (the stage's own check) and has no cluster here.
        } else if (typeof st.cluster === 'string' && !Object.hasOwn(cfg.clusters, st.cluster)) {
          ctx.addIssue({
            code: 'custom',
            path: ['services', svcName, 'stages', i, 'cluster'],
            message: `expected one of the keys of "clusters" (${Object.keys(cfg.clusters).join(', ') || 'none defined'}), got ${JSON.stringify(st.cluster)}`,
          });
        }
      });
      // Authors are read from the image.labels gate's evidence, which records labels only when some are required.
      svc.stages.forEach((st, i) => {
        const a = st.approval;
        if (!a?.excludeAuthors) return;
        const label = a.authorLabel ?? DEFAULT_AUTHOR_LABEL;
        if (!svc.imagePolicy.requiredLabels.includes(label)) {
          ctx.addIssue({
            code: 'custom',
            path: ['services', svcName, 'stages', i, 'approval', 'excludeAuthors'],
            message: `expected the author label ${JSON.stringify(label)} in services.${svcName}.imagePolicy.requiredLabels when excludeAuthors is true (the authors are read from the image.labels gate's evidence; without it nobody could ever approve)`,
          });
        }
      });
      if (svc.imagePolicy.requireSignature) {
        svc.imagePolicy.requireSignature.keys.forEach((k, i) => {
          if (!Object.hasOwn(cfg.signing.keys, k)) {
            ctx.addIssue({
              code: 'custom',
              path: ['services', svcName, 'imagePolicy', 'requireSignature', 'keys', i],
              message: `expected a key defined in signing.keys, got ${JSON.stringify(k)}`,
            });
          }
        });
      }
    }
  });

export type GantryConfig = z.output<typeof configSchema>;
export type ServiceConfig = GantryConfig['services'][string];
export type StageConfig = ServiceConfig['stages'][number];
export type ImagePolicy = ServiceConfig['imagePolicy'];
export type DeployConfig = StageConfig['deploy'];
export type KubernetesDeploy = Extract<DeployConfig, { driver: 'kubernetes' }>;
export type ClusterConfig = GantryConfig['clusters'][string];

/** A cluster's access-entry mode: `document` unless it says `create`. */
export function accessEntriesMode(c: ClusterConfig): (typeof ACCESS_ENTRY_MODES)[number] {
  return c.accessEntries ?? 'document';
}

/** The waves of a stage, in order: its `waves`, or one wave of its one cluster (decision 044). */
export function stageWaves(st: StageConfig): ReadonlyArray<readonly string[]> {
  return st.waves ?? [[st.cluster]];
}

/** Every cluster key a stage deploys to, wave by wave. */
export function stageClusters(st: StageConfig): readonly string[] {
  return stageWaves(st).flat();
}

/** Whether the stage deploys in waves (it names `waves`, even one wave of one cluster). */
export function hasWaves(st: StageConfig): boolean {
  return st.waves !== undefined;
}

/** The Deployment and container the drift check reads for a stage, or undefined when the stage names none. */
export function stageWorkload(st: StageConfig): { deployment: string; container: string } | undefined {
  if (st.workload) return st.workload;
  if (st.deploy.driver === 'kubernetes') return { deployment: st.deploy.deployment, container: st.deploy.container };
  return undefined;
}

/**
 * Configs whose release executions could pass Step Functions' history limit (lambdas/domain/history-budget.ts),
 * as `path: message` lines naming the service, the stage and the setting to change.
 */
export function historyProblems(cfg: GantryConfig): string[] {
  return Object.entries(cfg.services).flatMap(([name, svc]) => historyBudgetProblems(svc).map((p) => `${jsonPath(['services', name, ...p.path])}: ${p.message}`));
}

/** Parse and validate a config document. Throws ValidationError with one line per problem. */
export function parseConfig(raw: unknown, source = 'config'): GantryConfig {
  const result = configSchema.safeParse(raw);
  // zod drops a `__proto__` key from records silently: refuse it like any unknown field.
  const problems = [...new Set([...(result.success ? [] : formatIssues(result.error.issues, raw)), ...prototypeKeyProblems(raw)])];
  if (!result.success || problems.length > 0) throw new ValidationError(source, problems);
  // Only a config that is valid field by field has a worst case worth computing.
  const history = historyProblems(result.data);
  if (history.length > 0) throw new ValidationError(source, history);
  // `$schema` names the file's JSON Schema for editors: it is not policy, so it changes neither the config nor its hash.
  delete result.data.$schema;
  return deepFreeze(result.data);
}

/**
 * The JSON of a config file, read strictly (lambdas/domain/strict-json.ts): a duplicate key — which of two
 * `bakeMinutes` counts? — or nesting past the limit is a ValidationError naming its path, like any other
 * problem of the config.
 * @throws JsonReadError when the text is not JSON (`syntax`: callers say which file); ValidationError
 */
export function configJson(text: string, source = 'config'): unknown {
  try {
    return parseStrictJson(text);
  } catch (e) {
    if (e instanceof JsonReadError && !e.syntax) throw new ValidationError(source, e.problems);
    throw e;
  }
}

/** A config file's text, read strictly and validated: what `cdk synth` and the CLI's `--config` read. */
export function parseConfigText(text: string, source = 'config'): GantryConfig {
  return parseConfig(configJson(text, source), source);
}

/** sha256 of the canonical (RFC 8785) form of the parsed config: what every release records. */
export function configHash(cfg: GantryConfig): string {
  return createHash('sha256').update(canonicalJson(cfg)).digest('hex');
}

export function serviceForRepository(cfg: GantryConfig, repository: string): [string, ServiceConfig] | undefined {
  return Object.entries(cfg.services).find(([, s]) => s.repository === repository);
}

export function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as Record<string, unknown>)) deepFreeze(v);
  }
  return o;
}
