/**
 * The image gates through the real release workflow (`gantry simulate`): every gate passing and
 * refusing, with real manifests, configs and cosign signatures from the local cloud. A blocked
 * release deploys nothing anywhere.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { loadScenario } from '../../local/scenario';
import { type SimulationOutput, simulate } from '../../local/simulate';
import { D1, D2, ROOT, runExample, runInline } from './helpers';

const SCENARIOS = join(ROOT, 'examples', 'scenarios');
const IMAGE_GATES = ['image.exists', 'image.immutable-tag', 'image.scan', 'image.signature', 'image.labels', 'image.age'];
type Json = Record<string, any>;

const example = (name: string): Json => JSON.parse(readFileSync(join(SCENARIOS, `${name}.json`), 'utf8'));
/** The release image (D2) of a scenario, to change before running it. */
const releaseImage = (s: Json): Json => s.ecr['payments-api'].images.find((i: Json) => i.digest === D2);

function assertClosed(out: SimulationOutput): void {
  for (const r of out.releases) {
    assert.notEqual(r.status, 'RUNNING', `${r.releaseId} left RUNNING`);
    assert.equal(r.audit.verified, true, `${r.releaseId} chain: ${r.audit.problems?.join('; ')}`);
  }
  assert.deepEqual(out.leasesHeld, []);
  assert.deepEqual(out.warnings, []);
}

function imageGates(out: SimulationOutput, stage: string): Array<{ gate: string; result: string; reason: string }> {
  const s = out.releases[0]?.stages.find((x) => x.name === stage);
  assert.ok(s, `stage ${stage} missing`);
  return s.gates.filter((g) => g.gate.startsWith('image.'));
}

/** Blocked in dev by `gate`, every earlier gate passed, no later gate ran, nothing deployed anywhere. */
function assertBlockedBy(out: SimulationOutput, gate: string, reason: RegExp): void {
  assertClosed(out);
  const r = out.releases[0];
  assert.equal(r?.status, 'BLOCKED', `release ${r?.status}: ${r?.reason}`);
  const gates = imageGates(out, 'dev');
  const last = gates.at(-1);
  assert.equal(last?.gate, gate, `gates: ${gates.map((g) => `${g.gate}:${g.result}`).join(' ')}`);
  assert.equal(last?.result, 'FAIL');
  assert.match(last?.reason ?? '', reason);
  for (const g of gates.slice(0, -1)) assert.notEqual(g.result, 'FAIL', `${g.gate} failed before ${gate}`);
  assert.deepEqual(
    gates.map((g) => g.gate),
    IMAGE_GATES.filter((n) => gates.some((g) => g.gate === n)),
    'gates out of order',
  );
  assert.equal(r?.stages.find((s) => s.name === 'dev')?.status, 'BLOCKED');
  for (const s of r?.stages.filter((x) => x.name !== 'dev') ?? []) assert.equal(s.status, 'NOT_STARTED', `${s.name} started`);
  assert.deepEqual(out.deployments, []);
}

