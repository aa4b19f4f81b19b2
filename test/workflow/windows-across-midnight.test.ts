/** A release window across midnight through the real workflow (examples/scenarios/window-across-midnight.json). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import type { SimulationOutput } from '../../local/simulate';
import { ROOT, runExample, runInline } from './helpers';

const prodDeploy = (out: SimulationOutput) => out.deployments.find((d) => d.stage === 'prod' && d.kind === 'deploy');
const prodWindowGate = (out: SimulationOutput) => out.releases[0]?.stages.find((s) => s.name === 'prod')?.gates.find((g) => g.gate === 'window');

describe('a release window across midnight (Tue 22:00 to Wed 02:00, Europe/London)', () => {
  it('deploys prod after midnight, inside the window that opened on Tuesday', async () => {
    const out = await runExample('window-across-midnight');

    assert.deepEqual(out.leasesHeld, []);
    assert.equal(out.releases[0]?.status, 'SUCCEEDED');
    assert.equal(prodDeploy(out)?.startedAt, '2026-11-25T00:00:00.000Z');
    assert.equal(prodWindowGate(out)?.result, 'PASS');
    assert.match(prodWindowGate(out)?.reason ?? '', /inside the release window \(Wed 25 Nov 2026 00:00 GMT\)/);
  });

  it('makes a Tuesday-noon push wait for prod until 22:00 that evening', async () => {
    const s = JSON.parse(readFileSync(join(ROOT, 'examples', 'scenarios', 'window-across-midnight.json'), 'utf8'));
    s.clock = '2026-11-24T12:00:00Z';
    s.ecr['payments-api'].images[1].pushedAt = '2026-11-24T11:58:00Z';

    const out = await runInline(s);

    assert.equal(out.releases[0]?.status, 'SUCCEEDED');
    assert.equal(prodDeploy(out)?.startedAt, '2026-11-24T22:00:00.000Z');
    assert.ok(out.timeline.some((t) => t.event === 'Waiting for window' && /Tue 24 Nov 2026 22:00 GMT/.test(t.reason ?? '')));
  });
});
