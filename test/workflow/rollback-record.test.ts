/**
 * A rollback record names the digest it rolled back from (issue 13): the digest this release tried to
 * deploy in the stage, whether or not that deploy finished (`fromDeployed`), or, for an operator rollback,
 * the digest the stage ran. The timeline, `gantry audit show` and the HTML report print it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { auditRelease } from '../../lambdas/domain/audit';
import { renderAudit } from '../../cli/render/render';
import { renderReleaseReport } from '../../cli/render/report-html';
import { loadScenario } from '../../local/scenario';
import { simulate } from '../../local/simulate';
import { renderTimeline } from '../../cli/render/timeline';
import { D1, D2, ROOT } from './helpers';

const carol = 'arn:aws:sts::111122223333:assumed-role/Operators/carol';
const demo = () => JSON.parse(readFileSync(join(ROOT, 'examples', 'scenarios', 'demo.json'), 'utf8'));
const run = (raw: unknown) => simulate(loadScenario(raw, join(ROOT, 'examples', 'scenarios')));
const NOTHING = '(its deploy did not finish: nothing was deployed)';

describe('the digest a rollback rolled back from', () => {
  it('is the digest the failed deploy tried, marked not deployed, when a failed deploy is followed by a failed rollback', async () => {
    const s = demo();
    s.script = [
      { when: { service: 'payments', stage: 'staging', phase: 'deploy' }, deploy: { result: 'FAILED', message: 'UPGRADE FAILED: context deadline exceeded' } },
      { when: { service: 'payments', stage: 'staging', phase: 'rollback' }, deploy: { result: 'FAILED', message: 'UPGRADE FAILED: another operation is in progress' } },
    ];
    const { output: out, ledgerEvents } = await run(s);
    const release = out.releases[0];
    assert.equal(release?.status, 'ROLLBACK_FAILED');
    const rb = release?.stages.find((x) => x.name === 'staging')?.rollback as Record<string, unknown>;
    assert.equal(rb.fromDigest, D2, 'v1.4.2, the digest the failed deploy tried, not the v1.4.1 still running');
    assert.equal(rb.fromDeployed, false);
    assert.equal(rb.toDigest, D1);

    const started = out.timeline.find((t) => t.event === 'Rollback Started');
    assert.ok(started?.reason?.includes(`from ${D2} ${NOTHING} → ${D1}`), started?.reason);
    assert.ok(renderTimeline(out, { fullDigests: true, width: 400 }).includes(`rollback FAILED from ${D2} ${NOTHING} → ${D1}`));

    const audit = auditRelease(ledgerEvents.filter((e) => e.releaseId === release?.releaseId));
    assert.ok(audit);
    const text = renderAudit(audit, undefined);
    assert.ok(text.includes(`rolled back from ${D2} ${NOTHING} to ${D1}`), text);
    assert.ok(renderReleaseReport(ledgerEvents.filter((e) => e.releaseId === release?.releaseId)).includes('nothing was deployed'));
  });

  it('is the deployed digest, marked deployed, when the bake failed', async () => {
    const s = demo();
    s.script = [{ when: { service: 'payments', stage: 'dev', phase: 'bake', after: 'PT2M' }, alarm: { name: 'payments-dev-5xx', state: 'ALARM' } }];
    const { output: out, ledgerEvents } = await run(s);
    const rb = out.releases[0]?.stages.find((x) => x.name === 'dev')?.rollback as Record<string, unknown>;
    assert.equal(rb.fromDigest, D2);
    assert.equal(rb.fromDeployed, true);
    const audit = auditRelease(ledgerEvents);
    assert.ok(audit);
    const text = renderAudit(audit, undefined);
    assert.ok(text.includes(`rolled back from ${D2} to ${D1}`), text);
    assert.ok(!text.includes('nothing was deployed'));
  });

  it('is the running digest for an operator rollback, which deployed nothing before', async () => {
    const s = demo();
    s.triggers.push({ type: 'rollback', principal: carol, input: { service: 'payments', stage: 'prod', reason: 'INC-5120' }, at: 'PT3H' });
    const { output: out } = await run(s);
    const rb = out.releases.find((r) => r.kind === 'rollback')?.stages[0]?.rollback as Record<string, unknown>;
    assert.equal(rb.fromDigest, D2);
    assert.equal(rb.fromDeployed, true);
    assert.equal(rb.toDigest, D1);
  });
});
