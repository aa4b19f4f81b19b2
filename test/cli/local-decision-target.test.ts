/**
 * A local Gantry's decision is replayed on the release it was taken on (issue 20): with an aborted release that had
 * waited for the same stage's approval earlier, approving the promotion that waits now must not, on the re-run,
 * approve the earlier release instead (which would rewrite its history: deployed to prod, then aborted).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { exportEvents, parseExport } from '../../lambdas/domain/audit';
import { alice, bob, D2, gantry, localGantry, scenarioFile } from './helpers';

const carol = 'arn:aws:iam::111122223333:user/carol';
const events = (dir: string) => exportEvents(parseExport(readFileSync(join(dir, 'ledger.jsonl'), 'utf8')));

describe('a local decision names its release', () => {
  it('approving a second release waiting at prod leaves the first (aborted while waiting) undeployed there', async () => {
    const dir = await localGantry(scenarioFile(), 'PT1M');
    const s = await gantry('start', '--local', dir, '--as', alice, '--service', 'payments', '--tag', 'v1.4.2', '--json');
    assert.equal(s.code, 0, s.stderr);
    const first = (JSON.parse(s.stdout) as { releaseId: string }).releaseId;
    assert.equal((await gantry('simulate', '--state', dir, '--advance', 'PT40M', '--json')).code, 0);
    assert.equal((await gantry('abort', first, '--reason', 'hold', '--local', dir, '--as', carol)).code, 0);
    const p = await gantry('promote', '--local', dir, '--as', alice, '--service', 'payments', '--digest', D2, '--to', 'prod', '--json');
    assert.equal(p.code, 0, p.stderr);
    const second = (JSON.parse(p.stdout) as { releaseId: string }).releaseId;

    const approved = await gantry('approve', second, '--stage', 'prod', '--local', dir, '--as', bob);
    assert.equal(approved.code, 0, approved.stderr + approved.stdout);

    const all = events(dir);
    const prodOf = (id: string) => all.filter((e) => e.releaseId === id && e.stage === 'prod');
    const approval = (id: string) => prodOf(id).filter((e) => e.type === 'gate.evaluated' && e.data.gate === 'approval');
    assert.deepEqual(approval(first), [], 'the aborted release was not approved');
    assert.deepEqual(
      prodOf(first).filter((e) => e.type === 'deploy.started'),
      [],
      'nor deployed in prod',
    );
    assert.equal(all.find((e) => e.releaseId === first && e.type === 'release.finished')?.data.status, 'ABORTED');
    assert.ok(
      approval(second).some((e) => e.data.result === 'PASS' && e.data.principal === bob),
      'the promotion was approved by bob',
    );
  }, 120_000);
});
