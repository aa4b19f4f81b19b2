/**
 * The local runtime's anchor signing key (decision 048): a real P-256 key, so `gantry simulate` signs each
 * finished release exactly as KMS would (ECDSA_SHA_256, DER) and the whole path — sign, export, verify with the
 * public key — runs locally. It is derived from a fixed, published seed: every simulation (and every replay of a
 * local Gantry, cli/backends/local-backend.ts) has the same key. It is NOT a secret and proves nothing outside a
 * simulation: its key id `local:<fingerprint>` says so.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign } from 'node:crypto';
import { AnchorSigningError, keyFingerprint } from '../lambdas/domain/audit/signature';
import type { AnchorSigner } from '../lambdas/ports';

/** The published seed of the local key (sha256 of it is the private scalar). */
export const LOCAL_ANCHOR_KEY_SEED = 'gantry-simulate-anchor-key-v1 (public: for simulations only)';

export interface LocalAnchorKey {
  readonly keyId: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly publicKeyPem: string;
}

let cached: LocalAnchorKey | undefined;

/** The local key: an EC P-256 private key in SEC1 DER (version 1, the scalar, the curve prime256v1). */
export function localAnchorKey(): LocalAnchorKey {
  if (cached) return cached;
  const d = createHash('sha256').update(LOCAL_ANCHOR_KEY_SEED).digest();
  const der = Buffer.concat([Buffer.from('30310201010420', 'hex'), d, Buffer.from('a00a06082a8648ce3d030107', 'hex')]);
  const privateKey = createPrivateKey({ key: der, format: 'der', type: 'sec1' });
  const publicKey = createPublicKey(privateKey);
  cached = { keyId: `local:${keyFingerprint(publicKey)}`, privateKey, publicKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
  return cached;
}

/** kms:Sign as the local cloud answers it; `check` raises the scenario's faults (a disabled key, throttling). */
export function localAnchorSigner(check: () => void = () => {}): AnchorSigner {
  const key = localAnchorKey();
  return {
    keyId: key.keyId,
    async sign(message: Uint8Array): Promise<string> {
      try {
        check();
      } catch (e) {
        const name = (e as Error).name;
        if (name === 'DisabledException' || name === 'KMSInvalidStateException' || name === 'AccessDeniedException') {
          throw new AnchorSigningError(`kms:Sign with ${key.keyId} refused: ${name}: ${(e as Error).message}`, `kms:${name}`, { cause: e });
        }
        throw e;
      }
      return sign('sha256', message, { key: key.privateKey, dsaEncoding: 'der' }).toString('base64');
    },
  };
}
