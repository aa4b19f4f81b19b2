/**
 * `gantry approve|reject <releaseId> --stage S [--comment …] --api-url URL [--region R] [--profile P]`
 *
 * Signs `POST <api-url>releases/<releaseId>/stages/<stage>/decision` with the caller's AWS credentials
 * (SigV4 for execute-api, credentials from the default provider chain or `--profile`) and prints the
 * decision or the refusal. The API decides who the caller is from the signature; nothing here claims
 * an identity. Exit codes: 0 the decision was applied, 1 refused (not an approver, self-approval,
 * nothing waiting, denied by API Gateway) or the API could not be reached, 2 bad input (an invalid
 * argument, an unknown release, a request the API found invalid, no credentials).
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Command } from 'commander';
import { COMMENT_MAX, decisionPath, RELEASE_ID_PATTERN } from '../../lambdas/domain/approvers';
import { K8S_NAME_PATTERN } from '../../lambdas/domain/config';
import { CliInputError } from '../errors';

export type Decision = 'approve' | 'reject';

export interface DecisionOptions {
  readonly stage: string;
  readonly comment?: string;
  /** Decision 049: the saved Terraform plan decided on, by its sha256. */
  readonly planSha256?: string;
  readonly apiUrl: string;
  readonly region?: string;
  readonly profile?: string;
}

/** AWS credentials as the SDK's providers return them. */
export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface DecisionIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** @default fromNodeProviderChain({ profile }) */
  readonly credentials?: () => Promise<Credentials>;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** The signing clock. @default now */
  readonly now?: () => Date;
}

export type SetCode = (code: number) => void;

const defaultIo: DecisionIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

const EXECUTE_API_HOST = /^[a-z0-9]+\.execute-api\.([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com(?:\.cn)?$/;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * The Gantry API's base URL (the ApprovalApiUrl stack output), checked: https (plain http only to a
 * loopback address), no query or fragment; ends in `/`. @throws CliInputError naming `flag`
 */
export function apiBaseUrl(apiUrl: string, flag = '--api-url'): URL {
  let base: URL;
  try {
    base = new URL(apiUrl);
  } catch {
    throw new CliInputError(
      `${flag}: expected the approval API URL (the ApprovalApiUrl stack output, https://<api>.execute-api.<region>.amazonaws.com/v1/), got ${JSON.stringify(apiUrl)}`,
    );
  }
  if (base.protocol !== 'https:' && !(base.protocol === 'http:' && LOOPBACK.has(base.hostname))) {
    throw new CliInputError(`${flag}: expected an https:// URL (a signed request is not sent in clear text), got ${JSON.stringify(apiUrl)}`);
  }
  if (base.search || base.hash) throw new CliInputError(`${flag}: expected a URL without a query or fragment, got ${JSON.stringify(apiUrl)}`);
  return base.href.endsWith('/') ? base : new URL(`${base.href}/`);
}

/** The region to sign for: `--region`, else the execute-api host's, else AWS_REGION. @throws CliInputError */
export function apiRegion(base: URL, region: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const r = region ?? EXECUTE_API_HOST.exec(base.hostname)?.[1] ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!r) throw new CliInputError('--region: the API URL names no region; give --region (or set AWS_REGION)');
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(r)) throw new CliInputError(`--region: expected an AWS region such as eu-west-2, got ${JSON.stringify(r)}`);
  return r;
}

/** The request the command sends, validated. @throws CliInputError naming the bad argument */
export function decisionRequest(decision: Decision, releaseId: string, opts: DecisionOptions, env: NodeJS.ProcessEnv = process.env): { url: URL; region: string; body: string } {
  if (!RELEASE_ID_PATTERN.test(releaseId)) throw new CliInputError(`<releaseId>: expected a release id (1-80 of A-Z a-z 0-9 _ -), got ${JSON.stringify(releaseId)}`);
  if (!K8S_NAME_PATTERN.test(opts.stage ?? '')) throw new CliInputError(`--stage: expected a stage name (a Kubernetes DNS label), got ${JSON.stringify(opts.stage)}`);
  if (opts.comment !== undefined && (opts.comment.length > COMMENT_MAX || /[\u0000-\u0008\u000b-\u001f\u007f]/.test(opts.comment))) {
    throw new CliInputError(`--comment: expected at most ${COMMENT_MAX} characters without control characters`);
  }
  const base = apiBaseUrl(opts.apiUrl);
  const region = apiRegion(base, opts.region, env);
  const url = new URL(decisionPath(releaseId, opts.stage).slice(1), base);
  if (opts.planSha256 !== undefined && !/^[a-f0-9]{64}$/.test(opts.planSha256)) {
    throw new CliInputError(`--plan: expected the saved plan's sha256 (64 lowercase hex digits), got ${JSON.stringify(opts.planSha256)}`);
  }
  const body = JSON.stringify({
    decision,
    ...(opts.comment !== undefined ? { comment: opts.comment } : {}),
    ...(opts.planSha256 !== undefined ? { planSha256: opts.planSha256 } : {}),
  });
  return { url, region, body };
}

/**
 * SigV4-sign a JSON request to execute-api (POST by default); returns the headers to send (without `host`,
 * which fetch sets to the same value). The approval and the operator commands both sign with it.
 */
