/**
 * OCI / Docker image documents as the registry returns them: image manifests, image indexes
 * (manifest lists), image configs. Pure parsers: bytes or text in, a typed document out, or a
 * ValidationError with one line per problem — never a TypeError, never a partial document.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';
import { formatIssues, ValidationError } from '../validation';

export const MEDIA_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  cosignSimpleSigning: 'application/vnd.dev.cosign.simplesigning.v1+json',
  notarySignature: 'application/vnd.cncf.notary.signature',
} as const;

export const INDEX_MEDIA_TYPES: readonly string[] = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerManifestList];
export const MANIFEST_MEDIA_TYPES: readonly string[] = [MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest];
/** What Gantry asks BatchGetImage for: indexes stay indexes, nothing is converted to schema 1. */
export const ACCEPTED_MANIFEST_MEDIA_TYPES: readonly string[] = [...INDEX_MEDIA_TYPES, ...MANIFEST_MEDIA_TYPES];
/** Config media types of runnable container images (anything else is an artifact: a chart, a signature, an SBOM). */
export const IMAGE_CONFIG_MEDIA_TYPES: readonly string[] = [MEDIA_TYPES.ociConfig, MEDIA_TYPES.dockerConfig];

/** The OCI distribution spec's limit for a manifest a registry must accept. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Image configs are small JSON documents; anything larger is refused rather than parsed. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

export const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;
const ANY_DIGEST = /^(sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$/;

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly artifactType?: string;
  readonly platform?: Platform;
}

export interface ImageIndex {
  readonly kind: 'index';
  readonly mediaType: string;
  readonly manifests: readonly Descriptor[];
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface ImageManifestDoc {
  readonly kind: 'manifest';
  readonly mediaType: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly artifactType?: string;
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

export type OciDocument = ImageIndex | ImageManifestDoc;

export interface ImageConfig {
  readonly created?: string;
  readonly os?: string;
  readonly architecture?: string;
  readonly variant?: string;
  /** `config.Labels` (Docker's key, kept by OCI); `{}` when the image has none. */
  readonly labels: Readonly<Record<string, string>>;
}

// ---------------------------------------------------------------- schemas

const annotations = z.record(z.string(), z.string());
const platform = z.looseObject({
  os: z.string().min(1),
  architecture: z.string().min(1),
  variant: z.string().min(1).optional(),
});
const descriptor = z.looseObject({
  mediaType: z.string().min(1, 'expected a media type'),
  digest: z.string().regex(ANY_DIGEST, 'expected a digest such as sha256:<64 hex>'),
  size: z.number().int('expected a size in bytes').min(0, 'expected a size in bytes'),
  annotations: annotations.optional(),
  artifactType: z.string().min(1).optional(),
  platform: platform.optional(),
});
const indexSchema = z.looseObject({
  schemaVersion: z.literal(2, { error: 'expected schemaVersion 2' }),
  mediaType: z.string().optional(),
  manifests: z.array(descriptor),
  annotations: annotations.optional(),
});
const manifestSchema = z.looseObject({
  schemaVersion: z.literal(2, { error: 'expected schemaVersion 2' }),
  mediaType: z.string().optional(),
  artifactType: z.string().min(1).optional(),
  config: descriptor,
  layers: z.array(descriptor),
  subject: descriptor.optional(),
  annotations: annotations.optional(),
});
const configSchema = z.looseObject({
  created: z.string().optional(),
  os: z.string().optional(),
  architecture: z.string().optional(),
  variant: z.string().optional(),
  config: z
    .looseObject({ Labels: z.record(z.string(), z.string()).nullable().optional() })
    .nullable()
    .optional(),
});

// ---------------------------------------------------------------- helpers

