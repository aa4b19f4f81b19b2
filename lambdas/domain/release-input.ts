/**
 * Release input (docs/contracts.md §2) and operator rollback input, as the console, the CLI, the API and a
 * scenario's `start` / `rollback` triggers give them. Validated against the deployment config: the
 * service must exist, the stages must be a prefix of its stages — or, with `startAt` (a promotion,
 * docs/decisions/054-promote.md), the contiguous run of its stages that begins at `startAt`. The initiator is never part of the
 * input (it is the IAM principal that started the execution).
 * Pure: no AWS SDK, no I/O.
 */
import * as z from 'zod';
import { DIGEST_PATTERN, type GantryConfig, TAG_PATTERN } from './config';
import { formatIssues, ValidationError } from './validation';

export const MAX_REASON_LENGTH = 500;
/** The longest change record id a release input may carry (contracts §2; decision 051). */
export const MAX_CHANGE_RECORD_LENGTH = 100;
const CHANGE_RECORD_MESSAGE = `expected a change record id of 1 to ${MAX_CHANGE_RECORD_LENGTH} printable characters, such as "CHG-1234"`;
const changeRecordId = z
  .string({ error: CHANGE_RECORD_MESSAGE })
  .min(1, CHANGE_RECORD_MESSAGE)
  .max(MAX_CHANGE_RECORD_LENGTH, CHANGE_RECORD_MESSAGE)
  .regex(/^[\x21-\x7e]+$/, CHANGE_RECORD_MESSAGE);

const reason = z
  .string({ error: `expected a string of at most ${MAX_REASON_LENGTH} characters` })
  .max(MAX_REASON_LENGTH, `expected a string of at most ${MAX_REASON_LENGTH} characters`);
const nonBlankReason = z
  .string({ error: `expected a non-empty reason of at most ${MAX_REASON_LENGTH} characters` })
  .regex(/\S/, `expected a non-empty reason of at most ${MAX_REASON_LENGTH} characters`)
  .max(MAX_REASON_LENGTH, `expected a non-empty reason of at most ${MAX_REASON_LENGTH} characters`);
const digest = z.string({ error: 'expected a digest sha256:<64 lowercase hex characters>' }).regex(DIGEST_PATTERN, 'expected a digest sha256:<64 lowercase hex characters>');
const tag = z.string({ error: 'expected an image tag' }).regex(TAG_PATTERN, `expected an image tag matching ${TAG_PATTERN.source}`);

const image = z
  .strictObject({ tag: tag.optional(), digest: digest.optional() }, { error: 'expected an object with exactly one of "tag" or "digest", such as {"tag":"v1.4.2"}' })
  .superRefine((img, ctx) => {
    if ((img.tag === undefined) === (img.digest === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'expected exactly one of "tag" or "digest"' });
    }
  });

function serviceName(config: GantryConfig) {
  const names = Object.keys(config.services);
  const allowed = `expected one of the services in the config (${names.join(', ') || 'none defined'})`;
  return z.string({ error: allowed }).refine((s) => Object.hasOwn(config.services, s), { message: allowed });
}

function releaseInputSchema(config: GantryConfig) {
  return z.strictObject(
    {
      service: serviceName(config),
      image,
      stages: z
        .array(z.string({ error: 'expected a stage name' }), { error: "expected a non-empty list of the service's stage names" })
        .min(1, "expected a non-empty list of the service's stage names")
        .optional(),
      /** A promotion (decision 054): run the service's stages from this one (not the first) to the end, or `stages`. */
      startAt: z.string({ error: 'expected a stage name' }).optional(),
      reason: reason.optional(),
      breakGlass: z.strictObject({ reason: nonBlankReason }, { error: 'expected {"reason": "…"}' }).optional(),
      changeRecord: changeRecordId.optional(),
    },
    { error: 'expected a release input object {"service": …, "image": {"tag" | "digest": …}}' },
  );
}

