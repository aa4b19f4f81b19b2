/**
 * A deployed Gantry: the stack's state machines (StartExecution, DescribeExecution), its ledger table
 * (the real DynamoDB adapter) and its approval API, found through the stack's CloudFormation outputs
 * (lib/cli/stack.ts). Credentials come from the standard chain (`--profile` picks a profile).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { STSClient } from '@aws-sdk/client-sts';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CloudWatchAlarms } from '../../lambdas/adapters/cloudwatch';
import { type ParsedExport, parseExport } from '../../lambdas/domain/audit';
import { DynamoLedger } from '../../lambdas/adapters/dynamo-ledger';
import { executionConsoleUrl } from '../../lambdas/approval-request';
import { type GantryConfig, parseConfig } from '../../lambdas/domain/config';
import type { LedgerEvent, ReleaseSummary } from '../../lambdas/domain/ledger';
import { operatorExecutionName } from '../../lambdas/domain/release';
import { parseReleaseInput, parseRollbackInput } from '../../lambdas/domain/release-input';
import type { FreezeState, Ledger, ReleaseQuery } from '../../lambdas/ports';
import { type Credentials, runDecision } from './approve';
import { type Decision, type DecisionResult, type ExecutionDescription, type GantryBackend, GantryAwsError, type StartResult } from './backend';
import { CliInputError } from './errors';
import { exportFromLedger } from './live-ledger';
import {
  callerArn,
  credentialsHint,
  type DescribeStackOutputs,
  describeStackOutputs,
  readOutputsFile,
  type StackOutputs,
  stackNameOf,
  toStackOutputs,
} from './stack';

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
  readonly ledger: Ledger;
  readonly alarms?: { describeAlarms(names: readonly string[]): Promise<Array<{ name: string; state: string }>> };
  readonly config?: GantryConfig;
  /** The caller's IAM ARN (STS GetCallerIdentity). */
  readonly callerArn: () => Promise<string>;
  /** An approval decision through the approval API (approve.ts's runDecision). */
  readonly decide?: (d: Decision) => Promise<DecisionResult>;
  readonly now?: () => Date;
  /** The random part of an execution name. */
  readonly nonce?: () => string;
  readonly onClose?: () => void;
  /** Warnings for stderr (a start record that could not be written). */
  readonly warn?: (line: string) => void;
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
  private validate(kind: 'release' | 'rollback', input: unknown): void {
    const config = this.d.config ?? shapeOnlyConfig(input);
    if (kind === 'release') parseReleaseInput(input, config);
    else parseRollbackInput(input, config);
  }

  private async start(kind: 'release' | 'rollback', input: Record<string, unknown>): Promise<StartResult> {
    this.validate(kind, input);
    const service = String(input.service);
    const at = this.now();
    const name = operatorExecutionName(kind === 'rollback' ? `${service}-rollback` : service, at, (this.d.nonce ?? randomUUID)());
    // The start record: the workflow takes the initiator from it, never from the input.
    try {
      const who = await this.d.callerArn();
      await this.d.ledger.putInitiator(name, who, at.toISOString());
    } catch (e) {
      this.d.warn?.(`gantry: warning: could not record you as the initiator (${(e as Error).message}); the release will say "unattributed"`);
    }
    const stateMachineArn = kind === 'rollback' ? this.d.outputs.rollbackStateMachineArn : this.d.outputs.releaseStateMachineArn;
    try {
      const out = await this.d.sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
      const executionArn = out.executionArn ?? executionArnOf(stateMachineArn, name);
      return { releaseId: name, executionArn, alreadyExists: false, ...consoleOf(executionArn) };
    } catch (e) {
      if ((e as Error).name === 'ExecutionAlreadyExists') {
        const executionArn = executionArnOf(stateMachineArn, name);
        return { releaseId: name, executionArn, alreadyExists: true, ...consoleOf(executionArn) };
      }
      throw awsError(`Step Functions StartExecution on ${stateMachineArn}`, e);
    }
  }

  startRelease(input: unknown): Promise<StartResult> {
    return this.start('release', asObject(input));
  }

  startRollback(input: unknown): Promise<StartResult> {
    return this.start('rollback', asObject(input));
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
      return await this.d.ledger.events(releaseId);
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
    const principal = await this.d.callerArn();
    const state = { on, reason, principal, at: this.now().toISOString() };
    try {
      await this.d.ledger.setFreeze(state);
    } catch (e) {
      throw awsError(`writing the freeze to the ledger table ${this.d.outputs.ledgerTableName}`, e, 'your role needs dynamodb:UpdateItem on the ledger table (operators only)');
    }
    return state;
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
  const stages = [...(Array.isArray(o.stages) ? o.stages : []), ...(typeof o.stage === 'string' ? [o.stage] : [])].filter((s): s is string => typeof s === 'string');
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
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CliInputError(`--config: expected the deployment config (gantry.config.json): ${(e as Error).message}`, { cause: e });
  }
  return parseConfig(raw, path);
}

export interface AwsFactoryHooks {
  /** DescribeStacks (tests). @default @aws-sdk/client-cloudformation */
  readonly describeStack?: DescribeStackOutputs;
  /** Credentials for STS and the approval API (tests). @default the standard chain (`--profile`) */
  readonly credentials?: () => Promise<Credentials>;
  /** The approval API's fetch (tests). */
  readonly fetch?: typeof fetch;
  readonly warn?: (line: string) => void;
  readonly sfn?: SFNClient;
  readonly dynamo?: DynamoDBClient;
  readonly sts?: STSClient;
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
  // STS with the same region, profile and credentials as the other clients (a test's credentials when given).
  const stsConfig = { ...clientConfig, region, ...(hooks.credentials ? { credentials: hooks.credentials } : {}) };
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
  let caller: string | undefined;
  return new AwsBackend({
    outputs,
    region,
    sfn,
    ledger: new DynamoLedger({ client: doc, tableName: outputs.ledgerTableName }),
    alarms: new CloudWatchAlarms(new CloudWatchClient({ ...clientConfig, region })),
    ...(config ? { config } : {}),
    callerArn: async () => {
      caller ??= await callerArn(stsConfig, hooks.sts);
      return caller;
    },
    ...(outputs.approvalApiUrl
      ? {
          decide: async (d: Decision) => {
            const lines: Array<{ stream: 'out' | 'err'; text: string }> = [];
            const code = await runDecision(
              d.decision,
              d.releaseId,
              { stage: d.stage, ...(d.comment !== undefined ? { comment: d.comment } : {}), apiUrl: outputs.approvalApiUrl as string, region, ...(opts.profile ? { profile: opts.profile } : {}) },
              { out: (text) => lines.push({ stream: 'out', text }), err: (text) => lines.push({ stream: 'err', text }), credentials, ...(hooks.fetch ? { fetch: hooks.fetch } : {}) },
            );
            return { code, lines };
          },
        }
      : {}),
    ...(hooks.warn ? { warn: hooks.warn } : { warn: (l: string) => process.stderr.write(`${l}\n`) }),
    onClose: () => {
      doc.destroy();
      if (!hooks.sfn) sfn.destroy();
    },
  });
}
