/**
 * The event-driven scan wait (decision 040) through the real release workflow (`gantry simulate`): the local
 * cloud emits ECR's `ECR Image Scan` event (or Inspector's `Inspector2 Scan` under enhanced scanning) when a
 * scan it was asked about ends; scan-watch wakes the waiting release, which runs its image gates once more.
 * The scenario's `completionEvent` drops or duplicates that event; `completesAs` makes the scan fail.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { loadScenario } from '../../local/scenario';
import { type SimulationOutput, simulate } from '../../local/simulate';
import { D2, ROOT, runInline } from './helpers';

type Json = Record<string, any>;
const D9 = `sha256:${'9'.repeat(64)}`;

/** The demo (3 stages, 30-minute bakes) with the release image's scan set to `scan`. */
function demo(scan: Json, edit: (s: Json) => void = () => undefined): Json {
  const s = JSON.parse(readFileSync(join(ROOT, 'examples', 'scenarios', 'demo.json'), 'utf8'));
  const img = s.ecr['payments-api'].images.find((i: Json) => i.digest === D2);
  img.scan = { ...img.scan, ...scan };
  edit(s);
  return s;
}

/** A run, and the evidence its dev stage's image.scan gate recorded in the ledger. */
async function withScanEvidence(raw: Json): Promise<{ out: SimulationOutput; evidence: unknown }> {
  const { output, ledgerEvents } = await simulate(loadScenario(raw, join(ROOT, 'examples', 'scenarios')));
  const evidence = ledgerEvents.find((e) => e.stepKey === 'stage:dev:gate:image.scan')?.data.evidence;
  assert.ok(evidence, 'image.scan recorded its evidence');
  return { out: output, evidence };
}

const releaseTransitions = (out: SimulationOutput) => out.executions.filter((e) => e.machine === 'release').reduce((n, e) => n + e.transitions, 0);
const gate = (out: SimulationOutput, stage: string, name: string) => out.releases[0]?.stages.find((s) => s.name === stage)?.gates.find((g) => g.gate === name);
const firstDeployAt = (out: SimulationOutput) => out.deployments[0]?.startedAt;

function assertClosed(out: SimulationOutput): void {
  for (const r of out.releases) {
    assert.notEqual(r.status, 'RUNNING', `${r.releaseId} left RUNNING`);
    assert.equal(r.audit.verified, true);
  }
  assert.deepEqual(out.leasesHeld, []);
  assert.deepEqual(out.warnings, []);
}

/** A scan event on the default bus at `at`, through a script line. */
function scanEventLine(at: string, digest: string, status = 'COMPLETE'): Json {
  return {
    when: { at },
    event: {
      version: '0',
      id: `scripted-${digest.slice(7, 11)}-${at}`,
      'detail-type': 'ECR Image Scan',
      source: 'aws.ecr',
      account: '111122223333',
      time: '2026-11-24T10:02:00Z',
      region: 'eu-west-2',
      resources: ['arn:aws:ecr:eu-west-2:111122223333:repository/payments-api'],
      detail: { 'scan-status': status, 'repository-name': 'payments-api', 'image-digest': digest, 'image-tags': [], 'finding-severity-counts': {} },
    },
  };
}

describe('the scan wait, woken by the scan event', () => {
  let noWait: SimulationOutput;

  it('passes a scan finishing 3 and 15 minutes in, at that minute, with the evidence of a scan that was already done, in 3 more transitions', async () => {
    const before = await withScanEvidence(demo({ status: 'COMPLETE', completesAfter: undefined }));
    noWait = before.out;
    const threeRun = await withScanEvidence(demo({ status: 'IN_PROGRESS', completesAfter: 'PT3M' }));
    const fifteenRun = await withScanEvidence(demo({ status: 'IN_PROGRESS', completesAfter: 'PT15M' }));
    const [three, fifteen] = [threeRun.out, fifteenRun.out];

    for (const [run, at] of [
      [threeRun, '2026-11-24T10:03:00.000Z'],
      [fifteenRun, '2026-11-24T10:15:00.000Z'],
    ] as const) {
      const out = run.out;
      assertClosed(out);
      assert.equal(out.releases[0]?.status, 'SUCCEEDED');
      assert.equal(firstDeployAt(out), at);
      // The same evidence, but for when the scan completed.
      const { completedAt, ...evidence } = run.evidence as Json;
      const { completedAt: _, ...expected } = before.evidence as Json;
      assert.deepEqual(evidence, expected);
      assert.equal(completedAt, at);
      assert.equal(gate(out, 'dev', 'image.scan')?.reason, gate(noWait, 'dev', 'image.scan')?.reason);
      assert.ok(out.timeline.some((t) => t.event === 'Waiting for scan' && t.stage === 'dev'));
    }
    // RunImageGates (WAIT) → ImageGatesVerdict → WaitForImageScanEvent, whatever the wait.
    assert.equal(releaseTransitions(three), releaseTransitions(noWait) + 3);
    assert.equal(releaseTransitions(fifteen), releaseTransitions(noWait) + 3);
  });

  it('does nothing twice for a duplicated event', async () => {
    const out = await runInline(demo({ status: 'IN_PROGRESS', completesAfter: 'PT3M', completionEvent: 'twice' }));

    assertClosed(out);
    assert.equal(out.releases[0]?.status, 'SUCCEEDED');
    assert.equal(firstDeployAt(out), '2026-11-24T10:03:00.000Z');
    assert.equal(releaseTransitions(out), releaseTransitions(noWait) + 3);
  });

  it('blocks on a FAILED scan when its event comes, with the scan’s reason', async () => {
    const out = await runInline(demo({ status: 'IN_PROGRESS', completesAfter: 'PT5M', completesAs: 'FAILED' }));

    assertClosed(out);
    assert.equal(out.releases[0]?.status, 'BLOCKED');
    assert.equal(gate(out, 'dev', 'image.scan')?.result, 'FAIL');
    assert.match(gate(out, 'dev', 'image.scan')?.reason ?? '', /^scan FAILED/);
    assert.equal(out.releases[0]?.endedAt?.slice(0, 19), '2026-11-24T10:05:00');
    assert.deepEqual(out.deployments, []);
  });

  it('wakes on Inspector’s Inspector2 Scan event under enhanced scanning', async () => {
    const out = await runInline(
      demo({ status: 'IN_PROGRESS', completesAfter: 'PT4M' }, (s) => {
        s.registryScanning = { scanType: 'ENHANCED', rules: [{ scanFrequency: 'SCAN_ON_PUSH', repositoryFilters: [{ filter: '*', filterType: 'WILDCARD' }] }] };
      }),
    );

    assertClosed(out);
    assert.equal(out.releases[0]?.status, 'SUCCEEDED');
    assert.equal(firstDeployAt(out), '2026-11-24T10:04:00.000Z');
  });
});

