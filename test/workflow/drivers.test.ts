/** Drivers through the workflow: Terraform stages, driver timeouts, and what each driver run receives. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
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
    s.script = [{ when: { service: 'payments', stage: 'prod', phase: 'deploy' }, deploy: { result: 'FAILED', message: 'gantry-terraform: refusing to apply: the plan would destroy 1 resource(s)' } }];
    const out = await runInline(s);
    assert.equal(out.releases[0]?.status, 'ROLLED_BACK');
    const prod = out.releases[0]?.stages.find((x) => x.name === 'prod');
    assert.match(String(prod?.rollback?.reason), /deploy failed: gantry-terraform: refusing to apply/);
    assert.equal(out.stages['payments/prod']?.running, D1);
    assert.deepEqual(out.deployments.filter((d) => d.stage === 'prod').map((d) => `${d.kind}:${d.result}`), ['deploy:FAILED', 'rollback:SUCCEEDED']);
  });

  it('treats a Helm run that outlives its timeout as a failed deploy and rolls back', async () => {
    const s = scenario(() => undefined);
    // dev's timeoutMinutes is 10: the workflow allows 10 + 10 minutes of CodeBuild time.
    s.script = [{ when: { service: 'payments', stage: 'dev', phase: 'deploy' }, deploy: { result: 'SUCCEEDED', duration: 'PT45M' } }];
    const out = await runInline(s);
    assert.equal(out.releases[0]?.status, 'ROLLED_BACK');
    const dev = out.releases[0]?.stages.find((x) => x.name === 'dev');
    assert.match(String(dev?.rollback?.reason), /deploy failed: driver timed out/);
    const deploy = out.deployments.find((d) => d.stage === 'dev' && d.kind === 'deploy');
    assert.equal(deploy?.endedAt, '2026-11-24T10:20:00.000Z');
  });
});