/** `sha256:<hex>` of some bytes: what a content-addressed blob's digest must be. */
export function sha256Digest(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Decode UTF-8 strictly and parse JSON; a ValidationError naming `what` otherwise. */
export function parseJsonDocument(input: Uint8Array | string, what: string, maxBytes: number): unknown {
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength;
  if (size > maxBytes) throw new ValidationError(what, [`(root): expected at most ${maxBytes} bytes, got ${size}`]);
  let text: string;
  if (typeof input === 'string') text = input;
  else {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch {
      throw new ValidationError(what, ['(root): expected UTF-8 text, got bytes that are not UTF-8']);
    }
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new ValidationError(what, [`(root): expected a JSON document, got text that does not parse (${(e as Error).message})`]);
  }
}

function parseWithSchema<S extends z.ZodType>(schema: S, raw: unknown, what: string): z.output<S> {
  const r = schema.safeParse(raw);
  if (!r.success) throw new ValidationError(what, formatIssues(r.error.issues, raw));
  return r.data;
}

function toDescriptor(d: z.output<typeof descriptor>): Descriptor {
  return {
    mediaType: d.mediaType,
    digest: d.digest,
    size: d.size,
    ...(d.annotations ? { annotations: d.annotations } : {}),
    ...(d.artifactType ? { artifactType: d.artifactType } : {}),
    ...(d.platform ? { platform: { os: d.platform.os, architecture: d.platform.architecture, ...(d.platform.variant ? { variant: d.platform.variant } : {}) } } : {}),
  };
}

// ---------------------------------------------------------------- manifests and indexes

/**
 * Parse an image manifest or an image index. The kind comes from the document's `mediaType`, else
 * from `mediaTypeHint` (ECR's `imageManifestMediaType`), else from its shape (`manifests` → index,
 * `config` → manifest). Docker schema 1 is refused: it carries no config digest.
 * @throws ValidationError (source "image manifest") for anything else.
 */
export function parseManifest(input: Uint8Array | string, mediaTypeHint?: string): OciDocument {
  const what = 'image manifest';
  const raw = parseJsonDocument(input, what, MAX_MANIFEST_BYTES);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ValidationError(what, [`(root): expected a JSON object, got ${Array.isArray(raw) ? 'an array' : JSON.stringify(raw)}`]);
  }
  const doc = raw as Record<string, unknown>;
  if (doc.schemaVersion === 1) throw new ValidationError(what, ['schemaVersion: expected 2 (Docker schema 1 manifests are not supported), got 1']);
  const declared = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  const mediaType = declared ?? mediaTypeHint;
  let kind: 'index' | 'manifest';
  if (mediaType && INDEX_MEDIA_TYPES.includes(mediaType)) kind = 'index';
  else if (mediaType && MANIFEST_MEDIA_TYPES.includes(mediaType)) kind = 'manifest';
  else if (mediaType && (mediaType === MEDIA_TYPES.dockerSchema1 || mediaType === MEDIA_TYPES.dockerSchema1Signed)) {
    throw new ValidationError(what, [`mediaType: expected an image manifest or index (Docker schema 1 is not supported), got ${JSON.stringify(mediaType)}`]);
  } else if (mediaType) {
    throw new ValidationError(what, [`mediaType: expected one of ${ACCEPTED_MANIFEST_MEDIA_TYPES.join(', ')}, got ${JSON.stringify(mediaType)}`]);
  } else if ('manifests' in doc) kind = 'index';
  else if ('config' in doc) kind = 'manifest';
  else throw new ValidationError(what, ['(root): expected an image manifest (config, layers) or an image index (manifests), got neither']);

  if (kind === 'index') {
    const idx = parseWithSchema(indexSchema, raw, what);
    return {
      kind,
      mediaType: mediaType ?? MEDIA_TYPES.ociIndex,
      manifests: idx.manifests.map(toDescriptor),
      ...(idx.annotations ? { annotations: idx.annotations } : {}),
    };
  }
  const m = parseWithSchema(manifestSchema, raw, what);
  return {
    kind,
    mediaType: mediaType ?? MEDIA_TYPES.ociManifest,
    config: toDescriptor(m.config),
    layers: m.layers.map(toDescriptor),
    ...(m.artifactType ? { artifactType: m.artifactType } : {}),
    ...(m.subject ? { subject: toDescriptor(m.subject) } : {}),
    ...(m.annotations ? { annotations: m.annotations } : {}),
  };
}

export function isIndexMediaType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && INDEX_MEDIA_TYPES.includes(mediaType);
}

/** "linux/arm64/v8", or "unknown" without a platform. */
export function platformName(p: Platform | undefined): string {
  if (!p) return 'unknown';
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/**
 * The runnable platform images of an index: image manifests with a real platform. BuildKit's
 * attestation manifests (`unknown/unknown`, `vnd.docker.reference.type: attestation-manifest`) and
 * nested indexes are not images a node would run.
 */
export function platformManifests(index: ImageIndex): Descriptor[] {
  return index.manifests.filter(
    (d) =>
      MANIFEST_MEDIA_TYPES.includes(d.mediaType) &&
      d.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest' &&
      !(d.platform?.os === 'unknown' && d.platform?.architecture === 'unknown'),
  );
}

/** Whether an image manifest is a runnable container image (its config is an image config). */
export function isContainerImage(m: ImageManifestDoc): boolean {
  return IMAGE_CONFIG_MEDIA_TYPES.includes(m.config.mediaType) && (m.artifactType === undefined || IMAGE_CONFIG_MEDIA_TYPES.includes(m.artifactType));
}

// ---------------------------------------------------------------- image config

/**
 * Parse an image config blob (OCI `application/vnd.oci.image.config.v1+json` or Docker's
 * `application/vnd.docker.container.image.v1+json`). Labels live at `config.Labels`; null or absent
 * means none.
 * @throws ValidationError (source "image config")
 */
export function parseImageConfig(input: Uint8Array | string): ImageConfig {
  const what = 'image config';
  const raw = parseJsonDocument(input, what, MAX_CONFIG_BYTES);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ValidationError(what, [`(root): expected a JSON object, got ${Array.isArray(raw) ? 'an array' : JSON.stringify(raw)}`]);
  }
  const c = parseWithSchema(configSchema, raw, what);
  return {
    ...(c.created !== undefined ? { created: c.created } : {}),
    ...(c.os !== undefined ? { os: c.os } : {}),
    ...(c.architecture !== undefined ? { architecture: c.architecture } : {}),
    ...(c.variant !== undefined ? { variant: c.variant } : {}),
    labels: { ...(c.config?.Labels ?? {}) },
  };
}
