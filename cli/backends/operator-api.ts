/**
 * The operator routes of the Gantry API, as `gantry start`, `gantry rollback` and `gantry freeze on|off`
 * call them against a deployed Gantry: a JSON request to `<ApprovalApiUrl><route>`, SigV4-signed for
 * execute-api with the caller's credentials, exactly as `gantry approve` signs (./approve.ts). The API
 * records the caller (the start record, the freeze's principal); the CLI writes nothing to the ledger and
 * claims no identity.
 */
import { OPERATOR_ROUTES, type OperatorRoute } from '../../lambdas/domain/operator-requests';
import { apiBaseUrl, apiRegion, type Credentials, signedHeaders } from './approval-api';
import { GantryAwsError } from './backend';
import { credentialsHint } from './stack';

export interface OperatorApiOptions {
  /** The ApprovalApiUrl stack output (`https://<api>.execute-api.<region>.amazonaws.com/v1/`). */
  readonly apiUrl: string;
  /** @default the execute-api host's region */
  readonly region?: string;
  /** The caller's credentials (the standard chain, `--profile`). */
  readonly credentials: () => Promise<Credentials>;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** The signing clock. @default now */
  readonly now?: () => Date;
}

export interface OperatorApiAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** Calls one operator route: signs, sends, and returns the status with the JSON answer. */
export type OperatorApiCall = (route: OperatorRoute, body: unknown) => Promise<OperatorApiAnswer>;

export function operatorApi(opts: OperatorApiOptions): OperatorApiCall {
  const base = apiBaseUrl(opts.apiUrl, 'ApprovalApiUrl');
  const region = apiRegion(base, opts.region);
  return async (route, body) => {
    const { method, resource } = OPERATOR_ROUTES[route];
    const url = new URL(resource.slice(1), base);
    const text = JSON.stringify(body);
    let credentials: Credentials;
    try {
      credentials = await opts.credentials();
    } catch (e) {
      const err = e as Error;
      throw new GantryAwsError(
        `${method} ${url.href}: ${credentialsHint(e) ?? `no AWS credentials (${err?.name ?? 'Error'}: ${err?.message ?? String(e)}): sign in (aws sso login) or give --profile / AWS_PROFILE`}`,
        { cause: e },
      );
    }
    const headers = await signedHeaders(url, region, text, credentials, (opts.now ?? (() => new Date()))(), method);
    let response: Response;
    try {
      response = await (opts.fetch ?? fetch)(url, { method, headers, body: text });
    } catch (e) {
      const cause = (e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : (e as Error).message;
      throw new GantryAwsError(`${method} ${url.href} failed: could not reach the Gantry API (${cause}); check the network and --region`, { cause: e });
    }
    const raw = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      parsed = { message: raw.trim().slice(0, 500) };
    }
    return {
      status: response.status,
      body: typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : { message: String(parsed) },
    };
  };
}

/** The API's message (operator-api's `message`, API Gateway's `message` or `Message`). */
export function messageOf(body: Record<string, unknown>, fallback: string): string {
  const m = body.message ?? body.Message;
  return typeof m === 'string' && m !== '' ? m : fallback;
}
