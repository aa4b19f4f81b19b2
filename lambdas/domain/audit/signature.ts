/**
 * Signed anchors (docs/decisions/048-signed-anchors.md): what Gantry signs when a release reaches its end,
 * and the offline check of a signature with the signing key's public half.
 *
 * The signed message is the canonical JSON (RFC 8785, ../canonical.ts) of
 *   { releaseId, version, lastHash }
 * where `version` and `lastHash` are the seq and hash of the release's `release.finished` event. A lease
 * the reconciler frees after the end (`lease.released`) follows the signed event and is not covered: the
 * verifier says so, and the chain still links it to the signed event.
 *
 * The signature is ECDSA over P-256 with SHA-256 (KMS `ECDSA_SHA_256`, a DER-encoded signature, base64 in
 * the export). Pure: node:crypto verifies, nothing here reads a key store or a clock.
 */
import { createHash, createPublicKey, type KeyObject, verify as cryptoVerify } from 'node:crypto';
import { canonicalJson } from '../canonical';

/** The only signing algorithm Gantry uses (KMS SigningAlgorithm). */
export const ANCHOR_SIGNING_ALGORITHM = 'ECDSA_SHA_256';
/** The metric a failed signing counts (namespace Gantry, no dimension); the stack alarms on it. */
export const ANCHOR_SIGNATURES_FAILED_METRIC = 'AnchorSignaturesFailed';
/** The insight chain's pseudo release id in a signed anchor (its daily head is signed like a release's end). */
export const INSIGHT_ANCHOR_ID = 'insight';

/** The signature item's subject of the insight chain's record `seq` (a release's subject is its id). */
export function insightSignatureSubject(seq: number): string {
  return `${INSIGHT_ANCHOR_ID}#${String(seq).padStart(6, '0')}`;
}

/** What an anchor signature covers. */
export interface SignedAnchor {
  readonly releaseId: string;
  /** seq of the signed event (a release's `release.finished`; the insight chain's head). */
  readonly version: number;
  /** hash of the signed event. */
  readonly lastHash: string;
}

/** A signature as the ledger keeps it and an export's anchor line carries it (`signature`). */
export interface AnchorSignature {
  /** The KMS key (its ARN; `local:<fingerprint>` in `gantry simulate`). */
  readonly keyId: string;
  readonly algorithm: typeof ANCHOR_SIGNING_ALGORITHM;
  /** The DER-encoded ECDSA signature, base64. */
  readonly value: string;
  readonly signedAt: string;
  /** What was signed (equal to the anchor's own fields unless events followed the signed one). */
  readonly version: number;
  readonly lastHash: string;
}

/** The bytes signed for an anchor. */
export function anchorMessage(anchor: SignedAnchor): Buffer {
  return Buffer.from(canonicalJson({ releaseId: anchor.releaseId, version: anchor.version, lastHash: anchor.lastHash }), 'utf8');
}

/** The signing key cannot sign (a permanent refusal, e.g. KMS DisabledException); `outcome` names it (`kms:DisabledException`). */
export class AnchorSigningError extends Error {
  override readonly name = 'AnchorSigningError';
  constructor(
    message: string,
    readonly outcome: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A public key given to the verifier that is not a usable P-256 public key. */
export class PublicKeyError extends Error {
  override readonly name = 'PublicKeyError';
}

/**
 * A PEM (SPKI) or DER public key as a KeyObject, checked to be an EC P-256 key.
 * @throws PublicKeyError naming what was wrong
 */
export function parsePublicKey(key: string | Uint8Array, what = 'the public key'): KeyObject {
  let k: KeyObject;
  try {
    k = typeof key === 'string' ? createPublicKey(key) : createPublicKey({ key: Buffer.from(key), format: 'der', type: 'spki' });
  } catch (e) {
    throw new PublicKeyError(`${what} is not a PEM or DER public key (${(e as Error).message})`);
  }
  const curve = k.asymmetricKeyDetails?.namedCurve;
  if (k.asymmetricKeyType !== 'ec' || (curve !== 'prime256v1' && curve !== 'P-256')) {
    throw new PublicKeyError(`${what} is a ${k.asymmetricKeyType ?? 'unknown'}${curve ? ` ${curve}` : ''} key; anchors are signed with an ECC_NIST_P256 (EC prime256v1) key`);
  }
  return k;
}

/** Whether `value` (base64 DER) is a valid signature of the anchor by `publicKey`. False for anything malformed. */
export function verifyAnchorSignature(anchor: SignedAnchor, value: string, publicKey: KeyObject): boolean {
  try {
    return cryptoVerify('sha256', anchorMessage(anchor), { key: publicKey, dsaEncoding: 'der' }, Buffer.from(value, 'base64'));
  } catch {
    return false;
  }
}

/** The fields of a signature object as read from an export (checked here, not trusted). */
export function readSignature(value: unknown): { signature?: AnchorSignature; problem?: string } {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) return { problem: 'the signature is not an object' };
  const s = value as Record<string, unknown>;
  const wrong: string[] = [];
  if (typeof s.keyId !== 'string' || s.keyId === '') wrong.push('keyId (a key id or ARN)');
  if (s.algorithm !== ANCHOR_SIGNING_ALGORITHM) wrong.push(`algorithm (${ANCHOR_SIGNING_ALGORITHM})`);
  if (typeof s.value !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(s.value)) wrong.push('value (base64)');
  if (typeof s.signedAt !== 'string' || Number.isNaN(Date.parse(s.signedAt))) wrong.push('signedAt (an ISO-8601 instant)');
  if (typeof s.version !== 'number' || !Number.isInteger(s.version) || s.version < 1) wrong.push('version (the signed seq)');
  if (typeof s.lastHash !== 'string' || !/^[0-9a-f]{64}$/.test(s.lastHash)) wrong.push('lastHash (64 hex digits)');
  if (wrong.length) return { problem: `the signature is not well-formed: expected ${wrong.join(', ')}` };
  return { signature: s as unknown as AnchorSignature };
}

/** A short fingerprint of a public key (sha256 of its DER SPKI, first 16 hex digits): how a local key is named. */
export function keyFingerprint(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}
