/**
 * Cosign verification with real cryptography: keys made here, payloads signed here, and the real
 * cosign samples. Every refusal has its own reason.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'vitest';
import { parseManifest } from '../../lambdas/domain/image/oci';
import {
  checkCosignSignature,
  cosignSignatureLayers,
  cosignSignatureTag,
  decodeBase64Strict,
  evaluateSignature,
  loadPublicKey,
  type NamedKey,
  parseSimpleSigningPayload,
  type SignatureCheck,
  type SignatureSubject,
  SigningKeyError,
  signatureKeysUnusable,
} from '../../lambdas/domain/image/signature';
import { ValidationError } from '../../lambdas/domain/validation';
import { cosignSign } from '../../local/image-artifacts';

const SAMPLES = path.join(__dirname, '../fixtures/aws-samples');
const DIGEST = `sha256:${'2'.repeat(64)}`;
const OTHER = `sha256:${'3'.repeat(64)}`;

function pair(type: 'p256' | 'p384' | 'ed25519' | 'rsa'): { priv: KeyObject; pem: string } {
  const kp =
    type === 'p256'
      ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
      : type === 'p384'
        ? generateKeyPairSync('ec', { namedCurve: 'secp384r1' })
        : type === 'ed25519'
          ? generateKeyPairSync('ed25519')
          : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { priv: kp.privateKey, pem: kp.publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

function payloadFor(digest: string): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': '111122223333.dkr.ecr.eu-west-2.amazonaws.com/payments-api' },
        image: { 'docker-manifest-digest': digest },
        type: 'cosign container image signature',
      },
      optional: null,
    }),
  );
}

const release = pair('p256');
const ci = pair('p256');
const stranger = pair('p256');
const trusted: NamedKey[] = [loadPublicKey('release-key', release.pem)];
const known: NamedKey[] = [loadPublicKey('ci-key', ci.pem)];

describe('checkCosignSignature', () => {
  it('verifies a P-256 signature by a trusted key over the payload that names the release digest', () => {
    const payload = payloadFor(DIGEST);
    const sig = cosignSign(release.priv, payload).toString('base64');

    assert.deepEqual(checkCosignSignature(payload, sig, DIGEST, trusted, known), { outcome: 'verified', key: 'release-key', signedDigest: DIGEST });
  });

  for (const type of ['p384', 'ed25519', 'rsa'] as const) {
    it(`verifies a ${type} signature with a ${type} key`, () => {
      const k = pair(type);
      const payload = payloadFor(DIGEST);

      const check = checkCosignSignature(payload, cosignSign(k.priv, payload).toString('base64'), DIGEST, [loadPublicKey('k', k.pem)]);

      assert.equal(check.outcome, 'verified');
    });
  }

  it('refuses a signature whose bytes were altered as bad, not as an untrusted key', () => {
    const payload = payloadFor(DIGEST);
    const sig = cosignSign(release.priv, payload);
    sig[sig.length - 1] = (sig[sig.length - 1] as number) ^ 0x01;

    assert.deepEqual(checkCosignSignature(payload, sig.toString('base64'), DIGEST, trusted, known), { outcome: 'bad-signature' });
  });

  it('refuses a valid signature over an altered payload', () => {
    const sig = cosignSign(release.priv, payloadFor(DIGEST)).toString('base64');
    const altered = payloadFor(OTHER);

    assert.equal(checkCosignSignature(altered, sig, DIGEST, trusted, known).outcome, 'bad-signature');
  });

  it('names the known but untrusted key that made a signature', () => {
    const payload = payloadFor(DIGEST);

    const check = checkCosignSignature(payload, cosignSign(ci.priv, payload).toString('base64'), DIGEST, trusted, known);

    assert.deepEqual(check, { outcome: 'untrusted-key', key: 'ci-key', signedDigest: DIGEST });
  });

  it('refuses a signature by a key Gantry does not know at all, since no key it has verifies it', () => {
    const payload = payloadFor(DIGEST);

    assert.equal(checkCosignSignature(payload, cosignSign(stranger.priv, payload).toString('base64'), DIGEST, trusted, known).outcome, 'bad-signature');
  });

  it('refuses a trusted signature whose payload names another digest, naming that digest', () => {
    const payload = payloadFor(OTHER);

    assert.deepEqual(checkCosignSignature(payload, cosignSign(release.priv, payload).toString('base64'), DIGEST, trusted), {
      outcome: 'wrong-digest',
      key: 'release-key',
      signedDigest: OTHER,
    });
  });

  it('calls an annotation that is not base64 malformed', () => {
    assert.equal(checkCosignSignature(payloadFor(DIGEST), 'not base64!', DIGEST, trusted).outcome, 'malformed');
    assert.equal(checkCosignSignature(payloadFor(DIGEST), '', DIGEST, trusted).outcome, 'malformed');
  });

  it('calls a trusted signature over something that is not a simple-signing payload malformed', () => {
    const payload = new TextEncoder().encode('{"hello": "world"}');

    const check = checkCosignSignature(payload, cosignSign(release.priv, payload).toString('base64'), DIGEST, trusted);

    assert.equal(check.outcome, 'malformed');
    assert.match((check as Extract<SignatureCheck, { outcome: 'malformed' }>).detail, /critical: expected object/);
  });

  it('does not verify the real cosign sample with a key that did not make it', () => {
    const manifest = parseManifest(readFileSync(path.join(SAMPLES, 'cosign-signature-manifest.constructed.json'), 'utf8'));
    assert.ok(manifest.kind === 'manifest');
    const [layer] = cosignSignatureLayers(manifest);
    assert.ok(layer);

    assert.equal(checkCosignSignature(payloadFor(DIGEST), layer.signature, DIGEST, trusted).outcome, 'bad-signature');
  });
});

describe('cosign artifacts', () => {
  it('names the signature tag after the digest, as cosign does', () => {
    assert.equal(cosignSignatureTag(`sha256:${'48a84a07'.repeat(8)}`), `sha256-${'48a84a07'.repeat(8)}.sig`);
  });

  it('matches the signature tag of the real ListImages sample', () => {
    const ids = JSON.parse(readFileSync(path.join(SAMPLES, 'ecr-list-images-cosign-sig-tag-thirdparty.json'), 'utf8')).imageIds as Array<{ imageDigest: string; imageTag: string }>;
    const subject = ids.find((i) => i.imageTag === 'latest')?.imageDigest as string;

    assert.ok(ids.some((i) => i.imageTag === cosignSignatureTag(subject)));
  });

  it('refuses to name a signature tag for something that is not a sha256 digest', () => {
    assert.throws(() => cosignSignatureTag('sha256:abc'), ValidationError);
  });

  it('reads the spec’s payload, whose digest key is spelled Docker-manifest-digest', () => {
    const p = parseSimpleSigningPayload(readFileSync(path.join(SAMPLES, 'cosign-simplesigning-payload-spec-example.json')));

    assert.deepEqual(p, { dockerManifestDigest: 'sha256:20be...fe55', dockerReference: 'testing/manifest', type: 'cosign container image signature' });
  });

  it('refuses a payload without the signed digest', () => {
    assert.throws(
      () => parseSimpleSigningPayload('{"critical": {"image": {}, "type": "cosign container image signature"}}'),
      (e: unknown) => e instanceof ValidationError && /docker-manifest-digest/.test(e.problems[0] ?? ''),
    );
  });

  it('decodes strict base64 only', () => {
    assert.deepEqual(decodeBase64Strict('aGk='), Buffer.from('hi'));
    assert.equal(decodeBase64Strict('aGk'), undefined);
    assert.equal(decodeBase64Strict('a$Gk='), undefined);
  });

  it('refuses a key that is not a PEM public key, naming it', () => {
    assert.throws(
      () => loadPublicKey('release-key', '-----BEGIN PUBLIC KEY-----\n…'),
      (e: unknown) => e instanceof SigningKeyError && /signing key release-key is not a PEM public key/.test(e.message),
    );
  });
});

describe('evaluateSignature', () => {
  const subject = (checks: SignatureCheck[], extra: Partial<SignatureSubject> = {}): SignatureSubject => ({
    digest: DIGEST,
    signatureTag: cosignSignatureTag(DIGEST),
    signatureManifestDigest: OTHER,
    checks: checks.map((check, i) => ({ payloadDigest: `sha256:${String(i).repeat(64)}`, check })),
    ...extra,
  });
  const evaluate = (s: SignatureSubject, platforms?: SignatureSubject[]) => evaluateSignature({ subject: s, ...(platforms ? { platforms } : {}), trustedKeys: ['release-key'] });

  it('passes a verified signature and names the key', () => {
    const gate = evaluate(subject([{ outcome: 'verified', key: 'release-key', signedDigest: DIGEST }]));

    assert.equal(gate.result, 'PASS');
    assert.equal(gate.reason, `cosign signature by release-key verified for ${DIGEST}`);
  });

  it('passes when any one of several signatures verifies', () => {
    const gate = evaluate(subject([{ outcome: 'bad-signature' }, { outcome: 'verified', key: 'release-key', signedDigest: DIGEST }]));

    assert.equal(gate.result, 'PASS');
  });

  it('gives each refusal its own reason', () => {
    const reasons = [
      evaluate(subject([], { signatureManifestDigest: undefined })),
      evaluate(subject([{ outcome: 'bad-signature' }])),
      evaluate(subject([{ outcome: 'untrusted-key', key: 'ci-key', signedDigest: DIGEST }])),
      evaluate(subject([{ outcome: 'wrong-digest', key: 'release-key', signedDigest: OTHER }])),
      evaluate(subject([], { malformed: 'it is an image index, not a signature manifest' })),
    ].map((g) => {
      assert.equal(g.result, 'FAIL');
      return g.reason;
    });

    assert.match(reasons[0] ?? '', /^no cosign signature for sha256:2{64} \(looked for tag sha256-2{64}\.sig\)$/);
    assert.match(reasons[1] ?? '', /does not verify with trusted key release-key: the signature or its payload was altered/);
    assert.match(reasons[2] ?? '', /was made by signing key ci-key, which this service does not trust \(trusted: release-key\)/);
    assert.match(reasons[3] ?? '', /is for sha256:3{64}, not for sha256:2{64} \(a signature of another image\)/);
    assert.match(reasons[4] ?? '', /is malformed: it is an image index/);
    assert.equal(new Set(reasons.map((r) => r.replace(/sha256[-:][0-9a-f]+/g, ''))).size, 5);
  });

  it('passes an unsigned index whose every platform manifest is signed by a trusted key', () => {
    const amd = subject([{ outcome: 'verified', key: 'release-key', signedDigest: OTHER }], { digest: OTHER, platform: 'linux/amd64' });
    const arm = subject([{ outcome: 'verified', key: 'release-key', signedDigest: OTHER }], { digest: OTHER, platform: 'linux/arm64' });

    const gate = evaluate(subject([], { signatureManifestDigest: undefined }), [amd, arm]);

    assert.equal(gate.result, 'PASS');
    assert.match(gate.reason, /all 2 platform manifests carry a cosign signature by release-key/);
  });

  it('refuses an unsigned index when one platform manifest is unsigned, naming it', () => {
    const amd = subject([{ outcome: 'verified', key: 'release-key', signedDigest: OTHER }], { platform: 'linux/amd64' });
    const arm = subject([], { platform: 'linux/arm64', signatureManifestDigest: undefined });

    const gate = evaluate(subject([], { signatureManifestDigest: undefined }), [amd, arm]);

    assert.equal(gate.result, 'FAIL');
    assert.match(gate.reason, /platform manifests not verified either: linux\/arm64$/);
  });

  it('records a Notation signature or ECR managed signing as evidence in the refusal, unverified', () => {
    const gate = evaluateSignature({
      subject: subject([], { signatureManifestDigest: undefined }),
      trustedKeys: ['release-key'],
      notation: [{ digest: OTHER, artifactType: 'application/vnd.cncf.notary.signature' }],
      managedSigning: [{ signingProfileArn: 'arn:aws:signer:us-east-2:123456789012:/signing-profiles/ReleaseSigning', status: 'COMPLETE' }],
    });

    assert.equal(gate.result, 'FAIL');
    assert.match(gate.reason, /1 Notation signature\(s\) found, which Gantry records but does not verify/);
    assert.match(gate.reason, /ECR managed signing reports COMPLETE for arn:aws:signer:us-east-2:123456789012:\/signing-profiles\/ReleaseSigning/);
  });

  it('refuses when no trusted key can be used, saying why', () => {
    const gate = signatureKeysUnusable(['release-key'], [{ key: 'release-key', reason: 'signing key release-key is not a PEM public key' }]);

    assert.equal(gate.result, 'FAIL');
    assert.equal(gate.reason, 'no trusted signing key can be used: signing key release-key is not a PEM public key');
  });
});
