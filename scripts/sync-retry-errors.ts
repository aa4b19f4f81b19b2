/**
 * Sets `Retry[*].ErrorEquals` of every Lambda task in statemachines/*.asl.json to
 * `LAMBDA_TASK_RETRY_ERRORS` (lambdas/adapters/errors.ts), touching nothing else. Each file is read
 * right before it is written (others edit these files too) and only written when it changes.
 *
 *   node --import tsx scripts/sync-retry-errors.ts [--check]
 *
 * `--check` writes nothing and exits 1 when a file is out of date. test/unit/retry-policy.test.ts
 * makes the same check.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LAMBDA_TASK_RETRY_ERRORS } from '../lambdas/adapters/errors';

type State = { Type?: string; Resource?: string; Retry?: Array<{ ErrorEquals: string[] }> };

/** A Lambda task: a function ARN placeholder or the lambda:invoke integration. */
export function isLambdaTask(state: State): boolean {
  const r = state.Resource ?? '';
  return state.Type === 'Task' && (/FunctionArn\}$/.test(r) || r.startsWith('arn:aws:states:::lambda:invoke'));
}

/** The definition with every Lambda task's Retry listing `LAMBDA_TASK_RETRY_ERRORS`; the input is not changed. */
export function withLambdaRetryErrors(def: { States: Record<string, State> }): { States: Record<string, State> } {
  const copy = structuredClone(def);
  for (const state of Object.values(copy.States)) {
    if (!isLambdaTask(state)) continue;
    for (const r of state.Retry ?? []) r.ErrorEquals = [...LAMBDA_TASK_RETRY_ERRORS];
  }
  return copy;
}

if (require.main === module) {
  const dir = join(__dirname, '..', 'statemachines');
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.asl.json'))) {
    const path = join(dir, file);
    const text = readFileSync(path, 'utf8');
    const before = JSON.parse(text) as { States: Record<string, State> };
    if (`${JSON.stringify(before, null, 2)}\n` !== text) {
      process.stderr.write(`${file}: not in JSON.stringify(…, null, 2) form; left alone\n`);
      stale++;
      continue;
    }
    const after = `${JSON.stringify(withLambdaRetryErrors(before), null, 2)}\n`;
    if (after === text) continue;
    stale++;
    if (check) process.stderr.write(`${file}: Lambda task Retry lists are out of date\n`);
    else {
      // Re-read immediately before writing: give up on this file if someone changed it meanwhile.
      if (readFileSync(path, 'utf8') !== text) {
        process.stderr.write(`${file}: changed while syncing; run again\n`);
        continue;
      }
      writeFileSync(path, after);
      process.stdout.write(`${file}: Lambda task Retry lists updated\n`);
    }
  }
  process.exit(check && stale ? 1 : 0);
}