describe('the scan wait without its event: the deadline is the safety net', () => {
  it('passes at the deadline when the event was dropped but the scan finished', async () => {
    const out = await runInline(demo({ status: 'IN_PROGRESS', completesAfter: 'PT7M', completionEvent: 'drop' }));

    assertClosed(out);
    assert.equal(out.releases[0]?.status, 'SUCCEEDED');
    assert.equal(firstDeployAt(out), '2026-11-24T10:15:00.000Z', 'resumed by the timeout, not at 10:07');
    assert.ok(out.timeline.some((t) => t.event === 'Scan Event Dropped'));
  });

  it('blocks at the deadline when the scan has not finished', async () => {
    const out = await runInline(demo({ status: 'IN_PROGRESS', completesAfter: 'PT20M', completionEvent: 'drop' }));

    assertClosed(out);
    assert.equal(out.releases[0]?.status, 'BLOCKED');
    assert.match(gate(out, 'dev', 'image.scan')?.reason ?? '', /^scan still IN_PROGRESS after 15 minutes$/);
    assert.equal(out.releases[0]?.endedAt?.slice(0, 19), '2026-11-24T10:15:00');
  });
});

describe('the race: the scan ends between the gates’ read and the registration', () => {
  it('is caught by the registration’s own read, which completes the wait at once (its event found no token)', async () => {
    // The scan reads IN_PROGRESS once (the gates), COMPLETE afterwards (the registration); its event is never sent.
    const raw = demo({ status: 'IN_PROGRESS', completesAfter: 'PT10M', completionEvent: 'drop' });
    const { output: out } = await simulate(loadScenario(raw, join(ROOT, 'examples', 'scenarios')), {
      prepareCloud: (cloud) => {
        const read = cloud.scanFindings.bind(cloud);
        let reads = 0;
        cloud.scanFindings = async (repository, digest) => {
          const result = await read(repository, digest);
          return digest === D2 && ++reads > 1 ? { ...result, status: 'COMPLETE', findings: [] } : result;
        };
      },
    });

    assertClosed(out);
    assert.equal(out.releases[0]?.status, 'SUCCEEDED');
    assert.ok(out.timeline.some((t) => t.event === 'Waiting for scan' && t.stage === 'dev'));
    assert.equal(firstDeployAt(out), '2026-11-24T10:00:00.000Z', 'not at the 10:15 deadline');
  });
});

describe('events that must not end the wait, or not for good', () => {
  // The scan ends at 10:05:10, off the 30-s grid a poll from 10:02 would follow (10:05:30).
  it('ignores the scan event of another digest', async () => {
    const out = await runInline(
      demo({ status: 'IN_PROGRESS', completesAfter: 'PT5M10S' }, (s) => {
        s.script = [...(s.script ?? []), scanEventLine('PT2M', D9)];
      }),
    );

    assertClosed(out);
    assert.equal(out.releases[0]?.status, 'SUCCEEDED');
    assert.equal(firstDeployAt(out), '2026-11-24T10:05:10.000Z', 'woken by its own scan event only');
  });

  it('polls every 30 s after an early event for the same image, and passes when the scan is done', async () => {
    const early = await runInline(
      demo({ status: 'IN_PROGRESS', completesAfter: 'PT5M10S', completionEvent: 'drop' }, (s) => {
        s.script = [...(s.script ?? []), scanEventLine('PT2M', D2)];
      }),
    );
    const woken = await runInline(demo({ status: 'IN_PROGRESS', completesAfter: 'PT5M10S' }));

    assertClosed(early);
    assert.equal(early.releases[0]?.status, 'SUCCEEDED');
    assert.equal(firstDeployAt(early), '2026-11-24T10:05:30.000Z', 'the first poll after 10:05:10 from the 10:02 wake-up');
    // Seven polls (10:02:30 … 10:05:30), each WaitForImageScan → RunImageGates → ImageGatesVerdict; the 10:02 gates run takes the place of the woken run's final one.
    assert.equal(releaseTransitions(early), releaseTransitions(woken) + 7 * 3);
  });
});
