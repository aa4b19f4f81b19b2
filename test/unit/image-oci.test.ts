/**
 * The OCI parsers on the real payloads in test/fixtures/aws-samples: manifests (Docker v2 from
 * BatchGetImage, cosign, Notation), image configs, and what they refuse.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'vitest';
import { isContainerImage, MEDIA_TYPES, parseImageConfig, parseManifest, platformManifests, platformName, sha256Digest } from '../../lambdas/domain/image/oci';
import { ValidationError } from '../../lambdas/domain/validation';

const SAMPLES = path.join(__dirname, '../fixtures/aws-samples');
const text = (name: string) => readFileSync(path.join(SAMPLES, name), 'utf8');
const json = (name: string) => JSON.parse(text(name));

function rejects(fn: () => unknown, line: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof ValidationError && e.problems.some((p) => line.test(p)), `expected a ValidationError line matching ${line}`);
}

describe('parseManifest on real payloads', () => {
  it('reads the Docker v2 manifest string of the BatchGetImage sample, config digest included', () => {
    const image = json('ecr-batch-get-image-docker-v2-manifest.json').images[0];

    const m = parseManifest(image.imageManifest);

    assert.equal(m.kind, 'manifest');
    assert.ok(m.kind === 'manifest');
    assert.equal(m.mediaType, MEDIA_TYPES.dockerManifest);
    assert.equal(m.config.digest, 'sha256:6171c7451a50945f8ddd72f7732cc04d7a0d1f48138a426b2e64387fdeb834ed');
    assert.equal(m.config.mediaType, MEDIA_TYPES.dockerConfig);
    assert.equal(m.layers.length, 4);
    assert.equal(isContainerImage(m), true);
  });

  it('reads the cosign signature manifest with its simple-signing layer and signature annotation', () => {
    const m = parseManifest(text('cosign-signature-manifest.constructed.json'));

    assert.ok(m.kind === 'manifest');
    assert.equal(m.layers[0]?.mediaType, MEDIA_TYPES.cosignSimpleSigning);
    assert.match(m.layers[0]?.annotations?.['dev.cosignproject.cosign/signature'] ?? '', /^MEUCIBKI9FIC/);
  });

  it('reads a Notation signature manifest (OCI 1.1 artifactType) and its subject, and knows it is not an image', () => {
    const m = parseManifest(text('notation-signature-manifest-oci11-artifacttype.json'));

    assert.ok(m.kind === 'manifest');
    assert.equal(m.artifactType, MEDIA_TYPES.notarySignature);
    assert.equal(m.subject?.digest, 'sha256:73c803930ea3ba1e54bc25c2bdc53edd0284c62ed651fe7b00369da519a3c333');
    assert.equal(isContainerImage(m), false);
  });

  it('reads the OCI 1.0 Notation fallback, whose type is only in config.mediaType, as not an image', () => {
    const m = parseManifest(text('notation-signature-manifest-oci10-config-mediatype.json'));

    assert.ok(m.kind === 'manifest');
    assert.equal(m.config.mediaType, MEDIA_TYPES.notarySignature);
    assert.equal(isContainerImage(m), false);
  });

  it('reads a manifest passed as bytes', () => {
    const m = parseManifest(new TextEncoder().encode(text('cosign-signature-manifest.constructed.json')));

    assert.equal(m.kind, 'manifest');
  });
});

describe('parseManifest on image indexes', () => {
  const platformEntry = (arch: string, extra: Record<string, unknown> = {}) => ({
    mediaType: MEDIA_TYPES.ociManifest,
    digest: sha256Digest(arch),
    size: 500,
    platform: { os: 'linux', architecture: arch },
    ...extra,
  });
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociIndex,
    manifests: [
      platformEntry('amd64'),
      platformEntry('arm64', { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } }),
      platformEntry('unknown', { platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } }),
    ],
  };

  it('reads an OCI index and lists its runnable platforms, leaving out BuildKit attestation manifests', () => {
    const doc = parseManifest(JSON.stringify(index));

    assert.ok(doc.kind === 'index');
    assert.deepEqual(
      platformManifests(doc).map((d) => platformName(d.platform)),
      ['linux/amd64', 'linux/arm64/v8'],
    );
  });

  it('recognises a Docker manifest list by ECR’s media type when the document does not say', () => {
    const { mediaType: _, ...bare } = index;

    const doc = parseManifest(JSON.stringify(bare), MEDIA_TYPES.dockerManifestList);

    assert.equal(doc.kind, 'index');
    assert.equal(doc.mediaType, MEDIA_TYPES.dockerManifestList);
  });

  it('recognises an index by its shape when nothing names its type', () => {
    const { mediaType: _, ...bare } = index;

    assert.equal(parseManifest(JSON.stringify(bare)).kind, 'index');
  });
});

describe('parseManifest refusals', () => {
  it('refuses text that is not JSON', () => {
    rejects(() => parseManifest('{"schemaVersion": 2,'), /^\(root\): expected a JSON document/);
  });

  it('refuses bytes that are not UTF-8', () => {
    rejects(() => parseManifest(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])), /expected UTF-8 text/);
  });

  it('refuses a Docker schema 1 manifest, naming the schema version', () => {
    rejects(() => parseManifest(JSON.stringify({ schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [] })), /^schemaVersion: expected 2 \(Docker schema 1/);
  });

  it('refuses a manifest whose config digest is not a digest, naming the path', () => {
    const m = JSON.parse(text('cosign-signature-manifest.constructed.json'));
    m.config.digest = 'sha256:123456789012';

    rejects(() => parseManifest(JSON.stringify(m)), /^config\.digest: expected a digest/);
  });

  it('refuses a manifest of an unknown media type', () => {
    rejects(() => parseManifest(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip' })), /^mediaType: expected one of/);
  });

  it('refuses a JSON array, and an object that is neither a manifest nor an index', () => {
    rejects(() => parseManifest('[]'), /^\(root\): expected a JSON object, got an array/);
    rejects(() => parseManifest('{"schemaVersion": 2}'), /^\(root\): expected an image manifest \(config, layers\) or an image index/);
  });
});

describe('parseImageConfig on real payloads', () => {
  it('reads the OCI provenance labels of the constructed config', () => {
    const c = parseImageConfig(text('oci-image-config-opencontainers-labels.constructed.json'));

    assert.deepEqual(c.labels, {
      'org.opencontainers.image.created': '2015-10-31T22:22:56.015925234Z',
      'org.opencontainers.image.source': 'https://example.com/project.git',
      'org.opencontainers.image.revision': '45a939b2999782a3f005621a8d0f29aa387e1d6b',
    });
    assert.equal(c.created, '2015-10-31T22:22:56.015925234Z');
    assert.equal(c.architecture, 'amd64');
  });

  it('reads the spec example’s labels from config.Labels', () => {
    const c = parseImageConfig(text('oci-image-config-spec-example.json'));

    assert.equal(c.labels['com.example.project.git.commit'], '45a939b2999782a3f005621a8d0f29aa387e1d6b');
    assert.equal(c.os, 'linux');
  });

  it('reads null or absent Labels as no labels', () => {
    assert.deepEqual(parseImageConfig('{"config": {"Labels": null}}').labels, {});
    assert.deepEqual(parseImageConfig('{"architecture": "amd64"}').labels, {});
  });

  it('refuses a label value that is not a string, naming the label', () => {
    rejects(
      () => parseImageConfig('{"config": {"Labels": {"org.opencontainers.image.revision": 7}}}'),
      /^config\.Labels\["org\.opencontainers\.image\.revision"\]: expected string/,
    );
  });
});
