/**
 * Change records and traceability through the real release workflow (`gantry simulate`, decision 051): the gate
 * `change.record` from an image label and from the release input, passing and failing; a failing one blocks the
 * release before anything deploys; the commit range of a stage starts at the commit its last known good's release
 * recorded; the `Release Finished` detail carries the same `change` as the summary.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { evidenceCompleteness } from '../../lambdas/domain/audit';
import { loadScenario, loadScenarioFile } from '../../local/scenario';
import { type SimulationOutput, simulate } from '../../local/simulate';
import { D1, D2, ROOT, runExample } from './helpers';

const SCENARIOS = join(ROOT, 'examples', 'scenarios');
const C1 = '3b1f5c2a9d8e7f6041c2b3a4d5e6f708192a3b4c';
const C2 = '9f2c1e7d4a5b6c8e0f1a2b3c4d5e6f7a8b9c0d1e';
const PATTERN = '^CHG-[0-9]{4,}$';
type Json = Record<string, any>;

function assertClosed(out: SimulationOutput): void {
  for (const r of out.releases) {
    assert.notEqual(r.status, 'RUNNING', `${r.releaseId} left RUNNING`);
    assert.equal(r.audit.verified, true, `${r.releaseId} chain: ${r.audit.problems?.join('; ')}`);
  }
  assert.deepEqual(out.leasesHeld, []);
  assert.deepEqual(out.warnings, []);
}

const gatesOf = (out: SimulationOutput, i: number, stage: string) => out.releases[i]?.stages.find((s) => s.name === stage)?.gates ?? [];
const changeGate = (out: SimulationOutput, i: number, stage: string) => gatesOf(out, i, stage).find((g) => g.gate === 'change.record');
const finishedDetail = (out: SimulationOutput, releaseId: string) =>
  out.lifecycle.find((l) => l.detailType === 'Release Finished' && l.detail.releaseId === releaseId)?.detail as Json | undefined;

describe('change.record from an image label', () => {
  it('passes in every stage before the deploy, and the second release’s range starts at the first release’s commit, with a compare link', async () => {
    const out = await runExample('change-record-label');
    assertClosed(out);
    assert.deepEqual(
      out.releases.map((r) => [r.digest, r.status]),
      [
        [D1, 'SUCCEEDED'],
        [D2, 'SUCCEEDED'],
      ],
    );
    for (const [i, id, commit] of [
      [0, 'CHG-1041', C1],
      [1, 'CHG-1042', C2],
    ] as const) {
      for (const stage of ['dev', 'prod']) {
        const names = gatesOf(out, i, stage).map((g) => g.gate);
        // After image.labels, with the image gates; before the point-of-action window check and the deploy.
        assert.deepEqual(names.slice(names.indexOf('image.labels'), names.indexOf('image.labels') + 2), ['image.labels', 'change.record']);
        assert.ok(names.indexOf('change.record') < names.indexOf('alarms.pre-deploy'));
        assert.equal(changeGate(out, i, stage)?.result, 'PASS');
        assert.equal(changeGate(out, i, stage)?.reason, `change record ${id} (label com.example.change-record); commit ${commit.slice(0, 12)}`);
      }
    }
    // The first release: no last known good anywhere, so no start of range and no link.
    const first = out.releases[0]?.change;
    assert.deepEqual(first, { id: 'CHG-1041', commit: C1, stages: { dev: { to: { digest: D1, commit: C1 } }, prod: { to: { digest: D1, commit: C1 } } } });
    // The second: from v1.4.1's digest and the commit its release recorded.
    const second = out.releases[1]?.change;
    const link = `https://github.com/acme/payments/compare/${C1}...${C2}`;
    const range = { from: { digest: D1, commit: C1 }, to: { digest: D2, commit: C2 }, compareUrl: link };
    assert.deepEqual(second, { id: 'CHG-1042', commit: C2, stages: { dev: range, prod: range } });
    // Release Finished carries the same change as the summary.
    assert.deepEqual(finishedDetail(out, out.releases[1]?.releaseId ?? '')?.change, second);
    assert.deepEqual(finishedDetail(out, out.releases[0]?.releaseId ?? '')?.change, first);
  });

  it('an image without the label is BLOCKED in dev, naming the label and the pattern, and nothing is deployed anywhere', async () => {
    const out = await runExample('change-record-missing');
    assertClosed(out);
    const r = out.releases[0];
    assert.equal(r?.status, 'BLOCKED');
    const g = changeGate(out, 0, 'dev');
    assert.equal(g?.result, 'FAIL');
    assert.equal(g?.reason, `expected a change record in image label com.example.change-record matching ${PATTERN}, found none`);
    assert.equal(gatesOf(out, 0, 'dev').at(-1)?.gate, 'change.record');
    assert.deepEqual(
      r?.stages.map((s) => [s.name, s.status]),
      [
        ['dev', 'BLOCKED'],
        ['prod', 'NOT_STARTED'],
      ],
    );
    assert.deepEqual(out.deployments, []);
    assert.deepEqual(
      Object.values(out.stages).map((s) => s.running),
      [D1, D1],
    );
    // The failed gate still records the commit and the range from the seeded last known good (no release recorded its commit).
    assert.deepEqual(r?.change, { commit: C2, stages: { dev: { from: { digest: D1 }, to: { digest: D2, commit: C2 } } } });
    assert.match(String(finishedDetail(out, r?.releaseId ?? '')?.reason), /change\.record: expected a change record in image label/);
  });

  it('platform images that disagree on the label fail the gate', async () => {
    const s: Json = JSON.parse(readFileSync(join(SCENARIOS, 'change-record-label.json'), 'utf8'));
    s.triggers = [s.triggers[0]];
    const img = s.ecr['payments-api'].images[0];
    img.platforms = [
      { platform: 'linux/amd64', labels: { ...img.labels } },
      { platform: 'linux/arm64', labels: { ...img.labels, 'com.example.change-record': 'CHG-9999' } },
    ];
    const { output: out } = await simulate(loadScenario(s, SCENARIOS));
    assertClosed(out);
    assert.equal(out.releases[0]?.status, 'BLOCKED');
    assert.match(changeGate(out, 0, 'dev')?.reason ?? '', /the platform images disagree on label com\.example\.change-record \(linux\/amd64=CHG-1041, linux\/arm64=CHG-9999\)/);
    assert.deepEqual(out.deployments, []);
  });
});

describe('evidence completeness', () => {
  it('a promoted stage of a service that asks for a change record must show change.record passed', async () => {
    const { ledgerEvents } = await simulate(loadScenarioFile(join(SCENARIOS, 'change-record-label.json')));
    const second = ledgerEvents.filter((e) => e.releaseId === 'payments-2222222222222222');
    assert.deepEqual(evidenceCompleteness(second).gaps, []);
    const without = second.filter((e) => !(e.stage === 'prod' && e.type === 'gate.evaluated' && e.data.gate === 'change.record'));
    assert.deepEqual(
      evidenceCompleteness(without).gaps.map((g) => [g.stage, g.missing]),
      [['prod', 'change']],
    );
    // A release that does not record the policy (older records, services without changeRecord) is not held to it.
    const noPolicy = without.map((e) => (e.type === 'release.started' ? { ...e, data: { ...e.data, changeRecordPolicy: undefined } } : e));
    assert.deepEqual(evidenceCompleteness(noPolicy).gaps, []);
  });
});

describe('change.record from the release input', () => {
  it('a malformed id is BLOCKED naming the input field and the pattern; a matching one is promoted with it recorded', async () => {
    const out = await runExample('change-record-input');
    assertClosed(out);
    const [bad, good] = out.releases;
    assert.equal(bad?.status, 'BLOCKED');
    assert.equal(changeGate(out, 0, 'dev')?.reason, `expected a change record in the release input field changeRecord matching ${PATTERN}, found "chg-7"`);
    assert.equal(bad?.change?.id, undefined);
    assert.equal(good?.status, 'SUCCEEDED');
    assert.equal(good?.change?.id, 'CHG-2001');
    assert.equal(changeGate(out, 1, 'prod')?.reason, `change record CHG-2001 (input); commit ${C2.slice(0, 12)}`);
    // Only the second release deployed, in both stages.
    assert.deepEqual(
      out.deployments.map((d) => [d.stage, d.digest]),
      [
        ['dev', D2],
        ['prod', D2],
      ],
    );
  });

  it('the range of a release started by an operator starts at the commit an earlier operator start recorded', async () => {
    const s: Json = JSON.parse(readFileSync(join(SCENARIOS, 'change-record-input.json'), 'utf8'));
    const principal = 'arn:aws:sts::111122223333:assumed-role/release-manager/alice';
    s.triggers = [
      { type: 'start', principal, input: { service: 'payments', image: { tag: 'v1.4.1' }, changeRecord: 'CHG-2000' } },
      { type: 'start', principal, input: { service: 'payments', image: { tag: 'v1.4.2' }, changeRecord: 'CHG-2001' }, at: 'PT1H' },
    ];
    const { output: out } = await simulate(loadScenario(s, SCENARIOS));
    assertClosed(out);
    assert.deepEqual(
      out.releases.map((r) => [r.status, r.change?.id]),
      [
        ['SUCCEEDED', 'CHG-2000'],
        ['SUCCEEDED', 'CHG-2001'],
      ],
    );
    // Not a push, so not found under a push's name: read from the service's releases.
    assert.deepEqual(out.releases[1]?.change?.stages.dev, {
      from: { digest: D1, commit: C1 },
      to: { digest: D2, commit: C2 },
      compareUrl: `https://github.com/acme/payments/compare/${C1}...${C2}`,
    });
  });

  it('an input changeRecord for a service that reads it from a label is refused at the start: nothing recorded', async () => {
    const s: Json = JSON.parse(readFileSync(join(SCENARIOS, 'change-record-label.json'), 'utf8'));
    s.triggers = [
      { type: 'start', principal: 'arn:aws:sts::111122223333:assumed-role/release-manager/alice', input: { service: 'payments', image: { tag: 'v1.4.2' }, changeRecord: 'CHG-1' } },
    ];
    const { output: out } = await simulate(loadScenario(s, SCENARIOS));
    assert.deepEqual(out.releases, []);
    assert.deepEqual(out.deployments, []);
    const refused = JSON.stringify(out.timeline);
    assert.match(refused, /changeRecord: expected no changeRecord: service payments reads its change record from the image/);
  });
});
