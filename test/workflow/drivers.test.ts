/** Drivers through the workflow: Terraform stages, driver timeouts, and what each driver run receives. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { D1, ROOT, runInline } from './helpers';

function scenario(mutate: (cfg: Record<string, any>) => void) {
  const s = JSON.parse(readFileSync(join(ROOT, 'examples', 'scenarios', 'demo.json'), 'utf8'));
  const cfg = JSON.parse(readFileSync(join(ROOT, 'examples', 'gantry.config.json'), 'utf8'));
  mutate(cfg);
  s.config = cfg;
  s.ecr['payments-api'].images[1].scan = { status: 'COMPLETE', findings: [] };
  return s;
}
const terraformProd = (cfg: Record<string, any>) => {
  cfg.services.payments.stages[2].deploy = { driver: 'terraform', source: 's3://tf-sources/payments.zip', workdir: 'prod', imageVariable: 'image', timeoutMinutes: 20 };
};

describe('drivers in the workflow', () => {
  it('promotes a Terraform prod stage', async () => {
    const out = await runInline(scenario(terraformProd));
    assert.equal(out.releases[0]?.status, 'SUCCEEDED');
    assert.deepEqual(out.warnings, []);
  });

  it('rolls a Terraform prod stage back when its apply fails', async () => {
    const s = scenario(terraformProd);
    s.script = [
      {
        when: { service: 'payments', stage: 'prod', phase: 'deploy' },
        deploy: { result: 'FAILED', message: 'gantry-terraform: refusing to apply: the plan would destroy 1 resource(s)' },
      },
    ];
    const out = await runInline(s);
    assert.equal(out.releases[0]?.status, 'ROLLED_BACK');
    const prod = out.releases[0]?.stages.find((x) => x.name === 'prod');
    assert.match(String(prod?.rollback?.reason), /deploy failed: gantry-terraform: refusing to apply/);
    assert.equal(out.stages['payments/prod']?.running, D1);
    assert.deepEqual(
      out.deployments.filter((d) => d.stage === 'prod').map((d) => `${d.kind}:${d.result}`),
      ['deploy:FAILED', 'rollback:SUCCEEDED'],
    );
  });

  it('treats a Helm run that outlives its build timeout as a failed deploy and rolls back', async () => {
    const s = scenario(() => undefined);
    // The slowest Helm stage of the example config (ledger prod) has timeoutMinutes 20: the Helm project's
    // build timeout is 2 × 20 (upgrade and --atomic rollback) + 10 minutes of start-up = 50 minutes, for every stage.
    s.script = [{ when: { service: 'payments', stage: 'dev', phase: 'deploy' }, deploy: { result: 'SUCCEEDED', duration: 'PT55M' } }];
    const out = await runInline(s);
    assert.equal(out.releases[0]?.status, 'ROLLED_BACK');
    const dev = out.releases[0]?.stages.find((x) => x.name === 'dev');
    assert.match(String(dev?.rollback?.reason), /^deploy failed: build timed out after 50 minutes/);
    const deploy = out.deployments.find((d) => d.stage === 'dev' && d.kind === 'deploy');
    assert.equal(deploy?.endedAt, '2026-11-24T10:50:00.000Z');
  });

  it('lets a Helm run that needs its --atomic rollback time (longer than timeoutMinutes + 10) finish', async () => {
    const s = scenario(() => undefined);
    // dev's timeoutMinutes is 10: an upgrade that used its 10 minutes and a rollback that used 10 more, plus start-up.
    s.script = [
      {
        when: { service: 'payments', stage: 'dev', phase: 'deploy' },
        deploy: {
          result: 'FAILED',
          duration: 'PT25M',
          message: 'UPGRADE FAILED: release payments failed, and has been rolled back due to atomic being set: context deadline exceeded',
        },
      },
    ];
    const out = await runInline(s);
    const dev = out.releases[0]?.stages.find((x) => x.name === 'dev');
    assert.match(String(dev?.rollback?.reason), /has been rolled back due to atomic being set/);
    assert.equal(out.deployments.find((d) => d.stage === 'dev' && d.kind === 'deploy')?.endedAt, '2026-11-24T10:25:00.000Z');
  });
});
