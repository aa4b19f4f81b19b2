/**
 * The image gates' pure policy: image.exists (tag moved), image.immutable-tag, image.scan (enhanced
 * severities, unknown severities, allow-list boundary day), image.labels, image.age (boundary days).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { type ImagePolicy, parseConfig } from '../../lambdas/domain/config';
import { evaluateImageAge, evaluateImageExists, evaluateImmutableTag, evaluateLabels, evaluateScan, MAX_FINDINGS_IN_EVIDENCE, type ScanVerdict } from '../../lambdas/domain/gates';
import { formatAge } from '../../lambdas/domain/image/age';
import { mergeScanResults } from '../../lambdas/domain/image/findings';
import type { PlatformImageConfig } from '../../lambdas/domain/image/labels';
import { wildcardMatches } from '../../lambdas/domain/image/tag-mutability';
import type { GateResult } from '../../lambdas/domain/types';
import type { ScanFinding, ScanResult } from '../../lambdas/ports';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const OTHER = `sha256:${'cd'.repeat(32)}`;
const DAY = 86_400_000;

function policy(imagePolicy: Record<string, unknown>): ImagePolicy {
  const helm = { driver: 'helm', release: 'p', chart: 'repo/chart', version: '1.0.0' };
  const cfg = parseConfig({
    services: { p: { repository: 'payments-api', imagePolicy, stages: [{ name: 'dev', cluster: 'dev', namespace: 'p', deploy: helm }] } },
    clusters: { dev: { name: 'dev-eks', region: 'eu-west-2' } },
  });
  return (cfg.services.p as NonNullable<(typeof cfg.services)[string]>).imagePolicy;
}

function decided(v: ScanVerdict): GateResult {
  assert.equal(v.kind, 'decided');
  return (v as Extract<ScanVerdict, { kind: 'decided' }>).gate;
}

const complete = (findings: ScanFinding[]): ScanResult => ({ status: 'COMPLETE', findings });
const NOW = new Date('2026-11-24T10:00:00Z');

describe('image.exists', () => {
  const image = { repository: 'payments-api', digest: DIGEST, tags: ['v1.4.2'] };

  it('passes when the tag still points at the release digest', () => {
    assert.equal(evaluateImageExists('payments-api', DIGEST, 'v1.4.2', image, { digest: DIGEST }).result, 'PASS');
  });

  it('records a tag that moved since the release resolved it, and keeps the release digest', () => {
    const gate = evaluateImageExists('payments-api', DIGEST, 'v1.4.2', image, { digest: OTHER });

    assert.equal(gate.result, 'WARN');
    assert.match(gate.reason, new RegExp(`tag v1\\.4\\.2 now points to ${OTHER} — this release keeps ${DIGEST}`));
    assert.equal((gate.evidence as { tagNowPointsTo: string }).tagNowPointsTo, OTHER);
  });

  it('records a tag that no longer exists', () => {
    const gate = evaluateImageExists('payments-api', DIGEST, 'v1.4.2', image, null);

    assert.equal(gate.result, 'WARN');
    assert.match(gate.reason, /tag v1\.4\.2 no longer exists/);
  });
});

describe('image.immutable-tag', () => {
  const settings = (mutability: string, ...filters: string[]) => ({ mutability, exclusionFilters: filters.map((filter) => ({ filterType: 'WILDCARD', filter })) });

  it('passes an IMMUTABLE repository', () => {
    assert.equal(evaluateImmutableTag('payments-api', 'v1.4.2', settings('IMMUTABLE')).result, 'PASS');
  });

  it('fails a MUTABLE repository and says how to fix it', () => {
    const gate = evaluateImmutableTag('payments-api', 'v1.4.2', settings('MUTABLE'));

    assert.equal(gate.result, 'FAIL');
    assert.equal(gate.reason, 'repository payments-api is MUTABLE: tag v1.4.2 can be moved to another image (set imageTagMutability IMMUTABLE)');
  });

  it('passes IMMUTABLE_WITH_EXCLUSION when the release tag matches no exclusion filter', () => {
    assert.equal(evaluateImmutableTag('payments-api', 'v1.4.2', settings('IMMUTABLE_WITH_EXCLUSION', 'latest', 'dev-*')).result, 'PASS');
  });

  it('fails IMMUTABLE_WITH_EXCLUSION when the release tag is excluded, naming the filter', () => {
    const gate = evaluateImmutableTag('payments-api', 'dev-42', settings('IMMUTABLE_WITH_EXCLUSION', 'latest', 'dev-*'));

    assert.equal(gate.result, 'FAIL');
    assert.match(gate.reason, /tag dev-42 matches the exclusion filter "dev-\*", so it can be moved/);
  });

  it('passes MUTABLE_WITH_EXCLUSION only for a tag its filters make immutable', () => {
    assert.equal(evaluateImmutableTag('payments-api', 'v1.4.2', settings('MUTABLE_WITH_EXCLUSION', 'v*')).result, 'PASS');
    assert.equal(evaluateImmutableTag('payments-api', 'latest', settings('MUTABLE_WITH_EXCLUSION', 'v*')).result, 'FAIL');
  });

  it('passes a release by digest under IMMUTABLE_WITH_EXCLUSION: it has no tag to exclude', () => {
    assert.equal(evaluateImmutableTag('payments-api', undefined, settings('IMMUTABLE_WITH_EXCLUSION', '*')).result, 'PASS');
  });

  it('fails a setting it does not know', () => {
    assert.equal(evaluateImmutableTag('payments-api', 'v1', settings('SOMETIMES')).result, 'FAIL');
  });

  it('matches wildcard filters literally apart from *', () => {
    assert.equal(wildcardMatches('v1.*', 'v1.4'), true);
    assert.equal(wildcardMatches('v1.*', 'v104'), false);
    assert.equal(wildcardMatches('latest', 'latest-2'), false);
  });
});

describe('image.scan with enhanced findings', () => {
  it('counts UNTRIAGED findings only when maxFindings limits UNTRIAGED', () => {
    const scan = complete([{ id: 'CVE-2025-24528', severity: 'UNTRIAGED', package: 'krb5' }]);

    assert.equal(decided(evaluateScan(policy({ maxFindings: { CRITICAL: 0, HIGH: 0 } }), scan, NOW, undefined)).result, 'PASS');
    const gate = decided(evaluateScan(policy({ maxFindings: { CRITICAL: 0, UNTRIAGED: 0 } }), scan, NOW, undefined));
    assert.equal(gate.result, 'FAIL');
    assert.equal(gate.reason, '1 UNTRIAGED over limit 0: CVE-2025-24528');
  });

  it('blocks a finding of a severity Gantry does not know whenever any limit is set, naming it', () => {
    const scan = complete([{ id: 'CVE-2026-9999', severity: 'SEVERE' }]);

    const gate = decided(evaluateScan(policy({ maxFindings: { CRITICAL: 0 } }), scan, NOW, undefined));

    assert.equal(gate.result, 'FAIL');
    assert.equal(gate.reason, '1 finding(s) of unknown severity "SEVERE" cannot be checked against maxFindings: CVE-2026-9999');
  });

  it('lets an unknown severity through an active allow entry, and when no limit is set at all', () => {
    const scan = complete([{ id: 'CVE-2026-9999', severity: 'SEVERE' }]);

    assert.equal(
      decided(evaluateScan(policy({ maxFindings: { CRITICAL: 0 }, allow: [{ id: 'CVE-2026-9999', expires: '2027-01-01', reason: 'r' }] }), scan, NOW, undefined)).result,
      'PASS',
    );
    assert.equal(decided(evaluateScan(policy({}), scan, NOW, undefined)).result, 'PASS');
  });

  it('honours an allow entry on the day before it expires and not on its expiry day', () => {
    const p = policy({ maxFindings: { HIGH: 0 }, allow: [{ id: 'CVE-2024-1234', expires: '2027-06-01', reason: 'r' }] });
    const scan = complete([{ id: 'CVE-2024-1234', severity: 'HIGH' }]);

    const dayBefore = decided(evaluateScan(p, scan, new Date('2027-05-31T12:00:00Z'), undefined));
    const expiryDay = decided(evaluateScan(p, scan, new Date('2027-06-01T00:00:00Z'), undefined));

    assert.equal(dayBefore.result, 'PASS');
    assert.equal(dayBefore.reason, '0 HIGH (1 allowed until 2027-06-01: CVE-2024-1234)');
    assert.equal(expiryDay.result, 'FAIL');
    assert.equal(expiryDay.reason, '1 HIGH over limit 0: CVE-2024-1234 [expired allow entries ignored: CVE-2024-1234]');
  });

  it('reads like the issue: blocking ids, then the allowed one with its expiry', () => {
    const p = policy({ maxFindings: { HIGH: 0 }, allow: [{ id: 'CVE-2024-0003', expires: '2027-06-01', reason: 'r' }] });
    const scan = complete([
      { id: 'CVE-2024-0002', severity: 'HIGH' },
      { id: 'CVE-2024-0001', severity: 'HIGH' },
      { id: 'CVE-2024-0003', severity: 'HIGH' },
    ]);

    assert.equal(decided(evaluateScan(p, scan, NOW, undefined)).reason, '2 HIGH over limit 0: CVE-2024-0001, CVE-2024-0002 (1 allowed until 2027-06-01: CVE-2024-0003)');
  });

  it('names each allowed finding’s expiry when several are allowed', () => {
    const p = policy({
      maxFindings: { HIGH: 0 },
      allow: [
        { id: 'CVE-a', expires: '2027-06-01', reason: 'r' },
        { id: 'CVE-b', expires: '2027-01-01', reason: 'r' },
      ],
    });

    const gate = decided(
      evaluateScan(
        p,
        complete([
          { id: 'CVE-a', severity: 'HIGH' },
          { id: 'CVE-b', severity: 'HIGH' },
        ]),
        NOW,
        undefined,
      ),
    );

    assert.equal(gate.reason, '0 HIGH (2 allowed: CVE-a until 2027-06-01, CVE-b until 2027-01-01)');
  });

  it('keeps the evidence bounded and the blocking findings in it', () => {
    const findings: ScanFinding[] = Array.from({ length: 500 }, (_, i) => ({ id: `CVE-low-${i}`, severity: 'LOW' }));
    findings.push({ id: 'CVE-crit', severity: 'CRITICAL', exploitAvailable: true });

    const gate = decided(evaluateScan(policy({ maxFindings: { CRITICAL: 0 } }), complete(findings), NOW, undefined));

    const ev = gate.evidence as { findings: Array<{ id: string; exploitAvailable?: boolean }>; findingsOmitted: number; counts: Record<string, number> };
    assert.equal(ev.findings.length, MAX_FINDINGS_IN_EVIDENCE);
    assert.deepEqual(ev.findings[0], { id: 'CVE-crit', severity: 'CRITICAL', exploitAvailable: true });
    assert.equal(ev.findingsOmitted, 401);
    assert.deepEqual(ev.counts, { LOW: 500, CRITICAL: 1 });
  });

  it('merges the scans of an index’s platforms: a refusal beats a running scan, findings are not counted twice', () => {
    const merged = mergeScanResults([
      { platform: 'linux/amd64', scan: complete([{ id: 'CVE-1', severity: 'HIGH', package: 'openssl' }]) },
      {
        platform: 'linux/arm64',
        scan: complete([
          { id: 'CVE-1', severity: 'HIGH', package: 'openssl' },
          { id: 'CVE-2', severity: 'LOW' },
        ]),
      },
    ]);
    const failing = mergeScanResults([
      { platform: 'linux/amd64', scan: { status: 'IN_PROGRESS', findings: [] } },
      { platform: 'linux/arm64', scan: { status: 'FAILED', description: 'UnsupportedImageError', findings: [] } },
    ]);

    assert.equal(merged.status, 'COMPLETE');
    assert.deepEqual(
      merged.findings.map((f) => f.id),
      ['CVE-1', 'CVE-2'],
    );
    assert.equal(failing.status, 'FAILED');
    assert.equal(failing.description, 'linux/arm64: UnsupportedImageError');
  });
});

describe('image.labels', () => {
  const single = (labels: Record<string, string>, created?: string): PlatformImageConfig[] => [
    { manifestDigest: DIGEST, configDigest: OTHER, config: { labels, ...(created ? { created } : {}) } },
  ];
  const REV = 'org.opencontainers.image.revision';

  it('passes when every required label is present and records the provenance', () => {
    const gate = evaluateLabels(
      [REV],
      DIGEST,
      single({ [REV]: '9f2c1e7', 'org.opencontainers.image.source': 'https://github.com/acme/payments', 'org.opencontainers.image.created': '2026-11-24T09:50:00Z' }),
    );

    assert.equal(gate.result, 'PASS');
    assert.equal(gate.reason, `1 required label(s) present: ${REV}=9f2c1e7`);
    assert.deepEqual((gate.evidence as { provenance: unknown }).provenance, {
      revision: '9f2c1e7',
      source: 'https://github.com/acme/payments',
      created: '2026-11-24T09:50:00Z',
      createdFrom: 'label',
    });
  });

  it('takes created from the config when the label is absent', () => {
    const gate = evaluateLabels([], DIGEST, single({}, '2026-11-20T08:00:00Z'));

    assert.deepEqual((gate.evidence as { provenance: unknown }).provenance, { created: '2026-11-20T08:00:00Z', createdFrom: 'config' });
  });

  it('fails a missing label, naming it, and an empty one, saying so', () => {
    assert.equal(evaluateLabels([REV], DIGEST, single({})).reason, `missing required label(s): ${REV}`);
    assert.equal(evaluateLabels([REV], DIGEST, single({ [REV]: ' ' })).reason, `missing required label(s): ${REV} (present but empty)`);
  });

  it('requires each label on every platform of a multi-arch image, naming the platform that lacks it', () => {
    const configs: PlatformImageConfig[] = [
      { platform: 'linux/amd64', manifestDigest: DIGEST, configDigest: OTHER, config: { labels: { [REV]: 'a' } } },
      { platform: 'linux/arm64', manifestDigest: OTHER, configDigest: DIGEST, config: { labels: {} } },
    ];

    const gate = evaluateLabels([REV], DIGEST, configs);

    assert.equal(gate.result, 'FAIL');
    assert.equal(gate.reason, `missing required label(s): ${REV} on linux/arm64`);
  });
});

describe('image.age', () => {
  const pushed = '2026-10-25T10:00:00.000Z';

  it('passes an image exactly maxAgeDays old', () => {
    const gate = evaluateImageAge(30, pushed, new Date(Date.parse(pushed) + 30 * DAY));

    assert.equal(gate.result, 'PASS');
    assert.equal(gate.reason, 'pushed 30 days ago, within maxAgeDays 30');
  });

  it('fails an image one second older than maxAgeDays', () => {
    const gate = evaluateImageAge(30, pushed, new Date(Date.parse(pushed) + 30 * DAY + 1000));

    assert.equal(gate.result, 'FAIL');
    assert.equal(gate.reason, `pushed 30 days 0 h 0 min 1 s ago (${pushed}), older than maxAgeDays 30`);
  });

  it('passes an image pushed on the previous calendar day but less than a day ago with maxAgeDays 1', () => {
    assert.equal(evaluateImageAge(1, '2026-11-23T23:59:00Z', new Date('2026-11-24T10:00:00Z')).result, 'PASS');
  });

  it('fails an image with no push time, saying why', () => {
    const gate = evaluateImageAge(30, undefined, NOW);

    assert.equal(gate.result, 'FAIL');
    assert.match(gate.reason, /no usable push time/);
  });

  it('counts a push time in the future as age 0', () => {
    assert.equal(evaluateImageAge(1, '2026-11-25T10:00:00Z', NOW).result, 'PASS');
  });

  it('writes ages without zero units at either end', () => {
    assert.equal(formatAge(5 * 60_000), '5 min');
    assert.equal(formatAge(DAY + 2 * 3_600_000), '1 day 2 h');
    assert.equal(formatAge(0), '0 s');
  });
});
