/**
 * Cosign signature verification with node:crypto: the `sha256-<hex>.sig` artifact's simple-signing
 * payload layers, each carrying its base64 signature in the `dev.cosignproject.cosign/signature`
 * annotation. A signature counts only if it verifies over the exact payload bytes with a key the
 * service trusts AND the payload's `critical.image.docker-manifest-digest` is the release's digest.
 *
 * Pure: the caller fetches the artifacts and resolves the keys (PEM, or a KMS key's public half).
 */
import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import * as z from 'zod';
import type { GateResult } from '../types';
import { formatIssues, ValidationError } from '../validation';
import { type ImageManifestDoc, MEDIA_TYPES, parseJsonDocument, SHA256_DIGEST } from './oci';

export const COSIGN_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
/** A simple-signing payload is a few hundred bytes; anything this large is not one. */
export const MAX_PAYLOAD_BYTES = 256 * 1024;

/** A key could not be turned into a verifier (bad PEM, unsupported type, KMS refused). Not retried. */
export class SigningKeyError extends Error {
  override readonly name = 'SigningKeyError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The tag cosign stores a digest's signature under: `sha256:<hex>` → `sha256-<hex>.sig`. */
export function cosignSignatureTag(digest: string): string {
  if (!SHA256_DIGEST.test(digest)) throw new ValidationError('image digest', [`(root): expected sha256:<64 lowercase hex>, got ${JSON.stringify(digest)}`]);
  return `${digest.replace(':', '-')}.sig`;
}

// ---------------------------------------------------------------- keys

export interface NamedKey {
  readonly name: string;
  readonly key: KeyObject;
}

/** A PEM public key (SPKI) as a KeyObject. @throws SigningKeyError naming the key */
export function loadPublicKey(name: string, pem: string): NamedKey {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (e) {
    throw new SigningKeyError(`signing key ${name} is not a PEM public key (${(e as Error).message})`, { cause: e });
  }
  if (!['ec', 'rsa', 'ed25519'].includes(key.asymmetricKeyType ?? '')) {
    throw new SigningKeyError(`signing key ${name} is a ${key.asymmetricKeyType} key; cosign keys are ECDSA, RSA or Ed25519`);
  }
  return { name, key };
}

/** Whether a signing key reference names a KMS key rather than holding a PEM. */
export function isKmsKeyRef(ref: string): boolean {
  return /^arn:aws[a-z-]*:kms:/.test(ref);
}

/**
 * Verify a raw signature over `payload` with one key, the way cosign signs: ECDSA (DER) with the
 * curve's hash (P-256 → SHA-256, P-384 → SHA-384, P-521 → SHA-512), RSA PKCS#1 v1.5 with SHA-256,
 * Ed25519 over the message. Never throws: a signature that cannot even be parsed does not verify.
 */
export function verifyWithKey(key: KeyObject, payload: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (key.asymmetricKeyType === 'ed25519') return verify(null, payload, key, signature);
    if (key.asymmetricKeyType === 'rsa') return verify('sha256', payload, key, signature);
    if (key.asymmetricKeyType === 'ec') {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      const hash = curve === 'secp384r1' ? 'sha384' : curve === 'secp521r1' ? 'sha512' : 'sha256';
      return verify(hash, payload, { key, dsaEncoding: 'der' }, signature);
    }
    return false;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- the artifact

export interface SimpleSigningPayload {
  /** `critical.image.docker-manifest-digest` (matched case-insensitively: the spec writes `Docker-manifest-digest`). */
  readonly dockerManifestDigest: string;
  readonly dockerReference?: string;
  readonly type?: string;
}

const payloadSchema = z.looseObject({
  critical: z.looseObject({
    identity: z.looseObject({ 'docker-reference': z.string().optional() }).optional(),
    image: z.record(z.string(), z.unknown()),
    type: z.string().optional(),
  }),
  optional: z.unknown().optional(),
});

/** Parse a cosign simple-signing payload. @throws ValidationError (source "cosign payload") */
export function parseSimpleSigningPayload(input: Uint8Array | string): SimpleSigningPayload {
  const what = 'cosign payload';
  const raw = parseJsonDocument(input, what, MAX_PAYLOAD_BYTES);
  const r = payloadSchema.safeParse(raw);
  if (!r.success) throw new ValidationError(what, formatIssues(r.error.issues, raw));
  const entry = Object.entries(r.data.critical.image).find(([k]) => k.toLowerCase() === 'docker-manifest-digest');
  if (!entry || typeof entry[1] !== 'string' || entry[1].length === 0) {
    throw new ValidationError(what, [`critical.image["docker-manifest-digest"]: expected the signed image digest, got ${entry ? JSON.stringify(entry[1]) : 'nothing'}`]);
  }
  const ref = r.data.critical.identity?.['docker-reference'];
  return { dockerManifestDigest: entry[1], ...(ref ? { dockerReference: ref } : {}), ...(r.data.critical.type ? { type: r.data.critical.type } : {}) };
}

export interface CosignSignatureLayer {
  /** The payload blob's digest (the layer digest). */
  readonly payloadDigest: string;
  readonly payloadSize: number;
  /** Base64, as the annotation holds it. */
  readonly signature: string;
}

/** The simple-signing layers of a signature manifest that carry a signature annotation. */
export function cosignSignatureLayers(manifest: ImageManifestDoc): CosignSignatureLayer[] {
  return manifest.layers
    .filter((l) => l.mediaType === MEDIA_TYPES.cosignSimpleSigning && typeof l.annotations?.[COSIGN_SIGNATURE_ANNOTATION] === 'string')
    .map((l) => ({ payloadDigest: l.digest, payloadSize: l.size, signature: l.annotations?.[COSIGN_SIGNATURE_ANNOTATION] as string }));
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict base64 (the annotation's alphabet); undefined when it is not base64 or is empty. */
export function decodeBase64Strict(s: string): Buffer | undefined {
  const compact = s.trim();
  if (compact.length === 0 || !BASE64.test(compact)) return undefined;
  return Buffer.from(compact, 'base64');
}

// ---------------------------------------------------------------- one signature

export type SignatureCheck =
  /** Verified with a trusted key, for the release's digest. */
  | { readonly outcome: 'verified'; readonly key: string; readonly signedDigest: string }
  /** Verified with a trusted key, but the payload names another digest. */
  | { readonly outcome: 'wrong-digest'; readonly key: string; readonly signedDigest: string }
  /** Verified only with a key Gantry knows (signing.keys) that this service does not trust. */
  | { readonly outcome: 'untrusted-key'; readonly key: string; readonly signedDigest?: string }
  /** Verifies with no key Gantry knows: altered signature or payload, or an unknown key. */
  | { readonly outcome: 'bad-signature' }
  /** Not a signature at all: the annotation is not base64, or the signed payload is not simple signing. */
  | { readonly outcome: 'malformed'; readonly detail: string };

/**
 * Check one cosign signature. `trusted` are the keys the service's policy names; `others` the rest
 * of `signing.keys`, used only to say who signed when no trusted key verifies.
 */
export function checkCosignSignature(
  payload: Uint8Array,
  signatureBase64: string,
  releaseDigest: string,
  trusted: readonly NamedKey[],
  others: readonly NamedKey[] = [],
): SignatureCheck {
  const sig = decodeBase64Strict(signatureBase64);
  if (!sig) return { outcome: 'malformed', detail: `the ${COSIGN_SIGNATURE_ANNOTATION} annotation is not base64` };
  const byTrusted = trusted.find((k) => verifyWithKey(k.key, payload, sig));
  if (byTrusted) {
    let parsed: SimpleSigningPayload;
    try {
      parsed = parseSimpleSigningPayload(payload);
    } catch (e) {
      return { outcome: 'malformed', detail: `the signed payload is not a cosign simple-signing document: ${(e as ValidationError).problems?.join('; ') ?? (e as Error).message}` };
    }
    const signedDigest = parsed.dockerManifestDigest;
    if (signedDigest !== releaseDigest) return { outcome: 'wrong-digest', key: byTrusted.name, signedDigest };
    return { outcome: 'verified', key: byTrusted.name, signedDigest };
  }
  const byOther = others.find((k) => verifyWithKey(k.key, payload, sig));
  if (byOther) {
    let signedDigest: string | undefined;
    try {
      signedDigest = parseSimpleSigningPayload(payload).dockerManifestDigest;
    } catch {
      signedDigest = undefined;
    }
    return { outcome: 'untrusted-key', key: byOther.name, ...(signedDigest ? { signedDigest } : {}) };
  }
  return { outcome: 'bad-signature' };
}

// ---------------------------------------------------------------- the gate

/** What was found for one subject digest (the promoted digest, or one platform manifest of an index). */
export interface SignatureSubject {
  readonly digest: string;
  /** "linux/arm64" for a platform manifest of an index. */
  readonly platform?: string;
  readonly signatureTag: string;
  /** The signature manifest's digest; absent when no `.sig` artifact exists. */
  readonly signatureManifestDigest?: string;
  /** Set when the artifact exists but could not be read as a cosign signature. */
  readonly malformed?: string;
  readonly checks: ReadonlyArray<{ readonly payloadDigest: string; readonly check: SignatureCheck }>;
}

export interface SignatureEvidence {
  readonly subject: SignatureSubject;
  /** For an image index: the platform manifests, when the index itself carries no valid signature. */
  readonly platforms?: readonly SignatureSubject[];
  readonly trustedKeys: readonly string[];
  /** Trusted keys that could not be used, with why. */
  readonly unusableKeys?: ReadonlyArray<{ readonly key: string; readonly reason: string }>;
  /** Other signatures found when cosign's is missing (evidence only, not verified). */
  readonly notation?: ReadonlyArray<Record<string, unknown>>;
  readonly managedSigning?: ReadonlyArray<Record<string, unknown>>;
  /** Why the Notation / managed-signing lookups could not be made, if they could not. */
  readonly otherSignaturesUnavailable?: string;
}

const OUTCOME_RANK: Record<SignatureCheck['outcome'], number> = { verified: 0, 'wrong-digest': 1, 'untrusted-key': 2, 'bad-signature': 3, malformed: 4 };

/** The most favourable check of a subject (verified beats wrong digest beats untrusted …). */
export function bestCheck(subject: SignatureSubject): SignatureCheck | undefined {
  return [...subject.checks].map((c) => c.check).sort((a, b) => OUTCOME_RANK[a.outcome] - OUTCOME_RANK[b.outcome])[0];
}

function short(digest: string): string {
  return digest.length > 19 ? `${digest.slice(0, 19)}…` : digest;
}

/** Why a subject did not verify, in words an operator can act on. */
export function subjectProblem(s: SignatureSubject, trustedKeys: readonly string[]): string {
  const what = s.platform ? `platform ${s.platform} (${short(s.digest)})` : s.digest;
  if (!s.signatureManifestDigest) return `no cosign signature for ${what} (looked for tag ${s.signatureTag})`;
  if (s.malformed) return `the cosign signature artifact ${s.signatureTag} of ${what} is malformed: ${s.malformed}`;
  const best = bestCheck(s);
  if (!best) return `the cosign signature artifact ${s.signatureTag} of ${what} holds no signature layer`;
  const trusted = trustedKeys.join(', ');
  switch (best.outcome) {
    case 'verified':
      return `${what} is signed by ${best.key}`;
    case 'wrong-digest':
      return `the cosign signature by ${best.key} under ${s.signatureTag} is for ${best.signedDigest}, not for ${s.digest} (a signature of another image)`;
    case 'untrusted-key':
      return `the cosign signature of ${what} was made by signing key ${best.key}, which this service does not trust (trusted: ${trusted})`;
    case 'bad-signature':
      return `the cosign signature of ${what} does not verify with trusted key ${trusted}: the signature or its payload was altered, or it was made by a key Gantry does not know`;
    case 'malformed':
      return `the cosign signature of ${what} is malformed: ${best.detail}`;
  }
}

function verifiedBy(s: SignatureSubject): string | undefined {
  const b = bestCheck(s);
  return b?.outcome === 'verified' ? b.key : undefined;
}

function otherSignaturesNote(e: SignatureEvidence): string {
  const notes: string[] = [];
  if (e.notation?.length) notes.push(`${e.notation.length} Notation signature(s) found, which Gantry records but does not verify`);
  const complete = e.managedSigning?.filter((m) => m.status === 'COMPLETE') ?? [];
  if (complete.length)
    notes.push(`ECR managed signing reports COMPLETE for ${complete.map((m) => String(m.signingProfileArn ?? 'a profile')).join(', ')}, which Gantry records but does not verify`);
  return notes.length ? ` (${notes.join('; ')})` : '';
}

/**
 * image.signature. PASS when the promoted digest carries a cosign signature that verifies with a
 * trusted key and names that digest; for an image index whose own digest is not signed, PASS when
 * every platform manifest is (signing an index covers its platforms: the index pins their digests).
 */
export function evaluateSignature(e: SignatureEvidence): GateResult {
  const top = verifiedBy(e.subject);
  if (top) {
    return { gate: 'image.signature', result: 'PASS', reason: `cosign signature by ${top} verified for ${e.subject.digest}`, evidence: e };
  }
  if (e.platforms && e.platforms.length > 0 && e.platforms.every((p) => verifiedBy(p))) {
    const keys = [...new Set(e.platforms.map((p) => verifiedBy(p)))].join(', ');
    return {
      gate: 'image.signature',
      result: 'PASS',
      reason: `index ${short(e.subject.digest)} is not signed itself; all ${e.platforms.length} platform manifests carry a cosign signature by ${keys}`,
      evidence: e,
    };
  }
  const problems = [subjectProblem(e.subject, e.trustedKeys)];
  if (e.platforms && e.platforms.length > 0) {
    const unsigned = e.platforms.filter((p) => !verifiedBy(p));
    problems.push(`platform manifests not verified either: ${unsigned.map((p) => p.platform ?? p.digest).join(', ')}`);
  }
  if (e.unusableKeys?.length) problems.push(`unusable trusted key(s): ${e.unusableKeys.map((k) => `${k.key} (${k.reason})`).join(', ')}`);
  return { gate: 'image.signature', result: 'FAIL', reason: `${problems.join('; ')}${otherSignaturesNote(e)}`, evidence: e };
}

/** image.signature when no trusted key can be used at all: nothing can verify. */
export function signatureKeysUnusable(trustedKeys: readonly string[], unusable: ReadonlyArray<{ key: string; reason: string }>): GateResult {
  return {
    gate: 'image.signature',
    result: 'FAIL',
    reason: `no trusted signing key can be used: ${unusable.map((k) => k.reason).join('; ')}`,
    evidence: { trustedKeys, unusableKeys: unusable },
  };
}
