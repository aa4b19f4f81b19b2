/**
 * One approval decision through the approval API's Lambda (approval-decide) on the in-memory DynamoDB
 * (test/helpers/approval-harness.ts): the DynamoDB requests it sends and its wall time, for a stage that
 * needs one approval, and (decision 050) the first and the completing decision of a stage that needs two.
 * Each sample is a fresh table with prod waiting for approval; median of RUNS.
 *
 * Command: `POWERTOOLS_LOG_LEVEL=SILENT node --import tsx bench/approvals.ts [--single-only]`
 * (`--single-only` for a tree without `approval.required`, to measure before decision 050).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../lambdas/domain/config';
import { startMemoryDynamo } from '../local/memory-dynamo';
import { approve, APPROVERS_ROLE, CAROL, call, type Harness, waitingRelease } from '../test/helpers/approval-harness';
import { machineLine, median } from './stats';

const RUNS = 20;
const BOB = 'arn:aws:sts::111122223333:assumed-role/ReleaseApprovers/bob';

function config(required?: number) {
  const raw = JSON.parse(readFileSync(join(__dirname, '..', 'examples', 'gantry.config.json'), 'utf8'));
  const prod = raw.services.payments.stages.find((s: { name: string }) => s.name === 'prod');
  prod.approval = { approvers: [APPROVERS_ROLE, CAROL], timeoutMinutes: 60, ...(required ? { required } : {}) };
  return parseConfig(raw, 'bench config');
}

async function main() {
  const singleOnly = process.argv.includes('--single-only');
  const dynamo = await startMemoryDynamo();
  let requests = 0;
  const send = dynamo.doc.send.bind(dynamo.doc);
  (dynamo.doc as unknown as { send: typeof send }).send = ((cmd: unknown, ...rest: unknown[]) => {
    requests++;
    return (send as (...a: unknown[]) => unknown)(cmd, ...rest);
  }) as typeof send;

  async function sample(h: Harness, principal: string): Promise<{ ms: number; requests: number; status: number }> {
    requests = 0;
    const t = performance.now();
    const r = await call(h, approve(principal));
    return { ms: performance.now() - t, requests, status: r.status };
  }

  const cases: Array<{ name: string; run: () => Promise<{ ms: number; requests: number; status: number }> }> = [
    { name: 'required 1: the approval', run: async () => sample(await waitingRelease(dynamo, { config: config() }), BOB) },
  ];
  if (!singleOnly) {
    cases.push(
      { name: 'required 2: the first approval (recorded, WAITING)', run: async () => sample(await waitingRelease(dynamo, { config: config(2) }), BOB) },
      {
        name: 'required 2: the completing approval',
        run: async () => {
          const h = await waitingRelease(dynamo, { config: config(2) });
          await call(h, approve(BOB));
          return sample(h, CAROL);
        },
      },
    );
  }
  const lines = ['| decision | DynamoDB requests | median ms (of ' + RUNS + ') | runs ms (min–max) |', '|---|---|---|---|'];
  for (const c of cases) {
    await c.run(); // warm-up
    const got = [];
    for (let i = 0; i < RUNS; i++) got.push(await c.run());
    if (got.some((g) => g.status !== 200)) throw new Error(`${c.name}: a decision was not accepted`);
    const ms = got.map((g) => g.ms);
    lines.push(`| ${c.name} | ${median(got.map((g) => g.requests))} | ${median(ms).toFixed(1)} | ${Math.min(...ms).toFixed(1)}–${Math.max(...ms).toFixed(1)} |`);
  }
  await dynamo.close();
  process.stdout.write(`${lines.join('\n')}\n\nMachine: ${machineLine()}.\n`);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exitCode = 1;
});
