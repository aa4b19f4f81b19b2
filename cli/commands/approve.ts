/** `gantry approve | reject`: a decision on a stage waiting for approval (AWS: the approval API, signed; local: the simulated API). */
import type { Command } from 'commander';
import { COMMENT_MAX } from '../../lambdas/domain/approvers';
import { CliInputError } from '../errors';

/** A saved plan's sha256 (lambdas/domain/plan-approval.ts SHA256_HEX). */
const PLAN_SHA256 = /^[a-f0-9]{64}$/;
import { type BackendOptions, backendOptions, type OperatorIo, type SetCode, withBackend } from './common';

export interface DecideOptions extends BackendOptions {
  readonly stage: string;
  readonly comment?: string;
  readonly apiUrl?: string;
  /** Decision 049: the saved Terraform plan approved, by its sha256 (as `gantry status` shows it). */
  readonly plan?: string;
}

export async function runDecide(decision: 'approve' | 'reject', releaseId: string, opts: DecideOptions, io: OperatorIo): Promise<number> {
  if (opts.plan !== undefined && !PLAN_SHA256.test(opts.plan)) {
    throw new CliInputError(`--plan: expected the saved plan's sha256 (64 lowercase hex digits, as gantry status shows it), got ${JSON.stringify(opts.plan)}`);
  }
  if (opts.apiUrl) {
    if (opts.local) throw new CliInputError('give either --api-url or --local, not both');
    const { runDecision } = await import('../backends/approval-api');
    return runDecision(decision, releaseId, {
      stage: opts.stage,
      apiUrl: opts.apiUrl,
      ...(opts.comment !== undefined ? { comment: opts.comment } : {}),
      ...(opts.plan !== undefined ? { planSha256: opts.plan } : {}),
      ...(opts.region ? { region: opts.region } : {}),
      ...(opts.profile ? { profile: opts.profile } : {}),
    });
  }
  return withBackend(opts, io, async (b) => {
    const r = await b.decide({
      decision,
      releaseId,
      stage: opts.stage,
      ...(opts.comment !== undefined ? { comment: opts.comment } : {}),
      ...(opts.plan !== undefined ? { planSha256: opts.plan } : {}),
    });
    for (const l of r.lines) (l.stream === 'out' ? io.out : io.err)(l.text);
    return r.code;
  });
}

/** Register `gantry approve` and `gantry reject`. */
export function registerDecisionCommands(program: Command, setCode: SetCode, io: OperatorIo): void {
  for (const decision of ['approve', 'reject'] as const) {
    backendOptions(
      program
        .command(decision)
        .description(`${decision} a stage of a release that waits for approval (AWS: a request to the approval API signed with your credentials)`)
        .argument('<releaseId>', 'the release (its execution name)')
        .requiredOption('--stage <stage>', 'the stage waiting for approval')
        .option('--comment <text>', `why (recorded; at most ${COMMENT_MAX} characters)`)
        .option('--api-url <url>', 'the approval API URL (default: the stack output ApprovalApiUrl)')
        .option('--plan <sha256>', "a Terraform stage that planned first: the saved plan's sha256 you approve (gantry status shows it; decision 049)"),
    ).action(async (releaseId: string, opts: DecideOptions) => {
      setCode(await runDecide(decision, releaseId, opts, io));
    });
  }
}
