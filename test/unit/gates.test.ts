import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { type ImagePolicy, parseConfig } from '../../lambdas/domain/config';
import { evaluateAlarmsPreDeploy, evaluateBakeEnd, evaluateImageExists, evaluateScan, type ScanVerdict } from '../../lambdas/domain/gates';
import type { GateResult } from '../../lambdas/domain/types';
import type { AlarmState, ImageDetail, ScanFinding, ScanResult } from '../../lambdas/ports';

const config = parseConfig(JSON.parse(readFileSync(join(__dirname, '../../examples/gantry.config.json'), 'utf8')));
/** payments: CRITICAL 0, HIGH 0, CVE-2024-1234 allowed until 2027-01-01, scanWaitMinutes 15. */
const paymentsPolicy: ImagePolicy = (config.services.payments as NonNullable<(typeof config.services)[string]>).imagePolicy;

const NOW = new Date('2026-11-24T10:00:00Z');
const DIGEST = `sha256:${'ab'.repeat(32)}`;

function complete(findings: ScanFinding[]): ScanResult {
  return { status: 'COMPLETE', completedAt: '2026-11-24T09:58:00Z', findings };
}

function decided(verdict: ScanVerdict): GateResult {
  assert.equal(verdict.kind, 'decided', `expected a decision, got ${JSON.stringify(verdict)}`);
  return (verdict as Extract<ScanVerdict, { kind: 'decided' }>).gate;
}

function alarm(name: string, state: AlarmState['state'], reason?: string): AlarmState {
  return { name, type: 'MetricAlarm', state, ...(reason ? { reason } : {}) };
}

describe('evaluateScan', () => {
  it('passes a clean scan and names the allowed finding with its expiry date', () => {
    const scan = complete([{ id: 'CVE-2024-1234', severity: 'HIGH', package: 'openssl' }]);

    const gate = decided(evaluateScan(paymentsPolicy, scan, NOW, undefined));

    assert.equal(gate.gate, 'image.scan');
    assert.equal(gate.result, 'PASS');
    assert.equal(gate.reason, '0 CRITICAL, 0 HIGH (1 allowed until 2027-01-01: CVE-2024-1234)');
  });

  it('fails a scan over a limit and lists the blocking finding ids in order', () => {
    const scan = complete([
      { id: 'CVE-b', severity: 'HIGH' },
      { id: 'CVE-a', severity: 'HIGH' },
    ]);

    const gate = decided(evaluateScan(paymentsPolicy, scan, NOW, undefined));

    assert.equal(gate.result, 'FAIL');
    assert.equal(gate.reason, '2 HIGH over limit 0: CVE-a, CVE-b');
  });

  it('lets a finding pass through its allow entry up to the last moment before the expiry date', () => {
    const scan = complete([{ id: 'CVE-2024-1234', severity: 'HIGH' }]);

    const gate = decided(evaluateScan(paymentsPolicy, scan, new Date('2026-12-31T23:59:59Z'), undefined));

    assert.equal(gate.result, 'PASS');
  });

  it('no longer allows a finding once its allow entry has expired, and says the entry was ignored', () => {
    const scan = complete([{ id: 'CVE-2024-1234', severity: 'HIGH' }]);

    const gate = decided(evaluateScan(paymentsPolicy, scan, new Date('2027-01-01T00:00:00Z'), undefined));

    assert.equal(gate.result, 'FAIL');
    assert.match(gate.reason, /^1 HIGH over limit 0: CVE-2024-1234/);
    assert.match(gate.reason, /expired allow entries ignored: CVE-2024-1234/);
  });

  it('does not limit severities that maxFindings does not name', () => {
    const scan = complete([
      { id: 'CVE-m1', severity: 'MEDIUM' },
      { id: 'CVE-l1', severity: 'LOW' },
      { id: 'CVE-u1', severity: 'UNDEFINED' },
    ]);

    const gate = decided(evaluateScan(paymentsPolicy, scan, NOW, undefined));

    assert.equal(gate.result, 'PASS');
    assert.equal(gate.reason, '0 CRITICAL, 0 HIGH');
  });

  it('counts findings whatever the case of their severity', () => {
    const scan = complete([{ id: 'CVE-c1', severity: 'critical' }]);

    const gate = decided(evaluateScan(paymentsPolicy, scan, NOW, undefined));

    assert.equal(gate.result, 'FAIL');
    assert.equal(gate.reason, '1 CRITICAL over limit 0: CVE-c1');
  });

  it('waits on a scan still IN_PROGRESS at the first look', () => {
    const verdict = evaluateScan(paymentsPolicy, { status: 'IN_PROGRESS', findings: [] }, NOW, undefined);

    assert.deepEqual(verdict, { kind: 'wait', reason: 'scan IN_PROGRESS; waiting up to 15 minutes' });
  });

  it('keeps waiting on a scan IN_PROGRESS until scanWaitMinutes have elapsed', () => {
    const since = new Date(NOW.getTime() - (15 * 60_000 - 1));

    const verdict = evaluateScan(paymentsPolicy, { status: 'IN_PROGRESS', findings: [] }, NOW, since);

    assert.equal(verdict.kind, 'wait');
  });

  it('fails a scan still IN_PROGRESS once scanWaitMinutes have elapsed', () => {
    const since = new Date(NOW.getTime() - 15 * 60_000);

    const gate = decided(evaluateScan(paymentsPolicy, { status: 'IN_PROGRESS', findings: [] }, NOW, since));

    assert.equal(gate.result, 'FAIL');
    assert.equal(gate.reason, 'scan still IN_PROGRESS after 15 minutes');
  });

  it('fails a FAILED scan and keeps ECR’s description', () => {
    const gate = decided(evaluateScan(paymentsPolicy, { status: 'FAILED', description: 'UnsupportedImageError', findings: [] }, NOW, undefined));

    assert.equal(gate.result, 'FAIL');
    assert.equal(gate.reason, 'scan FAILED: UnsupportedImageError');
  });

  it('fails an image that has no scan at all', () => {
    const gate = decided(evaluateScan(paymentsPolicy, { status: 'NONE', findings: [] }, NOW, undefined));

    assert.equal(gate.result, 'FAIL');
    assert.match(gate.reason, /no scan exists/);
  });
});

