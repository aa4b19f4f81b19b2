/**
 * A deployed Gantry: its API (ApprovalApiUrl: the operator routes to start releases and rollbacks and set
 * the freeze, and the approval route), its state machines (DescribeExecution) and its ledger table, read
 * only (the real DynamoDB adapter), found through the stack's CloudFormation outputs (cli/backends/stack.ts).
 * Credentials come from the standard chain (`--profile` picks a profile). Nothing here writes the ledger:
 * the operator API records the caller (docs/decisions/025-ledger-trust-boundary.md).
 */
import { existsSync, readFileSync } from 'node:fs';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CloudWatchAlarms } from '../../lambdas/adapters/cloudwatch';
import { type ParsedExport, parseExport } from '../../lambdas/domain/audit';
import { DynamoLedger } from '../../lambdas/adapters/dynamo-ledger';
import { executionConsoleUrl } from '../../lambdas/domain/console-url';
import { type GantryConfig, parseConfigText } from '../../lambdas/domain/config';
import type { LedgerEvent, ReleaseSummary } from '../../lambdas/domain/ledger';
import { OPERATOR_ROUTES, type OperatorRoute, parseAbortRequest } from '../../lambdas/domain/operator-requests';
import { parseDrillInput } from '../../lambdas/domain/drill';
import { parseReleaseInput, parseRollbackInput } from '../../lambdas/domain/release-input';
import { JsonReadError } from '../../lambdas/domain/strict-json';
import { ValidationError } from '../../lambdas/domain/validation';
import type { FreezeState, Ledger, ReleaseQuery } from '../../lambdas/ports';
import { type Credentials, runDecision } from './approval-api';
import {
  type AbortResult,
  type Decision,
  type DecisionResult,
  type ExecutionDescription,
  type GantryBackend,
  GantryAwsError,
  NotFoundError,
  RefusedError,
  type StagePointerView,
  type StartResult,
} from './backend';
import { CliInputError } from '../errors';
import { exportFromLedger } from './live-ledger';
import { messageOf, type OperatorApiCall, operatorApi } from './operator-api';
import { credentialsHint, type DescribeStackOutputs, describeStackOutputs, readOutputsFile, type StackOutputs, stackNameOf, toStackOutputs } from './stack';

export interface AwsOptions {
  readonly stack?: string;
  readonly region?: string;
  readonly profile?: string;
  /** `cdk deploy --outputs-file` JSON instead of DescribeStacks. */
  readonly outputs?: string;
  /** The deployment config, to validate inputs fully before starting (default: GANTRY_CONFIG, else ./gantry.config.json when present). */
  readonly config?: string;
}

export interface AwsBackendDeps {
  readonly outputs: StackOutputs;
  readonly region: string;
  readonly sfn: SFNClient;
  /** The ledger, read only. */
  readonly ledger: Ledger;
  readonly alarms?: { describeAlarms(names: readonly string[]): Promise<Array<{ name: string; state: string }>> };
  readonly config?: GantryConfig;
  /** The operator routes of the Gantry API (./operator-api.ts); absent when the stack has no ApprovalApiUrl output. */
  readonly operatorApi?: OperatorApiCall;
  /** An approval decision through the approval API (approve.ts's runDecision). */
  readonly decide?: (d: Decision) => Promise<DecisionResult>;
  readonly now?: () => Date;
  readonly onClose?: () => void;
}

/** Any AWS SDK error as an exit-4 error that says what to check. */
export function awsError(operation: string, e: unknown, hint = ''): GantryAwsError {
  const err = e as Error & { $metadata?: { httpStatusCode?: number } };
  const what = `${err?.name ?? 'Error'}: ${err?.message ?? String(e)}`;
  const access = /AccessDenied|UnrecognizedClient|ExpiredToken|InvalidSignature|CredentialsProviderError/.test(err?.name ?? '') || /credential/i.test(err?.message ?? '');
  const next = access ? 'check your credentials (--profile, aws sso login) and that your role allows it' : 'check --region and --stack, then retry';
  const creds = credentialsHint(e);
  return new GantryAwsError(`${operation} failed: ${creds ?? `${what}; ${hint || next}`}`, { cause: e });
}

export class AwsBackend implements GantryBackend {
  readonly kind = 'aws' as const;
  readonly label: string;

  constructor(private readonly d: AwsBackendDeps) {
    this.label = `stack ${d.outputs.stackName} (${d.region})`;
  }

  config(): GantryConfig | undefined {
    return this.d.config;
  }

  now(): Date {
    return (this.d.now ?? (() => new Date()))();
  }

  close(): void {
    this.d.onClose?.();
  }