export async function signedHeaders(url: URL, region: string, body: string, credentials: Credentials, now: Date, method: 'POST' | 'PUT' = 'POST'): Promise<Record<string, string>> {
  const signer = new SignatureV4({ credentials, region, service: 'execute-api', sha256: Sha256 });
  const signed = await signer.sign(
    {
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query: {},
      headers: { host: url.host, 'content-type': 'application/json', accept: 'application/json' },
      body,
    },
    { signingDate: now },
  );
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.headers)) if (k.toLowerCase() !== 'host') headers[k] = String(v);
  return headers;
}

/** AWS credentials from the default chain (or `--profile`). @throws CliInputError when there are none */
export async function loadCredentials(provider: (() => Promise<Credentials>) | undefined, profile: string | undefined): Promise<Credentials> {
  try {
    return await (provider ?? fromNodeProviderChain(profile ? { profile } : {}))();
  } catch (e) {
    throw new CliInputError(`no AWS credentials${profile ? ` for profile ${profile}` : ''}: ${(e as Error).message}`, { cause: e });
  }
}

function messageOf(body: unknown, fallback: string): string {
  const m = (body as { message?: unknown; Message?: unknown } | undefined)?.message ?? (body as { Message?: unknown } | undefined)?.Message;
  return typeof m === 'string' && m !== '' ? m : fallback;
}

/** Send one decision; prints the outcome and returns the exit code. */
export async function runDecision(decision: Decision, releaseId: string, opts: DecisionOptions, io: DecisionIo = defaultIo): Promise<number> {
  const { url, region, body } = decisionRequest(decision, releaseId, opts);
  const credentials = await loadCredentials(io.credentials, opts.profile);
  const headers = await signedHeaders(url, region, body, credentials, (io.now ?? (() => new Date()))());

  let response: Response;
  try {
    response = await (io.fetch ?? fetch)(url, { method: 'POST', headers, body });
  } catch (e) {
    io.err(`gantry: could not reach the approval API at ${url.origin}: ${(e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : (e as Error).message}`);
    return 1;
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { message: text.trim().slice(0, 500) };
  }
  const what = `${opts.stage} of ${releaseId}`;
  const status = response.status;
  if (status === 200) {
    const r = parsed as { decision?: string; principal?: string; comment?: string; at?: string; outcome?: string; count?: number; required?: number; planSha256?: string };
    // N-of-M (decision 050): an approval that does not complete the count says how many are in.
    const count = r.outcome === 'WAITING' && r.required ? ` (${r.count ?? '?'} of ${r.required} approvals; the stage waits for ${r.required - (r.count ?? 0)} more)` : '';
    io.out(`${r.decision ?? decision.toUpperCase()}${count}: ${what} by ${r.principal ?? 'you'}${r.at ? ` at ${r.at}` : ''}${r.comment ? ` (${r.comment})` : ''}`);
    if (r.planSha256) io.out(`the saved Terraform plan approved: sha256 ${r.planSha256}`);
    return 0;
  }
  if (status === 403 && (parsed as { refused?: unknown }).refused === true) {
    io.err(`refused: ${messageOf(parsed, 'the API refused the decision')}`);
    io.err(`the refusal is recorded; ${what} keeps waiting for an approver`);
    return 1;
  }
  if (status === 403) {
    io.err(`refused by API Gateway (HTTP 403): ${messageOf(parsed, 'forbidden')}`);
    io.err('the caller needs execute-api:Invoke on the approval API, and the request must be signed for the API region');
    return 1;
  }
  if (status === 409) {
    io.err(messageOf(parsed, `no approval is waiting for ${what}`));
    return 1;
  }
  if (status === 400 || status === 404) {
    io.err(`gantry: ${messageOf(parsed, `HTTP ${status}`)}`);
    for (const p of ((parsed as { problems?: unknown }).problems as unknown[] | undefined) ?? []) io.err(`  ${String(p)}`);
    return 2;
  }
  io.err(`gantry: the approval API answered HTTP ${status}: ${messageOf(parsed, response.statusText || 'no message')}`);
  return 1;
}

/** Register `gantry approve` and `gantry reject`. */
export function registerDecisionCommands(program: Command, setCode: SetCode, io: DecisionIo = defaultIo): void {
  for (const decision of ['approve', 'reject'] as const) {
    program
      .command(decision)
      .description(`${decision} a stage of a release that waits for approval (a request signed with your AWS credentials)`)
      .argument('<releaseId>', 'the release (its execution name)')
      .requiredOption('--stage <stage>', 'the stage waiting for approval')
      .option('--comment <text>', `why (recorded; at most ${COMMENT_MAX} characters)`)
      .requiredOption('--api-url <url>', 'the approval API URL (stack output ApprovalApiUrl)')
      .option('--region <region>', 'the API region (default: from the URL, else AWS_REGION)')
      .option('--profile <profile>', 'the AWS profile to sign with (default: the standard credential chain)')
      .action(async (releaseId: string, opts: DecisionOptions) => {
        setCode(await runDecision(decision, releaseId, opts, io));
      });
  }
}