describe('image.signature through the workflow', () => {
  it('verifies a cosign signature by the trusted key and promotes the image through every stage', async () => {
    const { output: out, ledgerEvents } = await simulate(loadScenario(example('image-signed'), SCENARIOS));

    assertClosed(out);
    assert.equal(out.releases[0]?.status, 'SUCCEEDED');
    for (const stage of ['dev', 'prod']) {
      assert.deepEqual(
        imageGates(out, stage).map((g) => `${g.gate}:${g.result}`),
        IMAGE_GATES.map((g) => `${g}:PASS`),
      );
    }
    assert.match(imageGates(out, 'dev')[3]?.reason ?? '', new RegExp(`^cosign signature by release-key verified for ${D2}$`));
    assert.deepEqual(
      out.deployments.map((d) => `${d.stage}:${d.digest === D2}`),
      ['dev:true', 'prod:true'],
    );
    const labels = ledgerEvents.find((e) => e.stepKey === 'stage:dev:gate:image.labels');
    assert.deepEqual((labels?.data.evidence as Json).provenance, {
      revision: '9f2c1e7',
      source: 'https://github.com/acme/payments',
      created: '2026-11-24T09:50:00Z',
      createdFrom: 'label',
    });
  });

  it('blocks a tampered signature before dev', async () => {
    const out = await runExample('image-tampered-signature');

    assertBlockedBy(out, 'image.signature', /does not verify with trusted key release-key: the signature or its payload was altered/);
  });

  it('blocks a signature by a key Gantry knows but the service does not trust, naming the key', async () => {
    const out = await runExample('image-untrusted-key');

    assertBlockedBy(out, 'image.signature', /was made by signing key ci-key, which this service does not trust \(trusted: release-key\)/);
  });

  it('blocks a signature by a key Gantry does not know at all', async () => {
    const s = example('image-signed');
    s.keys.stranger = 'generate';
    releaseImage(s).signature = { key: 'stranger', state: 'valid' };

    assertBlockedBy(await runInline(s), 'image.signature', /does not verify with trusted key release-key/);
  });

  it('blocks an unsigned image', async () => {
    const s = example('image-signed');
    releaseImage(s).signature = { key: 'release-key', state: 'missing' };

    assertBlockedBy(await runInline(s), 'image.signature', new RegExp(`^no cosign signature for ${D2} \\(looked for tag sha256-2{64}\\.sig\\)$`));
  });

  it('blocks a valid signature whose payload is for another image', async () => {
    const s = example('image-signed');
    releaseImage(s).signature = { key: 'release-key', state: 'valid', forDigest: D1 };

    assertBlockedBy(await runInline(s), 'image.signature', new RegExp(`signature by release-key under sha256-2{64}\\.sig is for ${D1}, not for ${D2}`));
  });

  it('is not run when the service does not require a signature', async () => {
    const out = await runExample('demo');

    assert.equal(out.releases[0]?.status, 'SUCCEEDED');
    assert.deepEqual(
      imageGates(out, 'dev').map((g) => g.gate),
      ['image.exists', 'image.immutable-tag', 'image.scan', 'image.labels', 'image.age'],
    );
  });
});

describe('multi-arch images through the workflow', () => {
  it('promotes the index digest and checks the labels of every platform', async () => {
    const out = await runExample('image-multi-arch');

    assertClosed(out);
    assert.equal(out.releases[0]?.status, 'SUCCEEDED');
    assert.ok(
      out.deployments.every((d) => d.digest === D2),
      'the index digest is what is deployed',
    );
    assert.match(imageGates(out, 'dev').find((g) => g.gate === 'image.labels')?.reason ?? '', /present on all 2 platform\(s\)/);
  });

  it('blocks when one platform image lacks a required label, naming the platform', async () => {
    const s = example('image-multi-arch');
    releaseImage(s).platforms = [{ platform: 'linux/amd64' }, { platform: 'linux/arm64', labels: { 'org.opencontainers.image.revision': '9f2c1e7' } }];

    assertBlockedBy(await runInline(s), 'image.labels', /^missing required label\(s\): org\.opencontainers\.image\.source on linux\/arm64$/);
  });

  it('accepts an unsigned index whose platform manifests are each signed by the trusted key', async () => {
    const s = example('image-multi-arch');
    const img = releaseImage(s);
    img.signature = { key: 'release-key', state: 'missing' };
    img.platforms = img.platforms.map((p: Json) => ({ ...p, signature: { key: 'release-key', state: 'valid' } }));

    const out = await runInline(s);

    assertClosed(out);
    assert.equal(out.releases[0]?.status, 'SUCCEEDED');
    assert.match(imageGates(out, 'dev').find((g) => g.gate === 'image.signature')?.reason ?? '', /all 2 platform manifests carry a cosign signature by release-key/);
  });

  it('blocks when a platform image’s scan failed', async () => {
    const s = example('image-multi-arch');
    releaseImage(s).platforms = [{ platform: 'linux/amd64' }, { platform: 'linux/arm64', scan: { status: 'FAILED' } }];

    assertBlockedBy(await runInline(s), 'image.scan', /^scan FAILED: linux\/arm64: scan failed \(scenario\)$/);
  });
});