describe('evaluateAlarmsPreDeploy', () => {
  const prod = { alarms: ['payments-prod-5xx', 'payments-prod-latency-p99'], insufficientData: 'fail' as const };

  it('passes when every alarm of the stage is OK', () => {
    const gate = evaluateAlarmsPreDeploy(prod, [alarm('payments-prod-5xx', 'OK'), alarm('payments-prod-latency-p99', 'OK')]);

    assert.equal(gate.gate, 'alarms.pre-deploy');
    assert.equal(gate.result, 'PASS');
  });

  it('fails when an alarm of the stage does not exist, naming it', () => {
    const gate = evaluateAlarmsPreDeploy(prod, [alarm('payments-prod-5xx', 'OK')]);

    assert.equal(gate.result, 'FAIL');
    assert.equal(gate.reason, 'alarm payments-prod-latency-p99 does not exist');
  });

  it('fails when an alarm of the stage is in ALARM', () => {
    const gate = evaluateAlarmsPreDeploy(prod, [alarm('payments-prod-5xx', 'ALARM', 'Threshold Crossed'), alarm('payments-prod-latency-p99', 'OK')]);

    assert.equal(gate.result, 'FAIL');
    assert.equal(gate.reason, 'alarm payments-prod-5xx is in ALARM: Threshold Crossed');
  });

  it('fails on INSUFFICIENT_DATA under the policy fail', () => {
    const gate = evaluateAlarmsPreDeploy(prod, [alarm('payments-prod-5xx', 'INSUFFICIENT_DATA'), alarm('payments-prod-latency-p99', 'OK')]);

    assert.equal(gate.result, 'FAIL');
    assert.equal(gate.reason, 'alarm payments-prod-5xx is INSUFFICIENT_DATA (policy: fail)');
  });

  it('warns on INSUFFICIENT_DATA under the policy ignore', () => {
    const gate = evaluateAlarmsPreDeploy({ ...prod, insufficientData: 'ignore' }, [alarm('payments-prod-5xx', 'INSUFFICIENT_DATA'), alarm('payments-prod-latency-p99', 'OK')]);

    assert.equal(gate.result, 'WARN');
    assert.equal(gate.reason, 'alarm payments-prod-5xx is INSUFFICIENT_DATA (policy: ignore)');
  });

  it('warns when the stage has no alarms at all', () => {
    const gate = evaluateAlarmsPreDeploy({ alarms: [], insufficientData: 'fail' }, []);

    assert.equal(gate.result, 'WARN');
    assert.match(gate.reason, /no alarms/);
  });
});