  /** Validate as the workflow will: against the config when known, else the input's shape (the workflow checks the service). */
  private validate(kind: 'release' | 'rollback' | 'drill', input: unknown): void {
    // A drill is checked against the config only when it is known (production stages): the API checks it anyway.
    if (kind === 'drill') {
      if (this.d.config) parseDrillInput(input, this.d.config);
      return;
    }
    const config = this.d.config ?? shapeOnlyConfig(input);
    if (kind === 'release') parseReleaseInput(input, config);
    else parseRollbackInput(input, config);
  }

  /** The operator routes, or an error saying the stack has none. */
  private api(): OperatorApiCall {
    if (!this.d.operatorApi) {
      throw new CliInputError(
        `stack ${this.d.outputs.stackName} has no ApprovalApiUrl output: starts, rollbacks and the freeze go through the Gantry API; deploy a current Gantry`,
      );
    }
    return this.d.operatorApi;
  }

  /** A refusal of the API that is not about the input: exit 4, saying which permission the route needs. */
  private refused(route: OperatorRoute, status: number, body: Record<string, unknown>, what: string): GantryAwsError {
    const api = this.d.outputs.approvalApiUrl ?? 'the Gantry API';
    if (status === 403) {
      return new GantryAwsError(
        `${what} refused by the Gantry API (HTTP 403): ${messageOf(body, 'forbidden')}; your role needs execute-api:Invoke on the ${`${OPERATOR_ROUTES[route].method} ${OPERATOR_ROUTES[route].resource}`} route of ${api} (operators: ReleaseControlPlane.grantOperate), and the request must be signed for the API's region`,
      );
    }
    const id = typeof body.requestId === 'string' ? ` (request ${body.requestId})` : '';
    return new GantryAwsError(
      `${what} failed: the Gantry API answered HTTP ${status}: ${messageOf(body, 'no message')}${id}; retry, and check the operator-api function's logs if it persists`,
    );
  }

  private async start(kind: 'release' | 'rollback' | 'drill', input: Record<string, unknown>): Promise<StartResult> {
    this.validate(kind, input);
    const route: OperatorRoute = kind === 'rollback' ? 'startRollback' : kind === 'drill' ? 'startDrill' : 'startRelease';
    const { status, body } = await this.api()(route, input);
    if (status === 400) throw new ValidationError(`${kind} input`, Array.isArray(body.problems) ? body.problems.map(String) : [messageOf(body, 'the API refused the input')]);
    const releaseId = typeof body.releaseId === 'string' ? body.releaseId : undefined;
    if ((status === 200 || status === 409) && releaseId) {
      const stateMachineArn = kind === 'rollback' ? this.d.outputs.rollbackStateMachineArn : this.d.outputs.releaseStateMachineArn;
      // A drill's execution ARN comes from the API (the stack has no output for the drill workflow).
      const executionArn = typeof body.executionArn === 'string' ? body.executionArn : executionArnOf(stateMachineArn, releaseId);
      return { releaseId, executionArn, alreadyExists: status === 409, ...consoleOf(executionArn) };
    }
    throw this.refused(route, status, body, `starting the ${kind}`);
  }

  startRelease(input: unknown): Promise<StartResult> {
    return this.start('release', asObject(input));
  }

  startRollback(input: unknown): Promise<StartResult> {
    return this.start('rollback', asObject(input));
  }

  startDrill(input: unknown): Promise<StartResult> {
    return this.start('drill', asObject(input));
  }

  /** POST /aborts (decision 053): the API records who and why and stops the execution; the reconciler closes the record. */
  async abortRelease(releaseId: string, reason: string): Promise<AbortResult> {
    const request = parseAbortRequest({ releaseId, reason });
    const { status, body } = await this.api()('abortRelease', request);
    if (status === 400) throw new ValidationError('abort request', Array.isArray(body.problems) ? body.problems.map(String) : [messageOf(body, 'the API refused the request')]);
    if (status === 404) throw new NotFoundError(messageOf(body, `no release ${releaseId} on record`));
    if (status === 409) throw new RefusedError(messageOf(body, `release ${releaseId} cannot be aborted`));
    if (status !== 200) throw this.refused('abortRelease', status, body, `aborting ${releaseId}`);
    const principal = typeof body.principal === 'string' ? body.principal : undefined;
    return {
      releaseId,
      status: typeof body.status === 'string' ? body.status : 'ABORTING',
      message: `the reconciler closes the record as ABORTED within seconds: gantry status ${releaseId}`,
      ...(principal ? { principal } : {}),
    };
  }

  async stagePointer(service: string, stage: string): Promise<StagePointerView | undefined> {
    try {
      return await this.d.ledger.getPointer(service, stage);
    } catch (e) {
      throw awsError(`reading the stage pointer of ${service}/${stage} from the ledger table ${this.d.outputs.ledgerTableName}`, e);
    }
  }

