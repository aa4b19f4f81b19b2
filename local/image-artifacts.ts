/**
 * What the local cloud's ECR serves for a scenario image: real OCI documents (image manifest or
 * index, image config with the scenario's labels, one layer) and real cosign signature artifacts
 * made with real keys — so the image gates run exactly the parsing and cryptography they run
 * against ECR. Also the scenario's signing keys (`keys: { name: "generate" }`).
 *
 * Blobs are content-addressed (their digest is the sha256 of their bytes); manifest digests are the
 * scenario's own (a scenario names its images by digest), as ECR's API is trusted for those.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { type GantryConfig, parseConfig } from '../lambdas/domain/config';
import { MEDIA_TYPES, sha256Digest } from '../lambdas/domain/image/oci';
import { COSIGN_SIGNATURE_ANNOTATION, cosignSignatureTag } from '../lambdas/domain/image/signature';
import type { ScenarioImage, ScenarioPlatform, ScenarioSignature } from './scenario';

// ---------------------------------------------------------------- keys

export interface LocalSigningKey {
  readonly name: string;
  readonly privateKey: KeyObject;
  /** SPKI PEM: what replaces the config's signing key of this name. */
  readonly publicPem: string;
}

/** The scenario's signing keys: "generate" → a fresh ECDSA P-256 pair (as `cosign generate-key-pair`); a PEM → that private key. */
export function scenarioSigningKeys(keys: Readonly<Record<string, string>>): Map<string, LocalSigningKey> {
  const out = new Map<string, LocalSigningKey>();
  for (const [name, spec] of Object.entries(keys)) {
    const privateKey = spec === 'generate' ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey : createPrivateKey({ key: spec, format: 'pem' });
    const publicPem = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
    out.set(name, { name, privateKey, publicPem });
  }
  return out;
}

/**
 * The config with each signing key the scenario holds replaced by the local cloud's public half.
 * Keys the config does not define stay unknown to Gantry (a stranger's key). The config is frozen:
 * this builds and validates a new one.
 */
export function withScenarioKeys(config: GantryConfig, keys: ReadonlyMap<string, LocalSigningKey>): GantryConfig {
  const replaced = [...keys.values()].filter((k) => k.name in config.signing.keys);
  if (replaced.length === 0) return config;
  const raw = structuredClone(config) as { signing: { keys: Record<string, string> } };
  for (const k of replaced) raw.signing.keys[k.name] = k.publicPem;
  return parseConfig(raw, "config (with the scenario's generated signing keys)");
}

/** Sign as cosign does: ECDSA (DER) over the payload with SHA-256; Ed25519 over the message; RSA PKCS#1 v1.5. */
export function cosignSign(key: KeyObject, payload: Uint8Array): Buffer {
  if (key.asymmetricKeyType === 'ed25519') return sign(null, payload, key);
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const hash = curve === 'secp384r1' ? 'sha384' : curve === 'secp521r1' ? 'sha512' : 'sha256';
    return sign(hash, payload, { key, dsaEncoding: 'der' });
  }
  return sign('sha256', payload, key);
}

// ---------------------------------------------------------------- documents

export interface StoredManifest {
  readonly mediaType: string;
  readonly text: string;
}

export interface BuiltImage {
  /** digest → manifest: the image's own (manifest or index), its platforms', its signature artifacts'. */
  readonly manifests: Map<string, StoredManifest>;
  /** Signature tags (`sha256-<hex>.sig`) → the signature manifest's digest. */
  readonly tags: Map<string, string>;
  /** digest → bytes: configs, layers, signature payloads. */
  readonly blobs: Map<string, Uint8Array>;
  /** Platform manifest digest → the scenario's platform entry. */
  readonly platforms: Map<string, ScenarioPlatform>;
}

const EMPTY_CONFIG = new TextEncoder().encode('{}');

/** The digest a platform image of a multi-arch scenario image has when the scenario does not name one. */
export function platformDigest(imageDigest: string, p: Pick<ScenarioPlatform, 'platform' | 'digest'>): string {
  return p.digest ?? `sha256:${createHash('sha256').update(`${imageDigest}|${p.platform}`).digest('hex')}`;
}