describe('evaluateBakeEnd', () => {
  const staging = { alarms: ['payments-staging-5xx', 'payments-staging-latency-p99'], insufficientData: 'fail' as const, bakeMinutes: 15 };

  it('passes a bake whose alarms stayed OK', () => {
    const gate = evaluateBakeEnd(staging, [alarm('payments-staging-5xx', 'OK'), alarm('payments-staging-latency-p99', 'OK')]);

    assert.equal(gate.gate, 'bake');
    assert.equal(gate.result, 'PASS');
    assert.equal(gate.reason, '15-minute bake passed; 2 alarm(s) never fired');
  });

  it('fails a bake when an alarm is in ALARM at the final check', () => {
    const gate = evaluateBakeEnd(staging, [alarm('payments-staging-5xx', 'ALARM'), alarm('payments-staging-latency-p99', 'OK')]);

    assert.equal(gate.result, 'FAIL');
    assert.equal(gate.reason, 'final check after 15 minutes: alarm payments-staging-5xx is in ALARM');
  });

  it('fails a bake when an alarm has disappeared by the final check', () => {
    const gate = evaluateBakeEnd(staging, [alarm('payments-staging-5xx', 'OK')]);

    assert.equal(gate.result, 'FAIL');
    assert.match(gate.reason, /alarm payments-staging-latency-p99 does not exist/);
  });

  it('warns rather than passes on INSUFFICIENT_DATA under the policy ignore', () => {
    const gate = evaluateBakeEnd({ ...staging, insufficientData: 'ignore' }, [alarm('payments-staging-5xx', 'INSUFFICIENT_DATA'), alarm('payments-staging-latency-p99', 'OK')]);

    assert.equal(gate.result, 'WARN');
    assert.match(gate.reason, /payments-staging-5xx is INSUFFICIENT_DATA \(policy: ignore\)/);
  });

  it('warns on a bake with no alarms to watch', () => {
    const gate = evaluateBakeEnd({ alarms: [], insufficientData: 'fail', bakeMinutes: 10 }, []);

    assert.equal(gate.result, 'WARN');
    assert.equal(gate.reason, '10-minute bake with no alarms');
  });
});

describe('evaluateImageExists', () => {
  const image: ImageDetail = { repository: 'payments-api', digest: DIGEST, tags: ['v1.4.2'], pushedAt: '2026-11-24T09:00:00Z' };

  it('fails a tag that resolved to no digest, naming the tag and the repository', () => {
    const gate = evaluateImageExists('payments-api', undefined, 'v9.9.9', undefined);

    assert.equal(gate.gate, 'image.exists');
    assert.equal(gate.result, 'FAIL');
    assert.equal(gate.reason, 'tag v9.9.9 was not found in repository payments-api');
  });

  it('fails a digest the registry does not hold', () => {
    const gate = evaluateImageExists('payments-api', DIGEST, undefined, undefined);

    assert.equal(gate.result, 'FAIL');
    assert.equal(gate.reason, `image ${DIGEST} was not found in repository payments-api`);
  });

  it('passes an image that exists and names it with its tag', () => {
    const gate = evaluateImageExists('payments-api', DIGEST, 'v1.4.2', image);

    assert.equal(gate.result, 'PASS');
    assert.equal(gate.reason, `payments-api@${DIGEST} exists (tag v1.4.2)`);
  });
});