function rollbackInputSchema(config: GantryConfig) {
  return z.strictObject(
    {
      service: serviceName(config),
      stage: z.string({ error: 'expected a stage name' }),
      digest: digest.optional(),
      reason: reason.optional(),
      force: z.strictObject({ reason: nonBlankReason }, { error: 'expected {"reason": "…"}' }).optional(),
      /** Set by the drill workflow only (decision 052): this rollback is a leg of that drill. */
      drill: z
        .strictObject(
          { drillId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$/, 'expected an execution name'), leg: z.enum(['back', 'forward']) },
          { error: 'expected {"drillId": …, "leg": "back" | "forward"}' },
        )
        .optional(),
    },
    { error: 'expected a rollback input object {"service": …, "stage": …}' },
  );
}

export type ImageRef = { readonly tag: string; readonly digest?: undefined } | { readonly digest: string; readonly tag?: undefined };

export interface ReleaseInput {
  readonly service: string;
  readonly image: ImageRef;
  /** The stages to run, in order: as given, or every stage of the service when the input named none. */
  readonly stages: readonly string[];
  /** True when the input named the stages. */
  readonly stagesGiven: boolean;
  /**
   * A promotion (decision 054): the stage the release starts at, never the service's first. Its stages are the
   * service's from there on; the digest must have been promoted in the stage before (gate promotion.previous-stage).
   */
  readonly startAt?: string;
  readonly reason?: string;
  /** Bypasses deployment windows only; flagged in the ledger and on the bus. */
  readonly breakGlass?: { readonly reason: string };
  /** The change record id (decision 051), where the service's `changeRecord.from` is "input". */
  readonly changeRecord?: string;
}

export interface RollbackInput {
  /** A leg of a rollback drill (decision 052): the drill's id and which leg. */
  readonly drill?: { readonly drillId: string; readonly leg: 'back' | 'forward' };
  readonly service: string;
  readonly stage: string;
  /** Target digest; absent means "the digest promoted there before the one now running". */
  readonly digest?: string;
  readonly reason?: string;
  /**
   * Override the image gates the rollback target fails (a finding found since, a revoked key): recorded with the
   * reason; where the stage requires an approval, the rollback asks for one first.
   */
  readonly force?: { readonly reason: string };
}

type Issue = z.core.$ZodIssue;

