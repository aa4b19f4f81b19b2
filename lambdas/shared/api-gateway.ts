/**
 * What the Lambdas behind the Gantry API (API Gateway REST, Lambda proxy integration, AWS_IAM
 * authorization) share: JSON answers, the request body and the caller API Gateway verified. (The event
 * API Gateway delivers for a signed request, which the local runtime feeds through these handlers, is
 * built in local/api-events.ts.)
 *
 * The caller is `requestContext.identity.userArn`, set by API Gateway from the SigV4 signature; nothing
 * in a body or a header says who calls.
 */
import { createHash } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';

export interface ApiResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

const JSON_HEADERS = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' };

export function respond(statusCode: number, body: Record<string, unknown>): ApiResponse {
  return { statusCode, headers: { ...JSON_HEADERS }, body: JSON.stringify(body) };
}

export type ApiEvent = Partial<APIGatewayProxyEvent> & { requestContext?: Partial<APIGatewayProxyEvent['requestContext']> };

/** The JSON body (undefined when there is none), or `{ ok: false }` when it is not JSON. */
export function readJsonBody(event: ApiEvent): { ok: true; value: unknown } | { ok: false } {
  if (event.body === undefined || event.body === null || event.body === '') return { ok: true, value: undefined };
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

export interface ApiCaller {
  /** The IAM principal API Gateway verified (SigV4). */
  readonly arn: string;
  readonly requestId: string;
  readonly sourceIp?: string;
}

/** API Gateway's request id, or a stable hash of the event when it has none (tests, hand-made events). */
export function requestIdOf(event: unknown): string {
  const ctx = (event as ApiEvent | undefined)?.requestContext;
  return (
    ctx?.requestId ||
    ctx?.extendedRequestId ||
    createHash('sha256')
      .update(JSON.stringify(event ?? null))
      .digest('hex')
      .slice(0, 16)
  );
}

/** The caller API Gateway verified, or undefined when the request carries no IAM caller. */
export function callerOf(event: ApiEvent): ApiCaller | undefined {
  const arn = event.requestContext?.identity?.userArn;
  if (typeof arn !== 'string' || arn === '') return undefined;
  const sourceIp = event.requestContext?.identity?.sourceIp;
  return { arn, requestId: requestIdOf(event), ...(sourceIp ? { sourceIp } : {}) };
}
