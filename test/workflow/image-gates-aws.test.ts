/**
 * The image gates against AWS as it answers on a first real deploy, through the real release workflow:
 * Amazon Inspector enhanced scanning (findings in Inspector's shape, read by the ECR adapter's parser),
 * and AWS errors in a gate — AccessDenied, or a throttle that outlived the SDK's retries — which FAIL
 * that gate naming the call and the error: the stage is BLOCKED, nothing is deployed, and the execution
 * does not end in an internal error.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { loadScenario } from '../../local/scenario';
import { type SimulationOutput, simulate } from '../../local/simulate';
import { D2, ROOT, runExample, runInline } from './helpers';

type Json = Record<string, any>;
const SCENARIOS = join(ROOT, 'examples', 'scenarios');
const example = (name: string): Json => JSON.parse(readFileSync(join(SCENARIOS, `${name}.json`), 'utf8'));
const releaseImage = (s: Json): Json => s.ecr['payments-api'].images.find((i: Json) => i.digest === D2);
/** DescribeImageScanFindings with enhanced scanning, copied into the repository (test/fixtures/aws-samples/SOURCES.md). */
const ENHANCED = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'aws-samples', 'ecr-describe-image-scan-findings-enhanced.json'), 'utf8'));

function devGates(out: SimulationOutput): Array<{ gate: string; result: string; reason: string }> {
  return out.releases[0]?.stages.find((s) => s.name === 'dev')?.gates ?? [];
}

/** BLOCKED in dev by `gate` with `reason`, later stages never started, nothing deployed, no internal error. */
function assertBlockedByAwsError(out: SimulationOutput, gate: string, reason: RegExp): void {
  const r = out.releases[0];
  assert.equal(r?.status, 'BLOCKED', `release ${r?.status}: ${r?.reason}`);
  const last = devGates(out).at(-1);
  assert.equal(
    last?.gate,
    gate,
    devGates(out)
      .map((g) => `${g.gate}:${g.result}`)
      .join(' '),
  );
  assert.equal(last?.result, 'FAIL');
  assert.match(last?.reason ?? '', reason);
  assert.equal(r?.stages.find((s) => s.name === 'dev')?.status, 'BLOCKED');
  for (const s of r?.stages.filter((x) => x.name !== 'dev') ?? []) assert.equal(s.status, 'NOT_STARTED', `${s.name} started`);
  assert.deepEqual(out.deployments, []);
  const execution = out.executions.find((e) => e.machine === 'release');
  assert.notEqual(execution?.error, 'ReleaseFailed', 'the release ended in the internal-error path');
  assert.equal(execution?.error, 'ReleaseNotSucceeded');
  assert.equal(r?.audit.verified, true);
  assert.deepEqual(out.leasesHeld, []);
}

describe('Amazon Inspector enhanced scanning through the workflow', () => {
  it('counts findings in Inspector’s shape against the policy and records them as evidence', async () => {
    const { output: out, ledgerEvents } = await simulate(loadScenario(example('image-enhanced-scan'), SCENARIOS));

    assert.equal(out.releases[0]?.status, 'SUCCEEDED', out.releases[0]?.reason);
    assert.equal(devGates(out).find((g) => g.gate === 'image.scan')?.reason, '0 CRITICAL, 0 HIGH');
    const scan = ledgerEvents.find((e) => e.stepKey === 'stage:dev:gate:image.scan');
    const evidence = JSON.stringify(scan?.data.evidence);
    assert.match(evidence, /"status":"ACTIVE"/);
    assert.match(evidence, /CVE-2024-9681/);
    assert.match(evidence, /CVE-2025-24528/);
  });

  it('blocks when the policy limits a severity an Inspector finding has, naming the finding', async () => {
    const s = example('image-signed');
    s.config.services.payments.imagePolicy.maxFindings = { CRITICAL: 0, HIGH: 0, MEDIUM: 0 };
    releaseImage(s).scan = { status: 'ACTIVE', findings: [], enhancedFindings: ENHANCED.imageScanFindings.enhancedFindings };

    const out = await runInline(s);

    assert.equal(out.releases[0]?.status, 'BLOCKED');
    assert.equal(devGates(out).at(-1)?.gate, 'image.scan');
    assert.equal(devGates(out).at(-1)?.reason, '1 MEDIUM over limit 0: CVE-2024-9681');
    assert.deepEqual(out.deployments, []);
  });
});

describe('AWS errors in an image gate', () => {
  it('blocks image.scan when DescribeImageScanFindings is denied, naming the call and the error', async () => {
    const out = await runExample('image-scan-access-denied');

    assertBlockedByAwsError(out, 'image.scan', /^DescribeImageScanFindings failed: AccessDeniedException: /);
    assert.match(out.releases[0]?.reason ?? '', /^dev: image\.scan: DescribeImageScanFindings failed: AccessDeniedException/);
  });

  it('blocks image.exists when DescribeImages is denied while the gates wait for the scan', async () => {
    const s = example('image-scan-access-denied');
    // The scan runs for 3 minutes, so the gates run again every 30 s; the denial starts after the release has begun.
    releaseImage(s).scan = { status: 'IN_PROGRESS', completesAfter: 'PT3M', findings: [] };
    s.script = [{ when: { at: 'PT1M' }, fault: { service: 'ecr', operation: 'DescribeImages', error: 'AccessDeniedException', count: 10 } }];

    const out = await runInline(s);

    assertBlockedByAwsError(out, 'image.exists', /^DescribeImages failed: AccessDeniedException: /);
  });

  it('blocks image.labels when BatchGetImage stays throttled after the SDK’s retries', async () => {
    const s = example('image-scan-access-denied');
    s.script = [{ when: { at: 'PT0S' }, fault: { service: 'ecr', operation: 'BatchGetImage', error: 'ThrottlingException', count: 10 } }];

    const out = await runInline(s);

    assertBlockedByAwsError(out, 'image.labels', /^BatchGetImage failed: ThrottlingException: /);
  });

  it('still absorbs a throttle the SDK’s retries outlast (two throttles, three attempts)', async () => {
    const s = example('image-scan-access-denied');
    s.script = [{ when: { at: 'PT0S' }, fault: { service: 'ecr', operation: 'DescribeImageScanFindings', error: 'ThrottlingException', count: 2 } }];

    const out = await runInline(s);

    assert.equal(out.releases[0]?.status, 'SUCCEEDED', out.releases[0]?.reason);
  });
});