function bytes(json: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(json));
}

function descriptor(mediaType: string, content: Uint8Array, digest = sha256Digest(content)) {
  return { mediaType, digest, size: content.byteLength };
}

export interface BuildContext {
  readonly repository: string;
  /** `<account>.dkr.ecr.<region>.amazonaws.com` */
  readonly registry: string;
  readonly keys: ReadonlyMap<string, LocalSigningKey>;
  /** When the image was built (its config's `created`) if the labels do not say. */
  readonly created: string;
}

/** Every document and blob the local ECR serves for one scenario image. */
export function buildImage(image: ScenarioImage, ctx: BuildContext): BuiltImage {
  const built: BuiltImage = { manifests: new Map(), tags: new Map(), blobs: new Map(), platforms: new Map() };

  const imageManifest = (subject: string, labels: Readonly<Record<string, string>>, platform: string): string => {
    const [os = 'linux', architecture = 'amd64', variant] = platform.split('/');
    const layer = new TextEncoder().encode(`layer of ${ctx.repository}@${subject}`);
    const config = bytes({
      created: labels['org.opencontainers.image.created'] ?? ctx.created,
      architecture,
      os,
      ...(variant ? { variant } : {}),
      config: { Labels: labels },
      rootfs: { type: 'layers', diff_ids: [sha256Digest(layer)] },
    });
    const cfg = descriptor(MEDIA_TYPES.ociConfig, config);
    const lyr = descriptor('application/vnd.oci.image.layer.v1.tar+gzip', layer);
    built.blobs.set(cfg.digest, config);
    built.blobs.set(lyr.digest, layer);
    return JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: cfg, layers: [lyr] });
  };

  const signatureArtifact = (subject: string, sig: ScenarioSignature | undefined) => {
    if (!sig || sig.state === 'missing') return;
    const key = ctx.keys.get(sig.key);
    if (!key) throw new Error(`the local cloud holds no signing key ${sig.key}`);
    const payload = bytes({
      critical: {
        identity: { 'docker-reference': `${ctx.registry}/${ctx.repository}` },
        image: { 'docker-manifest-digest': sig.forDigest ?? subject },
        type: 'cosign container image signature',
      },
      optional: null,
    });
    const signature = cosignSign(key.privateKey, payload);
    // "invalid": the signature's last byte flipped — still well-formed DER, no longer a signature of this payload.
    if (sig.state === 'invalid') signature[signature.length - 1] = (signature[signature.length - 1] as number) ^ 0x01;
    const layer = { ...descriptor(MEDIA_TYPES.cosignSimpleSigning, payload), annotations: { [COSIGN_SIGNATURE_ANNOTATION]: signature.toString('base64') } };
    built.blobs.set(layer.digest, payload);
    built.blobs.set(sha256Digest(EMPTY_CONFIG), EMPTY_CONFIG);
    const text = JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: descriptor(MEDIA_TYPES.ociConfig, EMPTY_CONFIG), layers: [layer] });
    const digest = sha256Digest(text);
    built.manifests.set(digest, { mediaType: MEDIA_TYPES.ociManifest, text });
    built.tags.set(cosignSignatureTag(subject), digest);
  };

  if (image.platforms?.length) {
    const entries = image.platforms.map((p) => {
      const digest = platformDigest(image.digest, p);
      const text = imageManifest(digest, p.labels ?? image.labels, p.platform);
      built.manifests.set(digest, { mediaType: MEDIA_TYPES.ociManifest, text });
      built.platforms.set(digest, p);
      signatureArtifact(digest, p.signature);
      const [os = 'linux', architecture = 'amd64', variant] = p.platform.split('/');
      return { mediaType: MEDIA_TYPES.ociManifest, digest, size: Buffer.byteLength(text), platform: { architecture, os, ...(variant ? { variant } : {}) } };
    });
    built.manifests.set(image.digest, { mediaType: MEDIA_TYPES.ociIndex, text: JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: entries }) });
  } else {
    built.manifests.set(image.digest, { mediaType: MEDIA_TYPES.ociManifest, text: imageManifest(image.digest, image.labels, 'linux/amd64') });
  }
  signatureArtifact(image.digest, image.signature);
  return built;
}