describe('image.scan through the workflow', () => {
  it('blocks a CRITICAL finding, listing it', async () => {
    assertBlockedBy(await runExample('image-critical-finding'), 'image.scan', /^1 CRITICAL over limit 0: CVE-2026-31337 \(1 allowed until 2027-01-01: CVE-2024-1234\)$/);
  });

  it('passes an allow-listed HIGH finding and says until when it is allowed', async () => {
    const s = example('image-critical-finding');
    releaseImage(s).scan.findings = [{ id: 'CVE-2024-1234', severity: 'HIGH', package: 'openssl' }];

    const out = await runInline(s);

    assertClosed(out);
    assert.equal(out.releases[0]?.status, 'SUCCEEDED');
    assert.equal(imageGates(out, 'prod').find((g) => g.gate === 'image.scan')?.reason, '0 CRITICAL, 0 HIGH (1 allowed until 2027-01-01: CVE-2024-1234)');
  });

  it('blocks a HIGH finding whose allow entry expired, on the workflow’s virtual clock', async () => {
    const s = example('image-critical-finding');
    s.clock = '2027-01-01T00:00:00Z';
    delete s.stages;
    s.ecr['payments-api'].images = [{ ...releaseImage(s), pushedAt: '2026-12-31T23:00:00Z', scan: { status: 'COMPLETE', findings: [{ id: 'CVE-2024-1234', severity: 'HIGH' }] } }];

    assertBlockedBy(await runInline(s), 'image.scan', /^1 HIGH over limit 0: CVE-2024-1234 \[expired allow entries ignored: CVE-2024-1234\]$/);
  });

  it('blocks a finding Inspector has not triaged when the policy limits UNTRIAGED', async () => {
    const s = example('image-signed');
    s.config.services.payments.imagePolicy.maxFindings.UNTRIAGED = 0;
    releaseImage(s).scan.findings = [{ id: 'CVE-2025-24528', severity: 'UNTRIAGED', package: 'krb5' }];

    assertBlockedBy(await runInline(s), 'image.scan', /^1 UNTRIAGED over limit 0: CVE-2025-24528$/);
  });

  it('waits for a scan that finishes within scanWaitMinutes, then deploys', async () => {
    const s = example('image-critical-finding');
    releaseImage(s).scan = { status: 'IN_PROGRESS', completesAfter: 'PT7M', findings: [] };

    const out = await runInline(s);

    assertClosed(out);
    assert.equal(out.releases[0]?.status, 'SUCCEEDED');
    assert.ok(out.timeline.some((t) => t.event === 'Waiting for scan'));
    assert.equal(out.deployments[0]?.startedAt, '2026-11-24T10:07:00.000Z');
  });

  it('blocks a scan still running after scanWaitMinutes', async () => {
    const out = await runExample('image-scan-too-slow');

    assertBlockedBy(out, 'image.scan', /^scan still IN_PROGRESS after 15 minutes$/);
    assert.equal(out.releases[0]?.endedAt?.slice(0, 16), '2026-11-24T10:15');
  });

  it('blocks a FAILED scan', async () => {
    const s = example('image-critical-finding');
    releaseImage(s).scan = { status: 'FAILED', findings: [] };

    assertBlockedBy(await runInline(s), 'image.scan', /^scan FAILED/);
  });

  it('blocks an image that was never scanned', async () => {
    const s = example('image-critical-finding');
    releaseImage(s).scan = { status: 'NONE', findings: [] };

    assertBlockedBy(await runInline(s), 'image.scan', /no scan exists for this image/);
  });
});

describe('image.exists, image.immutable-tag, image.labels and image.age through the workflow', () => {
  it('blocks an unknown tag, naming it', async () => {
    const s = example('image-critical-finding');
    s.triggers = [{ type: 'start', principal: 'arn:aws:sts::111122223333:assumed-role/Deployers/alice', input: { service: 'payments', image: { tag: 'v9.9.9' } } }];

    assertBlockedBy(await runInline(s), 'image.exists', /^tag v9\.9\.9 was not found in repository payments-api$/);
  });

  it('blocks a MUTABLE repository', async () => {
    assertBlockedBy(await runExample('image-mutable-repository'), 'image.immutable-tag', /^repository payments-api is MUTABLE: tag v1\.4\.2 can be moved/);
  });

  it('blocks a release tag that an IMMUTABLE_WITH_EXCLUSION filter leaves mutable', async () => {
    const s = example('image-mutable-repository');
    s.ecr['payments-api'].tagMutability = 'IMMUTABLE_WITH_EXCLUSION';
    s.ecr['payments-api'].tagMutabilityExclusions = ['v1.4.*'];

    assertBlockedBy(await runInline(s), 'image.immutable-tag', /tag v1\.4\.2 matches the exclusion filter "v1\.4\.\*", so it can be moved/);
  });

  it('blocks an image missing a required label', async () => {
    const s = example('image-critical-finding');
    releaseImage(s).scan.findings = [];
    releaseImage(s).labels = { 'org.opencontainers.image.source': 'https://github.com/acme/payments' };

    assertBlockedBy(await runInline(s), 'image.labels', /^missing required label\(s\): org\.opencontainers\.image\.revision$/);
  });

  it('blocks an image older than maxAgeDays', async () => {
    assertBlockedBy(await runExample('image-too-old'), 'image.age', /^pushed 45 days ago \(2026-10-10T10:00:00\.000Z\), older than maxAgeDays 30$/);
  });
});
