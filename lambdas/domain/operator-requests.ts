/**
 * The operator API's routes and the one request shape of its own (the freeze). A release input is
 * docs/contracts.md §2 (`parseReleaseInput`), a rollback input `{service, stage, digest?, reason?}`
 * (`parseRollbackInput`), both in ./release-input.ts: the API validates exactly as the workflows do.
 * Pure: no AWS SDK, no I/O.
 */
import * as z from 'zod';
import { MAX_REASON_LENGTH } from './release-input';
import { formatIssues, ValidationError } from './validation';

/** The operator routes of the Gantry API (stage `v1`), beside the approval decision route. */
export const OPERATOR_ROUTES = {
  startRelease: { method: 'POST', resource: '/releases' },
  startRollback: { method: 'POST', resource: '/rollbacks' },
  setFreeze: { method: 'PUT', resource: '/freeze' },
  /** A rollback drill (decision 052): `{ service, stage, reason? }`. */
  startDrill: { method: 'POST', resource: '/drills' },
  /** Stop a running release, rollback or drill (decision 053): `{ releaseId, reason }`. */
  abortRelease: { method: 'POST', resource: '/aborts' },
} as const;
export type OperatorRoute = keyof typeof OPERATOR_ROUTES;

export interface FreezeRequest {
  readonly on: boolean;
  readonly reason: string;
}

/** An operator's reason (a freeze, an abort): non-empty, at most MAX_REASON_LENGTH characters, no control characters but newlines and tabs. */
const reasonSchema = z
  .string({ error: `expected a non-empty reason of at most ${MAX_REASON_LENGTH} characters` })
  .regex(/\S/, `expected a non-empty reason of at most ${MAX_REASON_LENGTH} characters`)
  .max(MAX_REASON_LENGTH, `expected a non-empty reason of at most ${MAX_REASON_LENGTH} characters`)
  .regex(/^[^\u0000-\u0008\u000b-\u001f\u007f]*$/, 'expected text without control characters (newlines and tabs are fine)');

const freezeSchema = z.strictObject(
  {
    state: z.enum(['on', 'off'], { error: 'expected "on" or "off"' }),
    reason: reasonSchema,
  },
  { error: 'expected a freeze request object {"state": "on" | "off", "reason": "…"}' },
);

/**
 * Validate a freeze request `{state: "on" | "off", reason}`. Unknown fields are refused (who sets it is
 * the caller, never a field).
 * @throws ValidationError with one line per problem
 */
export function parseFreezeRequest(raw: unknown, source = 'freeze request'): FreezeRequest {
  const r = freezeSchema.safeParse(raw);
  if (!r.success) throw new ValidationError(source, formatIssues(r.error.issues, raw));
  return { on: r.data.state === 'on', reason: r.data.reason };
}

/**
 * A release id as Gantry makes them: a Step Functions execution name (1–80 of letters, digits, `-`, `_`,
 * starting with a letter or digit), as intake (`pushExecutionCandidate`), the operator API
 * (`operatorExecutionName`) and the drill schedule name executions; prepare-release holds the id to the same pattern.
 */
export const RELEASE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$/;

export interface AbortRequest {
  readonly releaseId: string;
  readonly reason: string;
}

const abortSchema = z.strictObject(
  {
    releaseId: z
      .string({ error: 'expected a release id (an execution name: 1-80 letters, digits, - or _, as `gantry releases` lists them)' })
      .regex(RELEASE_ID, 'expected a release id (an execution name: 1-80 letters, digits, - or _, as `gantry releases` lists them)'),
    reason: reasonSchema,
  },
  { error: 'expected an abort request object {"releaseId": "…", "reason": "…"}' },
);

/**
 * Validate an abort request `{releaseId, reason}` (decision 053). Unknown fields are refused (who aborts is
 * the caller, never a field).
 * @throws ValidationError with one line per problem
 */
export function parseAbortRequest(raw: unknown, source = 'abort request'): AbortRequest {
  const r = abortSchema.safeParse(raw);
  if (!r.success) throw new ValidationError(source, formatIssues(r.error.issues, raw));
  return r.data;
}

/** What StopExecution is told (`error`, `cause`: the cause is shown in the Step Functions console, so it carries the reason and never a token). */
export const ABORT_ERROR = 'Gantry.Aborted';

/** The StopExecution cause of an abort: who and why, as short JSON (at most 1,000 characters of reason). */
export function abortCause(principal: string, reason: string): string {
  return JSON.stringify({ abortedBy: principal, reason: reason.slice(0, 1000) });
}

/** Why an abort of a release that has ended is refused (the operator API's 409, a local Gantry's refusal): the same words. */
export function abortRefusal(releaseId: string, status: string, endedAt: string | undefined): string {
  return `release ${releaseId} already ended ${status}${endedAt ? ` at ${endedAt}` : ''}: nothing to abort`;
}

/** The release.finished reason of an aborted release: who asked and why. */
export function abortedReason(principal: string, reason: string): string {
  return `aborted by ${principal}: ${reason}`;
}

/** The release.finished reason of an execution stopped with no `gantry abort` on record (the Step Functions console, the API). */
export const ABORTED_FROM_OUTSIDE = 'execution aborted from outside (no gantry abort on record: stopped from the Step Functions console or API, so nobody is on record for it)';
