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
} as const;
export type OperatorRoute = keyof typeof OPERATOR_ROUTES;

export interface FreezeRequest {
  readonly on: boolean;
  readonly reason: string;
}

const freezeSchema = z.strictObject(
  {
    state: z.enum(['on', 'off'], { error: 'expected "on" or "off"' }),
    reason: z
      .string({ error: `expected a non-empty reason of at most ${MAX_REASON_LENGTH} characters` })
      .regex(/\S/, `expected a non-empty reason of at most ${MAX_REASON_LENGTH} characters`)
      .max(MAX_REASON_LENGTH, `expected a non-empty reason of at most ${MAX_REASON_LENGTH} characters`)
      .regex(/^[^\u0000-\u0008\u000b-\u001f\u007f]*$/, 'expected text without control characters (newlines and tabs are fine)'),
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
