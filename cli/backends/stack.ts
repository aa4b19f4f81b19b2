/**
 * Finding a deployed Gantry: the stack's CloudFormation outputs (DescribeStacks through
 * @aws-sdk/client-cloudformation), or the JSON that `cdk deploy --outputs-file` wrote.
 *
 * The CLI never says who the caller is: the Gantry API takes the caller from the SigV4 signature and
 * records it (a release's initiator, a freeze's principal).
 */
import { readFileSync } from 'node:fs';
import { CloudFormationClient, type CloudFormationClientConfig, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { parseStrictJson } from '../../lambdas/domain/strict-json';
import { GantryAwsError, NotFoundError } from './backend';
import { CliInputError } from '../errors';

/** The outputs the CLI needs (lib/GantryStack.ts). */
export const OUTPUT_KEYS = {
  releaseStateMachineArn: 'ReleaseStateMachineArn',
  rollbackStateMachineArn: 'RollbackStateMachineArn',
  ledgerTableName: 'LedgerTableName',
  approvalApiUrl: 'ApprovalApiUrl',
  eventBusName: 'EventBusName',
} as const;

export interface StackOutputs {
  readonly stackName: string;
  readonly releaseStateMachineArn: string;
  readonly rollbackStateMachineArn: string;
  readonly ledgerTableName: string;
  readonly approvalApiUrl?: string;
  readonly eventBusName?: string;
}

/** DescribeStacks → the stack's outputs by key. @throws NotFoundError when the stack does not exist */
export type DescribeStackOutputs = (stackName: string) => Promise<Record<string, string>>;

/** The stack name: `--stack`, else GANTRY_STACK, else `Gantry`. */
export function stackNameOf(stack: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const name = stack ?? env.GANTRY_STACK ?? 'Gantry';
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(name)) throw new CliInputError(`--stack: expected a CloudFormation stack name (letters, digits, -), got ${JSON.stringify(name)}`);
  return name;
}

/** Pick and check the outputs Gantry needs. */
export function toStackOutputs(stackName: string, outputs: Record<string, string>): StackOutputs {
  const missing = (['releaseStateMachineArn', 'rollbackStateMachineArn', 'ledgerTableName'] as const).filter((k) => !outputs[OUTPUT_KEYS[k]]);
  if (missing.length) {
    throw new NotFoundError(
      `stack ${stackName} has no output ${missing.map((k) => OUTPUT_KEYS[k]).join(', ')}: is it a Gantry stack? Give the right one with --stack (or GANTRY_STACK)`,
    );
  }
  return {
    stackName,
    releaseStateMachineArn: outputs[OUTPUT_KEYS.releaseStateMachineArn] as string,
    rollbackStateMachineArn: outputs[OUTPUT_KEYS.rollbackStateMachineArn] as string,
    ledgerTableName: outputs[OUTPUT_KEYS.ledgerTableName] as string,
    ...(outputs[OUTPUT_KEYS.approvalApiUrl] ? { approvalApiUrl: outputs[OUTPUT_KEYS.approvalApiUrl] } : {}),
    ...(outputs[OUTPUT_KEYS.eventBusName] ? { eventBusName: outputs[OUTPUT_KEYS.eventBusName] } : {}),
  };
}

/** `cdk deploy --outputs-file F`: `{ "<stack>": { "<OutputKey>": "<value>" } }`. */
export function readOutputsFile(file: string, stackName: string): Record<string, string> {
  let raw: unknown;
  try {
    raw = parseStrictJson(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CliInputError(`--outputs: expected the JSON file cdk deploy --outputs-file writes: ${(e as Error).message}`, { cause: e });
  }
  const all = raw as Record<string, unknown>;
  const stack = (all?.[stackName] ?? undefined) as Record<string, string> | undefined;
  if (!stack || typeof stack !== 'object')
    throw new NotFoundError(`--outputs ${file} has no stack ${stackName} (it has: ${Object.keys(all ?? {}).join(', ') || 'none'}); give --stack`);
  return stack;
}

/** A credentials failure in words that say what to do. */
export function credentialsHint(e: unknown): string | undefined {
  const err = e as Error;
  return err?.name === 'CredentialsProviderError' || /Could not load credentials/.test(err?.message ?? '')
    ? `no AWS credentials (${err.message}): sign in (aws sso login) or give --profile / AWS_PROFILE`
    : undefined;
}

/** DescribeStacks through @aws-sdk/client-cloudformation. */
export function describeStackOutputs(clientConfig: CloudFormationClientConfig, region: string, client?: CloudFormationClient): DescribeStackOutputs {
  return async (stackName) => {
    const cfn = client ?? new CloudFormationClient(clientConfig);
    try {
      const r = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
      const out: Record<string, string> = {};
      for (const o of r.Stacks?.[0]?.Outputs ?? []) if (o.OutputKey && o.OutputValue !== undefined) out[o.OutputKey] = o.OutputValue;
      return out;
    } catch (e) {
      const err = e as Error;
      if (err.name === 'ValidationError' && /does not exist/.test(err.message)) {
        throw new NotFoundError(
          `stack ${stackName} does not exist in ${region}: deploy Gantry (npx cdk deploy) or name the stack with --stack / GANTRY_STACK and the region with --region`,
          { cause: e },
        );
      }
      throw new GantryAwsError(
        `CloudFormation DescribeStacks ${stackName} failed: ${credentialsHint(e) ?? `${err.name}: ${err.message}; check that your credentials allow cloudformation:DescribeStacks, or give --outputs <cdk outputs file>`}`,
        { cause: e },
      );
    } finally {
      if (!client) cfn.destroy();
    }
  };
}