function custom(path: PropertyKey[], message: string): Issue {
  return { code: 'custom', path, message, input: undefined } as Issue;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stageNames(config: GantryConfig, service: unknown): string[] | undefined {
  if (typeof service !== 'string' || !Object.hasOwn(config.services, service)) return undefined;
  return config.services[service]?.stages.map((s) => s.name);
}

/** Checks that need the config and another field; run on the raw input so they report alongside schema problems. */
function releaseContextIssues(raw: unknown, config: GantryConfig): Issue[] {
  if (!isRecord(raw)) return [];
  return [...startAtIssues(raw, config), ...stagesIssues(raw, config), ...changeRecordIssues(raw, config)];
}

/**
 * A changeRecord in the input is taken only where the service reads it from the input (decision 051): where it reads
 * it from an image label, or asks for none, an input value would be a second, unchecked claim — refused, not ignored.
 */
function changeRecordIssues(raw: Record<string, unknown>, config: GantryConfig): Issue[] {
  if (raw.changeRecord === undefined || typeof raw.service !== 'string' || !Object.hasOwn(config.services, raw.service)) return [];
  const from = config.services[raw.service]?.changeRecord?.from;
  if (from === 'input') return [];
  const why =
    from === undefined
      ? `service ${raw.service} asks for no change record (its config has no changeRecord)`
      : `service ${raw.service} reads its change record from the image (changeRecord.from is ${JSON.stringify(from)})`;
  return [custom(['changeRecord'], `expected no changeRecord: ${why}`)];
}

/** `startAt` names a stage of the service other than its first (a release from the first stage is a normal release). */
function startAtIssues(raw: Record<string, unknown>, config: GantryConfig): Issue[] {
  const names = stageNames(config, raw.service);
  if (!names || typeof raw.startAt !== 'string') return [];
  if (names.slice(1).includes(raw.startAt)) return [];
  const later = names.slice(1);
  if (later.length === 0) return [custom(['startAt'], `expected no startAt: ${raw.service as string} has one stage (${names.join(', ')}), nothing to promote from`)];
  const first = raw.startAt === names[0] ? `; ${names[0]} is the first stage: a release from it is a normal release, leave startAt out` : '';
  return [custom(['startAt'], `expected one of the stages of ${raw.service as string} after the first (${later.join(', ')})${first}`)];
}

/** The stages a release input may name: a prefix of the service's stages, or with `startAt` the run that begins there. */
function stagesIssues(raw: Record<string, unknown>, config: GantryConfig): Issue[] {
  const names = stageNames(config, raw.service);
  const stages = raw.stages;
  if (!names || !Array.isArray(stages) || stages.length === 0 || !stages.every((s) => typeof s === 'string')) return [];
  const from = typeof raw.startAt === 'string' ? names.indexOf(raw.startAt) : 0;
  if (from < 1 && typeof raw.startAt === 'string') return []; // startAt's own issue says what is wrong
  const run = names.slice(from);
  if (stages.length <= run.length && stages.every((s, i) => s === run[i])) return [];
  const allowed = run.map((_, i) => JSON.stringify(run.slice(0, i + 1)));
  return typeof raw.startAt === 'string'
    ? [custom(['stages'], `expected the stages of ${raw.service as string} from startAt ${raw.startAt} on, in order: ${allowed.join(' or ')}`)]
    : [custom(['stages'], `expected a non-empty prefix of the stages of ${raw.service as string}: ${allowed.join(' or ')}`)];
}

function rollbackContextIssues(raw: unknown, config: GantryConfig): Issue[] {
  if (!isRecord(raw)) return [];
  const names = stageNames(config, raw.service);
  if (!names || typeof raw.stage !== 'string' || names.includes(raw.stage)) return [];
  return [custom(['stage'], `expected one of the stages of ${raw.service as string} (${names.join(', ')})`)];
}

function parseInContext<T>(schema: z.ZodType<T>, contextIssues: Issue[], raw: unknown, source: string): T {
  const r = schema.safeParse(raw);
  const issues = [...(r.success ? [] : r.error.issues), ...contextIssues];
  if (!r.success || issues.length > 0) throw new ValidationError(source, formatIssues(issues, raw));
  return r.data;
}

/**
 * Validate a release input (docs/contracts.md §2) against the config. Unknown fields are refused.
 * @throws ValidationError with one line per problem, e.g. `image.digest: expected a digest sha256:…, got "sha256:xyz"`
 */
export function parseReleaseInput(raw: unknown, config: GantryConfig, source = 'release input'): ReleaseInput {
  const v = parseInContext(releaseInputSchema(config), releaseContextIssues(raw, config), raw, source);
  const names = config.services[v.service]?.stages.map((s) => s.name) ?? [];
  const all = v.startAt !== undefined ? names.slice(names.indexOf(v.startAt)) : names;
  const img: ImageRef = v.image.digest !== undefined ? { digest: v.image.digest } : { tag: v.image.tag as string };
  return {
    service: v.service,
    image: img,
    stages: v.stages ?? all,
    stagesGiven: v.stages !== undefined,
    ...(v.startAt !== undefined ? { startAt: v.startAt } : {}),
    ...(v.reason !== undefined ? { reason: v.reason } : {}),
    ...(v.breakGlass !== undefined ? { breakGlass: { reason: v.breakGlass.reason } } : {}),
    ...(v.changeRecord !== undefined ? { changeRecord: v.changeRecord } : {}),
  };
}

/**
 * Validate an operator rollback input `{service, stage, digest?, reason?}` against the config.
 * Whether the digest was ever promoted in that stage is the workflow's check, not the schema's.
 * @throws ValidationError with one line per problem
 */
export function parseRollbackInput(raw: unknown, config: GantryConfig, source = 'rollback input'): RollbackInput {
  const v = parseInContext(rollbackInputSchema(config), rollbackContextIssues(raw, config), raw, source);
  return {
    service: v.service,
    stage: v.stage,
    ...(v.digest !== undefined ? { digest: v.digest } : {}),
    ...(v.reason !== undefined ? { reason: v.reason } : {}),
    ...(v.force !== undefined ? { force: { reason: v.force.reason } } : {}),
    ...(v.drill !== undefined ? { drill: { drillId: v.drill.drillId, leg: v.drill.leg } } : {}),
  };
}
