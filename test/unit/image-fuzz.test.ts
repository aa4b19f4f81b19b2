/**
 * Property tests (fast-check) of the image parsers — manifests and indexes, image configs, cosign
 * payloads, scan findings — and of the decisions made on what they return: on any input they return
 * or throw ValidationError (never a TypeError), and malformed input never turns into a PASS.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'vitest';
import fc from 'fast-check';
import { parseConfig } from '../../lambdas/domain/config';
import { evaluateScan } from '../../lambdas/domain/gates';
import { parseScanFindingsPage } from '../../lambdas/domain/image/findings';
import { MEDIA_TYPES, parseImageConfig, parseManifest } from '../../lambdas/domain/image/oci';
import { checkCosignSignature, loadPublicKey, parseSimpleSigningPayload } from '../../lambdas/domain/image/signature';
import { ValidationError } from '../../lambdas/domain/validation';
import { cosignSign } from '../../local/image-artifacts';

const RUNS = 300;
const SAMPLES = path.join(__dirname, '../fixtures/aws-samples');
const sample = (name: string): unknown => JSON.parse(readFileSync(path.join(SAMPLES, name), 'utf8'));
const DIGEST = `sha256:${'2'.repeat(64)}`;

// ---------------------------------------------------------------- mutation of valid documents

type Path = Array<string | number>;
type Mutation = { at: number; op: 'replace' | 'delete' | 'insert'; key: string; value: unknown };

function pathsOf(v: unknown, here: Path = [], out: Path[] = []): Path[] {
  out.push(here);
  if (Array.isArray(v)) v.forEach((x, i) => pathsOf(x, [...here, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) pathsOf(x, [...here, k], out);
  return out;
}

function setOwn(o: Record<string | number, unknown>, k: string | number, v: unknown): void {
  Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
}

function mutate(doc: unknown, mutations: readonly Mutation[]): unknown {
  let root: unknown = structuredClone(doc);
  for (const original of mutations) {
    const m = { ...original, value: structuredClone(original.value) };
    const paths = pathsOf(root);
    const p = paths[m.at % paths.length] as Path;
    if (p.length === 0) {
      if (m.op === 'replace') root = m.value;
      continue;
    }
    let parent = root as Record<string | number, unknown>;
    for (const seg of p.slice(0, -1)) parent = parent[seg] as Record<string | number, unknown>;
    const last = p[p.length - 1] as string | number;
    if (m.op === 'replace') setOwn(parent, last, m.value);
    else if (m.op === 'delete') {
      if (Array.isArray(parent)) parent.splice(last as number, 1);
      else delete parent[last];
    } else {
      const target = parent[last];
      if (Array.isArray(target)) target.push(m.value);
      else if (target && typeof target === 'object') setOwn(target as Record<string, unknown>, m.key, m.value);
      else setOwn(parent, last, m.value);
    }
  }
  return root;
}

const mutationArb = fc.array(
  fc.record({
    at: fc.nat(),
    op: fc.constantFrom('replace' as const, 'delete' as const, 'insert' as const),
    key: fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'mediaType', 'manifests', 'config', 'Labels', 'severity', '')),
    value: fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom('', 'sha256:xyz', DIGEST, 'CRITICAL', 'UNTRIAGED', 'SEVERE', 'COMPLETE', MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerSchema1, 1, -1, 1e308, null, [], {}),
    ),
  }),
  { minLength: 1, maxLength: 4 },
);

const PROBLEM_LINE = /^(?:\(root\)|(?:[A-Za-z_$][A-Za-z0-9_$]*|\[(?:\d+|"(?:[^"\\]|\\.)*")\])(?:\.[A-Za-z_$][A-Za-z0-9_$]*|\[(?:\d+|"(?:[^"\\]|\\.)*")\])*): \S/;

function returnsOrThrowsValidationError<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof ValidationError)) throw new Error(`threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)} instead of ValidationError`);
    assert.ok(e.problems.length > 0, 'a ValidationError with no problem lines');
    for (const line of e.problems) assert.match(line, PROBLEM_LINE);
    return undefined;
  }
}

// ---------------------------------------------------------------- valid documents

const batchGetImage = sample('ecr-batch-get-image-docker-v2-manifest.json') as { images: Array<{ imageManifest: string }> };
const manifests: unknown[] = [
  JSON.parse(batchGetImage.images[0]?.imageManifest as string),
  sample('cosign-signature-manifest.constructed.json'),
  sample('notation-signature-manifest-oci11-artifacttype.json'),
  sample('notation-signature-manifest-oci10-config-mediatype.json'),
  {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociIndex,
    manifests: [{ mediaType: MEDIA_TYPES.ociManifest, digest: DIGEST, size: 10, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } }],
  },
];
const configs: unknown[] = [sample('oci-image-config-spec-example.json'), sample('oci-image-config-opencontainers-labels.constructed.json')];
const payloads: unknown[] = [
  sample('cosign-simplesigning-payload-spec-example.json'),
  { critical: { identity: { 'docker-reference': 'r' }, image: { 'docker-manifest-digest': DIGEST }, type: 'cosign container image signature' }, optional: null },
];
const findingPages: unknown[] = [sample('ecr-describe-image-scan-findings-basic.json'), sample('ecr-describe-image-scan-findings-enhanced.json')];

const parsers: Array<[string, (raw: unknown) => unknown, unknown[]]> = [
  ['parseManifest', (raw) => parseManifest(JSON.stringify(raw) ?? 'undefined'), manifests],
  ['parseImageConfig', (raw) => parseImageConfig(JSON.stringify(raw) ?? 'undefined'), configs],
  ['parseSimpleSigningPayload', (raw) => parseSimpleSigningPayload(JSON.stringify(raw) ?? 'undefined'), payloads],
  ['parseScanFindingsPage', (raw) => parseScanFindingsPage(raw), findingPages],
];

describe('image parsers on arbitrary and mutated input', () => {
  for (const [name, parse, valid] of parsers) {
    it(`${name} accepts its valid documents`, () => {
      for (const doc of valid) parse(doc);
    });

    it(`${name} returns or throws ValidationError on any JSON value`, () => {
      fc.assert(
        fc.property(fc.jsonValue(), (raw) => {
          returnsOrThrowsValidationError(() => parse(raw));
        }),
        { numRuns: RUNS },
      );
    });

    it(`${name} returns or throws ValidationError on mutated valid documents`, () => {
      fc.assert(
        fc.property(fc.constantFrom(...valid), mutationArb, (doc, mutations) => {
          returnsOrThrowsValidationError(() => parse(mutate(doc, mutations)));
        }),
        { numRuns: RUNS },
      );
    });
  }

  it('the manifest, config and payload parsers return or throw ValidationError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        returnsOrThrowsValidationError(() => parseManifest(bytes));
        returnsOrThrowsValidationError(() => parseImageConfig(bytes));
        returnsOrThrowsValidationError(() => parseSimpleSigningPayload(bytes));
      }),
      { numRuns: RUNS },
    );
  });

  it('parseManifest never returns an index without a manifests list or a manifest without a config digest', () => {
    fc.assert(
      fc.property(fc.constantFrom(...manifests), mutationArb, (doc, mutations) => {
        const m = returnsOrThrowsValidationError(() => parseManifest(JSON.stringify(mutate(doc, mutations)) ?? 'null'));
        if (!m) return;
        if (m.kind === 'index') assert.ok(Array.isArray(m.manifests));
        else assert.match(m.config.digest, /^sha(256|384|512):[a-f0-9]+$/);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('malformed scan findings never pass image.scan', () => {
  const helm = { driver: 'helm', release: 'p', chart: 'repo/chart', version: '1.0.0' };
  const cfg = parseConfig({
    services: {
      p: { repository: 'r', imagePolicy: { maxFindings: { CRITICAL: 0, HIGH: 0, UNTRIAGED: 0 } }, stages: [{ name: 'dev', cluster: 'dev', namespace: 'p', deploy: helm }] },
    },
    clusters: { dev: { name: 'dev-eks', region: 'eu-west-2' } },
  });
  const policy = (cfg.services.p as NonNullable<(typeof cfg.services)[string]>).imagePolicy;
  const NOW = new Date('2026-11-24T10:00:00Z');
  const allowedToPass = new Set(['MEDIUM', 'LOW', 'INFORMATIONAL', 'UNDEFINED']);

  it('a PASS means a finished scan whose every finding has a known severity under the limits', () => {
    fc.assert(
      fc.property(fc.constantFrom(...findingPages), mutationArb, (doc, mutations) => {
        const page = returnsOrThrowsValidationError(() => parseScanFindingsPage(mutate(doc, mutations)));
        if (!page) return;
        const verdict = evaluateScan(policy, { status: page.status ?? 'UNKNOWN', findings: page.findings }, NOW, undefined);
        if (verdict.kind !== 'decided' || verdict.gate.result !== 'PASS') return;
        assert.ok(['COMPLETE', 'ACTIVE'].includes(page.status ?? ''), `PASS on status ${page.status}`);
        for (const f of page.findings) assert.ok(allowedToPass.has(f.severity.toUpperCase()), `PASS with a ${f.severity} finding`);
      }),
      { numRuns: RUNS * 2 },
    );
  });
});

describe('signature checks on arbitrary input', () => {
  const kp = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const key = loadPublicKey('release-key', kp.publicKey.export({ type: 'spki', format: 'pem' }).toString());

  it('never throw, and never verify a signature that was not made over those bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.oneof(fc.string(), fc.base64String()), (payload, signature) => {
        const check = checkCosignSignature(payload, signature, DIGEST, [key]);
        assert.notEqual(check.outcome, 'verified');
      }),
      { numRuns: RUNS },
    );
  });

  it('never verify a real signature once any one of its bytes is changed', () => {
    const payload = new TextEncoder().encode(JSON.stringify(payloads[1]));
    const good = cosignSign(kp.privateKey, payload);
    fc.assert(
      fc.property(fc.nat({ max: good.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, flip) => {
        const bad = Buffer.from(good);
        bad[at] = (bad[at] as number) ^ flip;
        assert.notEqual(checkCosignSignature(payload, bad.toString('base64'), DIGEST, [key]).outcome, 'verified');
      }),
      { numRuns: RUNS },
    );
  });
});