  async listReleases(query: ReleaseQuery = {}): Promise<ReleaseSummary[]> {
    try {
      const all = await this.d.ledger.listReleases(query);
      return [...all].sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.releaseId.localeCompare(a.releaseId));
    } catch (e) {
      throw awsError(`reading the ledger table ${this.d.outputs.ledgerTableName}`, e);
    }
  }

  async getReleaseEvents(releaseId: string): Promise<LedgerEvent[]> {
    try {
      return await this.d.ledger.events(releaseId, { whole: true });
    } catch (e) {
      throw awsError(`reading release ${releaseId} from the ledger table ${this.d.outputs.ledgerTableName}`, e);
    }
  }

  async exportRelease(releaseId: string): Promise<ParsedExport> {
    let text: string;
    try {
      text = await exportFromLedger(this.d.ledger, { releaseId });
    } catch (e) {
      throw awsError(`reading release ${releaseId} from the ledger table ${this.d.outputs.ledgerTableName}`, e);
    }
    return parseExport(text);
  }

  async describeExecution(releaseId: string): Promise<ExecutionDescription | undefined> {
    let summaryArn: string | undefined;
    try {
      summaryArn = (await this.d.ledger.getRelease(releaseId))?.executionArn;
    } catch (e) {
      throw awsError(`reading release ${releaseId} from the ledger table ${this.d.outputs.ledgerTableName}`, e);
    }
    const executionArn = summaryArn ?? executionArnOf(/-rollback-/.test(releaseId) ? this.d.outputs.rollbackStateMachineArn : this.d.outputs.releaseStateMachineArn, releaseId);
    try {
      const r = await this.d.sfn.send(new DescribeExecutionCommand({ executionArn }));
      return {
        releaseId,
        executionArn,
        status: r.status ?? 'UNKNOWN',
        ...(r.error ? { error: r.error } : {}),
        ...(r.cause ? { cause: r.cause } : {}),
        ...(r.startDate ? { startedAt: r.startDate.toISOString() } : {}),
        ...(r.stopDate ? { stoppedAt: r.stopDate.toISOString() } : {}),
      };
    } catch (e) {
      if ((e as Error).name === 'ExecutionDoesNotExist') return undefined;
      throw awsError(`Step Functions DescribeExecution ${executionArn}`, e);
    }
  }

  async getFreeze(): Promise<FreezeState> {
    try {
      return await this.d.ledger.getFreeze();
    } catch (e) {
      throw awsError(`reading the freeze from the ledger table ${this.d.outputs.ledgerTableName}`, e);
    }
  }

  async setFreeze(on: boolean, reason: string): Promise<FreezeState> {
    const { status, body } = await this.api()('setFreeze', { state: on ? 'on' : 'off', reason });
    if (status === 400) throw new ValidationError('freeze request', Array.isArray(body.problems) ? body.problems.map(String) : [messageOf(body, 'the API refused the request')]);
    if (status !== 200) throw this.refused('setFreeze', status, body, `turning the freeze ${on ? 'on' : 'off'}`);
    return {
      on: body.on === true,
      ...(typeof body.reason === 'string' ? { reason: body.reason } : {}),
      ...(typeof body.principal === 'string' ? { principal: body.principal } : {}),
      ...(typeof body.at === 'string' ? { at: body.at } : {}),
    };
  }

  async decide(decision: Decision): Promise<DecisionResult> {
    if (!this.d.decide) throw new CliInputError(`stack ${this.d.outputs.stackName} has no ApprovalApiUrl output; give the approval API with --api-url`);
    return this.d.decide(decision);
  }

  async alarmStates(names: readonly string[]): Promise<Record<string, string>> {
    if (!this.d.alarms || names.length === 0) return {};
    try {
      const found = await this.d.alarms.describeAlarms(names);
      const out: Record<string, string> = {};
      for (const n of names) out[n] = found.find((a) => a.name === n)?.state ?? 'MISSING';
      return out;
    } catch {
      return {}; // evidence only: status still answers without it
    }
  }
}

function asObject(input: unknown): Record<string, unknown> {
  return typeof input === 'object' && input !== null && !Array.isArray(input) ? (input as Record<string, unknown>) : { input };
}

/** A config that knows only the service and stages the input names: checks the shape, not the policy. */
function shapeOnlyConfig(input: unknown): GantryConfig {
  const o = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  const service = typeof o.service === 'string' ? o.service : undefined;
  const listed = [...(Array.isArray(o.stages) ? o.stages : []), ...(typeof o.stage === 'string' ? [o.stage] : [])].filter((s): s is string => typeof s === 'string');
  // A promotion (startAt, decision 054) starts after some earlier stage the shape does not know: stand one in.
  const from = typeof o.startAt === 'string' ? o.startAt : undefined;
  const stages = from ? [`(a stage before ${from})`, ...(listed[0] === from ? listed : [from, ...listed])] : listed;
  return { services: service ? { [service]: { stages: stages.map((name) => ({ name })) } } : {} } as unknown as GantryConfig;
}

