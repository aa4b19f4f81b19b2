/**
 * Events as API Gateway (REST, Lambda proxy integration, AWS_IAM authorization) delivers them for a
 * signed request: the local runtime (local/simulate.ts) feeds simulated operator requests (`start`,
 * `rollback`, `freeze`) and approval decisions through the real handlers with them, so they take the
 * very path an API call takes. Simulator code: no handler imports it.
 */
import { createHash } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { DECISION_RESOURCE, decisionPath } from '../lambdas/domain/approvers';

export interface ApiRequest {
  readonly method: 'GET' | 'POST' | 'PUT';
  /** The API Gateway resource, e.g. `/releases` or `/releases/{releaseId}/stages/{stage}/decision`. */
  readonly resource: string;
  /** The path with its parameters filled in. */
  readonly path: string;
  readonly pathParameters?: Record<string, string>;
  /** Sent as JSON. */
  readonly body?: unknown;
}

export interface ApiEventOptions {
  /** API Gateway's request id. @default derived from the request */
  readonly requestId?: string;
  /** When the request arrived. @default now */
  readonly at?: Date;
  readonly sourceIp?: string;
  readonly region?: string;
  readonly stageName?: string;
}

/** A deterministic IAM unique id (AIDA… for users, AROA… for roles) standing in for the real one. */
function uniqueId(prefix: string, seed: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bytes = createHash('sha256').update(seed).digest();
  return prefix + Array.from(bytes.subarray(0, 17), (b) => alphabet[b % 32]).join('');
}

/** `04/Mar/2020:19:15:17 +0000`, as API Gateway's `requestTime`. */
function requestTime(d: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${months[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

const PRINCIPAL_ARN = /^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):(user|assumed-role|root)(?:\/([^/]+)(?:\/(.+))?)?$/;

/**
 * The event API Gateway (REST, Lambda proxy, AWS_IAM authorization) delivers for a request signed by
 * `principal`, in the shape of test/fixtures/aws-samples/apigw-rest-lambda-proxy-event-iam-auth.json.
 */
export function iamApiEvent(principal: string, request: ApiRequest, options: ApiEventOptions = {}): APIGatewayProxyEvent {
  const at = options.at ?? new Date();
  const region = options.region ?? 'eu-west-2';
  const stageName = options.stageName ?? 'v1';
  const apiId = 'gantryapi0';
  const domainName = `${apiId}.execute-api.${region}.amazonaws.com`;
  const m = PRINCIPAL_ARN.exec(principal);
  const account = m?.[1] ?? '123456789012';
  const kind = m?.[2];
  const user =
    kind === 'assumed-role'
      ? `${uniqueId('AROA', `${account}:${m?.[3]}`)}:${m?.[4] ?? ''}`
      : kind === 'user'
        ? uniqueId('AIDA', `${account}:${m?.[3]}`)
        : kind === 'root'
          ? account
          : uniqueId('AIDA', principal);
  const body = request.body === undefined ? null : JSON.stringify(request.body);
  const requestId = options.requestId ?? createHash('sha256').update(`${principal}|${request.method}|${request.path}|${body}|${at.getTime()}`).digest('hex').slice(0, 32);
  const headers: Record<string, string> = {
    ...(body !== null ? { 'Content-Type': 'application/json' } : {}),
    Host: domainName,
    'User-Agent': 'gantry-cli',
    'X-Amz-Date': at
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, ''),
    'X-Amzn-Trace-Id': `Root=1-${Math.floor(at.getTime() / 1000).toString(16)}-${requestId.slice(0, 24)}`,
  };
  return {
    resource: request.resource,
    path: request.path,
    httpMethod: request.method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    requestContext: {
      accountId: account,
      apiId,
      authorizer: { claims: null, scopes: null },
      domainName,
      domainPrefix: apiId,
      extendedRequestId: `${requestId.slice(0, 14)}=`,
      httpMethod: request.method,
      identity: {
        accessKey: kind === 'assumed-role' ? 'ASIAIOSFODNN7EXAMPLE' : 'AKIAIOSFODNN7EXAMPLE',
        accountId: account,
        apiKey: null,
        apiKeyId: null,
        caller: user,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: options.sourceIp ?? '192.0.2.10',
        user,
        userAgent: 'gantry-cli',
        userArn: principal,
      },
      path: `/${stageName}${request.path}`,
      protocol: 'HTTP/1.1',
      requestId,
      requestTime: requestTime(at),
      requestTimeEpoch: at.getTime(),
      resourceId: createHash('sha256').update(request.resource).digest('hex').slice(0, 6),
      resourcePath: request.resource,
      stage: stageName,
    },
    pathParameters: request.pathParameters ?? null,
    stageVariables: null,
    body,
    isBase64Encoded: false,
  };
}

/** A decision on a stage's approval, as `POST /releases/{releaseId}/stages/{stage}/decision` carries it. */
export interface DecisionEventRequest {
  readonly releaseId: string;
  readonly stage: string;
  readonly decision: 'approve' | 'reject';
  readonly comment?: string;
  /** Decision 049: the saved Terraform plan's sha256 the decision is on. */
  readonly planSha256?: string;
}

/**
 * The event API Gateway delivers for a decision signed by `principal` (`iamApiEvent` on the decision
 * route). The local runtime feeds simulated `approve`/`reject` lines through the approval handler with
 * it, so they take the very path an API call takes.
 */
export function decisionEvent(principal: string, request: DecisionEventRequest, options: ApiEventOptions = {}): APIGatewayProxyEvent {
  return iamApiEvent(
    principal,
    {
      method: 'POST',
      resource: DECISION_RESOURCE,
      path: decisionPath(request.releaseId, request.stage),
      pathParameters: { releaseId: request.releaseId, stage: request.stage },
      body: {
        decision: request.decision,
        ...(request.comment !== undefined ? { comment: request.comment } : {}),
        ...(request.planSha256 !== undefined ? { planSha256: request.planSha256 } : {}),
      },
    },
    options,
  );
}
