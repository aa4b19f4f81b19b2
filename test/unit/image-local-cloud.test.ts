/**
 * The local cloud's ECR as the image gates see it: real manifests, configs and cosign artifacts made
 * with real keys, and the scenario's `keys` replacing the config's signing keys.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { parseConfig } from '../../lambdas/domain/config';
import { parseImageConfig, parseManifest, platformManifests, platformName, sha256Digest } from '../../lambdas/domain/image/oci';
import { checkCosignSignature, cosignSignatureLayers, cosignSignatureTag, loadPublicKey } from '../../lambdas/domain/image/signature';
import { ValidationError } from '../../lambdas/domain/validation';
import { VirtualClock } from '../../local/clock';
import { LocalCloud } from '../../local/cloud';
import { withScenarioKeys } from '../../local/image-artifacts';
import { loadScenario, scenarioSchema } from '../../local/scenario';

const START = '2026-11-24T10:00:00Z';
const SIGNED = `sha256:${'1'.repeat(64)}`;
const TAMPERED = `sha256:${'2'.repeat(64)}`;
const UNSIGNED = `sha256:${'3'.repeat(64)}`;
const MULTI = `sha256:${'4'.repeat(64)}`;
const COPIED = `sha256:${'5'.repeat(64)}`;
const REV = 'org.opencontainers.image.revision';
const ROOT = join(__dirname, '..', '..');

function cloud(): LocalCloud {
  const scenario = scenarioSchema.parse({
    name: 'local ECR artifacts',
    config: 'gantry.config.json',
    clock: START,
    keys: { 'release-key': 'generate', 'ci-key': 'generate' },
    ecr: {
      'payments-api': {
        tagMutability: 'IMMUTABLE_WITH_EXCLUSION',
        tagMutabilityExclusions: ['latest'],
        images: [
          { digest: SIGNED, tags: ['v1'], labels: { [REV]: 'aaa' }, signature: { key: 'release-key', state: 'valid' } },
          { digest: TAMPERED, tags: ['v2'], signature: { key: 'release-key', state: 'invalid' } },
          { digest: UNSIGNED, tags: ['v3'], signature: { key: 'release-key', state: 'missing' } },
          { digest: COPIED, tags: ['v5'], signature: { key: 'release-key', state: 'valid', forDigest: SIGNED } },
          {
            digest: MULTI,
            tags: ['v4'],
            labels: { [REV]: 'bbb' },
            scan: { status: 'COMPLETE', findings: [{ id: 'CVE-1', severity: 'LOW' }] },
            platforms: [{ platform: 'linux/amd64' }, { platform: 'linux/arm64/v8', labels: {}, scan: { status: 'FAILED' } }],
          },
        ],
      },
    },
  });
  return new LocalCloud(scenario, new VirtualClock(new Date(START)));
}

async function signatureOf(c: LocalCloud, digest: string) {
  const rec = await c.imageManifest('payments-api', { tag: cosignSignatureTag(digest) });
  if (!rec) return undefined;
  const doc = parseManifest(rec.manifest, rec.mediaType);
  assert.ok(doc.kind === 'manifest');
  const [layer] = cosignSignatureLayers(doc);
  assert.ok(layer);
  const payload = await c.blob('payments-api', layer.payloadDigest, 4096);
  return { payload, layer };
}

describe('local ECR images', () => {
  it('serves a manifest whose config blob carries the scenario labels, content-addressed', async () => {
    const c = cloud();

    const rec = await c.imageManifest('payments-api', { digest: SIGNED });
    const doc = parseManifest(rec?.manifest ?? '', rec?.mediaType);
    assert.ok(doc.kind === 'manifest');
    const bytes = await c.blob('payments-api', doc.config.digest, 4096);

    assert.equal(sha256Digest(bytes), doc.config.digest);
    assert.deepEqual(parseImageConfig(bytes).labels, { [REV]: 'aaa' });
  });

  it('serves a multi-arch image as an OCI index whose platforms have their own labels and scans', async () => {
    const c = cloud();

    const detail = await c.describeImage('payments-api', { tag: 'v4' });
    const rec = await c.imageManifest('payments-api', { digest: MULTI });
    const index = parseManifest(rec?.manifest ?? '');
    assert.ok(index.kind === 'index');
    const platforms = platformManifests(index);
    const arm = platforms[1];
    assert.ok(arm);
    const armDoc = parseManifest((await c.imageManifest('payments-api', { digest: arm.digest }))?.manifest ?? '');
    assert.ok(armDoc.kind === 'manifest');

    assert.equal(detail?.manifestMediaType, 'application/vnd.oci.image.index.v1+json');
    assert.deepEqual(
      platforms.map((p) => platformName(p.platform)),
      ['linux/amd64', 'linux/arm64/v8'],
    );
    assert.deepEqual(parseImageConfig(await c.blob('payments-api', armDoc.config.digest, 4096)).labels, {});
    assert.equal((await c.scanFindings('payments-api', arm.digest)).status, 'FAILED');
    assert.deepEqual(
      (await c.scanFindings('payments-api', platforms[0]?.digest as string)).findings.map((f) => f.id),
      ['CVE-1'],
    );
  });

  it('reports the repository’s tag setting with its exclusion filters', async () => {
    assert.deepEqual(await cloud().repositoryTagSettings('payments-api'), {
      mutability: 'IMMUTABLE_WITH_EXCLUSION',
      exclusionFilters: [{ filterType: 'WILDCARD', filter: 'latest' }],
    });
  });

  it('throws NotFoundError for a blob it does not hold', async () => {
    await assert.rejects(cloud().blob('payments-api', SIGNED, 10), { name: 'NotFoundError' });
  });
});

describe('local cosign signatures', () => {
  it('signs a valid signature for real with the generated key', async () => {
    const c = cloud();
    const sig = await signatureOf(c, SIGNED);
    assert.ok(sig);
    const key = loadPublicKey('release-key', c.signingKeys.get('release-key')?.publicPem as string);

    assert.deepEqual(checkCosignSignature(sig.payload, sig.layer.signature, SIGNED, [key]), { outcome: 'verified', key: 'release-key', signedDigest: SIGNED });
  });

  it('does not verify a valid signature with another generated key', async () => {
    const c = cloud();
    const sig = await signatureOf(c, SIGNED);
    assert.ok(sig);
    const other = loadPublicKey('ci-key', c.signingKeys.get('ci-key')?.publicPem as string);

    assert.equal(checkCosignSignature(sig.payload, sig.layer.signature, SIGNED, [other]).outcome, 'bad-signature');
  });

  it('corrupts the signature bytes of an invalid one so it no longer verifies', async () => {
    const c = cloud();
    const sig = await signatureOf(c, TAMPERED);
    assert.ok(sig);
    const key = loadPublicKey('release-key', c.signingKeys.get('release-key')?.publicPem as string);

    assert.equal(checkCosignSignature(sig.payload, sig.layer.signature, TAMPERED, [key]).outcome, 'bad-signature');
  });

  it('makes no .sig artifact for a missing one', async () => {
    assert.equal(await signatureOf(cloud(), UNSIGNED), undefined);
  });

  it('signs the payload of another digest when forDigest says so', async () => {
    const c = cloud();
    const sig = await signatureOf(c, COPIED);
    assert.ok(sig);
    const key = loadPublicKey('release-key', c.signingKeys.get('release-key')?.publicPem as string);

    assert.deepEqual(checkCosignSignature(sig.payload, sig.layer.signature, COPIED, [key]), { outcome: 'wrong-digest', key: 'release-key', signedDigest: SIGNED });
  });
});

describe('scenario signing keys', () => {
  const exampleConfig = () => JSON.parse(readFileSync(join(ROOT, 'examples', 'gantry.config.json'), 'utf8'));

  it('replace the config’s key of the same name with the generated public half, and leave other keys unknown', () => {
    const raw = exampleConfig();
    raw.signing.keys = { 'release-key': '-----BEGIN PUBLIC KEY-----\nplaceholder\n-----END PUBLIC KEY-----' };
    const config = parseConfig(raw);
    const c = cloud();

    const replaced = withScenarioKeys(config, c.signingKeys);

    assert.equal(replaced.signing.keys['release-key'], c.signingKeys.get('release-key')?.publicPem);
    assert.equal(replaced.signing.keys['ci-key'], undefined);
    assert.ok(Object.isFrozen(replaced.signing.keys));
    assert.match(config.signing.keys['release-key'] ?? '', /placeholder/, 'the original config is untouched');
  });

  it('refuse a signature by a key the scenario does not hold, naming the image', () => {
    const raw = {
      name: 's',
      config: '../gantry.config.json',
      clock: START,
      ecr: { 'payments-api': { images: [{ digest: SIGNED, signature: { key: 'nobody', state: 'valid' } }] } },
    };

    assert.throws(
      () => loadScenario(raw, join(ROOT, 'examples', 'scenarios')),
      (e: unknown) => e instanceof ValidationError && e.problems.some((p) => p.startsWith('ecr["payments-api"].images[0].signature.key: expected a key of "keys"')),
    );
  });

  it('accept "generate" or a PEM private key, nothing else', () => {
    const r = scenarioSchema.safeParse({ name: 's', config: 'c.json', clock: START, keys: { k: 'make one please' } });

    assert.equal(r.success, false);
  });
});