export function executionArnOf(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

function consoleOf(executionArn: string): { consoleUrl?: string } {
  const url = executionConsoleUrl(executionArn);
  return url ? { consoleUrl: url } : {};
}

/** The config to validate with: `--config`, GANTRY_CONFIG, or ./gantry.config.json when present. */
export function loadOptionalConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): GantryConfig | undefined {
  const path = file ?? env.GANTRY_CONFIG ?? (existsSync('gantry.config.json') ? 'gantry.config.json' : undefined);
  if (!path) return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CliInputError(`--config: expected the deployment config (gantry.config.json): ${(e as Error).message}`, { cause: e });
  }
  try {
    // Strict: a duplicate key or nesting past the limit is one line per problem, like any invalid config.
    return parseConfigText(text, path);
  } catch (e) {
    if (e instanceof JsonReadError) throw new CliInputError(`--config: expected the deployment config (gantry.config.json): ${e.message}`, { cause: e });
    throw e;
  }
}

export interface AwsFactoryHooks {
  /** DescribeStacks (tests). @default @aws-sdk/client-cloudformation */
  readonly describeStack?: DescribeStackOutputs;
  /** Credentials for the Gantry API (tests). @default the standard chain (`--profile`) */
  readonly credentials?: () => Promise<Credentials>;
  /** The Gantry API's fetch (tests). */
  readonly fetch?: typeof fetch;
  readonly sfn?: SFNClient;
  readonly dynamo?: DynamoDBClient;
}

/** Open a deployed Gantry: find the stack's outputs, make the clients. */
export async function openAwsBackend(opts: AwsOptions, hooks: AwsFactoryHooks = {}): Promise<AwsBackend> {
  const stackName = stackNameOf(opts.stack);
  const clientConfig: Record<string, unknown> = { ...(opts.region ? { region: opts.region } : {}), ...(opts.profile ? { profile: opts.profile } : {}) };
  const sfn = hooks.sfn ?? new SFNClient(clientConfig);
  let region: string;
  try {
    region = opts.region ?? (await sfn.config.region());
  } catch {
    throw new CliInputError('no AWS region: give --region, or set AWS_REGION (or a region in your AWS profile)');
  }
  if (!region || !/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) throw new CliInputError(`--region: expected an AWS region such as eu-west-2, got ${JSON.stringify(region)}`);
  const credentials = hooks.credentials ?? fromNodeProviderChain(opts.profile ? { profile: opts.profile } : {});
  let raw: Record<string, string>;
  if (opts.outputs) {
    raw = readOutputsFile(opts.outputs, stackName);
  } else {
    raw = await (hooks.describeStack ?? describeStackOutputs({ ...clientConfig, region }, region))(stackName);
  }
  const outputs = toStackOutputs(stackName, raw);
  const dynamo = hooks.dynamo ?? new DynamoDBClient({ ...clientConfig, region });
  const doc = DynamoDBDocumentClient.from(dynamo);
  const config = loadOptionalConfig(opts.config);
  const apiUrl = outputs.approvalApiUrl;
  let callOperatorApi: OperatorApiCall | undefined;
  return new AwsBackend({
    outputs,
    region,
    sfn,
    ledger: new DynamoLedger({ client: doc, tableName: outputs.ledgerTableName }),
    alarms: new CloudWatchAlarms(new CloudWatchClient({ ...clientConfig, region })),
    ...(config ? { config } : {}),
    ...(apiUrl
      ? {
          operatorApi: (route, body) => {
            callOperatorApi ??= operatorApi({ apiUrl, credentials, region, ...(hooks.fetch ? { fetch: hooks.fetch } : {}) });
            return callOperatorApi(route, body);
          },
          decide: async (d: Decision) => {
            const lines: Array<{ stream: 'out' | 'err'; text: string }> = [];
            const code = await runDecision(
              d.decision,
              d.releaseId,
              {
                stage: d.stage,
                ...(d.comment !== undefined ? { comment: d.comment } : {}),
                ...(d.planSha256 !== undefined ? { planSha256: d.planSha256 } : {}),
                apiUrl,
                region,
                ...(opts.profile ? { profile: opts.profile } : {}),
              },
              {
                out: (text) => lines.push({ stream: 'out', text }),
                err: (text) => lines.push({ stream: 'err', text }),
                credentials,
                ...(hooks.fetch ? { fetch: hooks.fetch } : {}),
              },
            );
            return { code, lines };
          },
        }
      : {}),
    onClose: () => {
      doc.destroy();
      if (!hooks.sfn) sfn.destroy();
    },
  });
}
