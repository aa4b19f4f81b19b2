/**
 * image.labels: every `requiredLabels` entry must be present (non-empty) in the image config of
 * every platform image, and the OCI provenance labels are recorded as the release's provenance.
 */
import type { GateResult } from '../types';
import type { ImageConfig } from './oci';

export const PROVENANCE_LABELS = {
  revision: 'org.opencontainers.image.revision',
  source: 'org.opencontainers.image.source',
  created: 'org.opencontainers.image.created',
} as const;

/** Evidence keeps at most this many labels per platform, each value cut to MAX_LABEL_VALUE characters. */
const MAX_LABELS = 64;
const MAX_LABEL_VALUE = 256;

export interface PlatformImageConfig {
  /** "linux/amd64"; absent for a single-platform image. */
  readonly platform?: string;
  readonly manifestDigest: string;
  readonly configDigest: string;
  readonly config: ImageConfig;
}

export interface Provenance {
  readonly revision?: string;
  readonly source?: string;
  readonly created?: string;
  /** Where `created` came from: the OCI label, or the config's own `created` field when the label is absent. */
  readonly createdFrom?: 'label' | 'config';
  /** The platform the provenance was read from (multi-arch). */
  readonly platform?: string;
}

function present(labels: Readonly<Record<string, string>>, name: string): boolean {
  const v = labels[name];
  return typeof v === 'string' && v.trim().length > 0;
}

/** The release's provenance from the first platform (linux/amd64 preferred). */
export function provenanceOf(configs: readonly PlatformImageConfig[]): Provenance {
  const first = configs.find((c) => c.platform === 'linux/amd64') ?? configs[0];
  if (!first) return {};
  const l = first.config.labels;
  const created = present(l, PROVENANCE_LABELS.created) ? l[PROVENANCE_LABELS.created] : first.config.created;
  return {
    ...(present(l, PROVENANCE_LABELS.revision) ? { revision: l[PROVENANCE_LABELS.revision] } : {}),
    ...(present(l, PROVENANCE_LABELS.source) ? { source: l[PROVENANCE_LABELS.source] } : {}),
    ...(created ? { created, createdFrom: present(l, PROVENANCE_LABELS.created) ? ('label' as const) : ('config' as const) } : {}),
    ...(first.platform ? { platform: first.platform } : {}),
  };
}

function trimmedLabels(labels: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(labels)
      .sort(([a], [b]) => a.localeCompare(b))
      .slice(0, MAX_LABELS)
      .map(([k, v]) => [k, v.length > MAX_LABEL_VALUE ? `${v.slice(0, MAX_LABEL_VALUE)}…` : v]),
  );
}

function show(v: string | undefined): string {
  if (v === undefined) return '';
  return v.length > 40 ? `${v.slice(0, 40)}…` : v;
}

export function evaluateLabels(required: readonly string[], digest: string, configs: readonly PlatformImageConfig[]): GateResult {
  const gate = 'image.labels' as const;
  const provenance = provenanceOf(configs);
  const evidence = {
    digest,
    required: [...required],
    provenance,
    platforms: configs.map((c) => ({
      ...(c.platform ? { platform: c.platform } : {}),
      manifestDigest: c.manifestDigest,
      configDigest: c.configDigest,
      labels: trimmedLabels(c.config.labels),
      labelCount: Object.keys(c.config.labels).length,
    })),
  };
  if (configs.length === 0) return { gate, result: 'FAIL', reason: `no platform image to read labels from in ${digest}`, evidence };
  const multi = configs.length > 1 || configs[0]?.platform !== undefined;
  const missing: string[] = [];
  for (const name of required) {
    const lacking = configs.filter((c) => !present(c.config.labels, name));
    if (lacking.length === 0) continue;
    const empty = lacking.filter((c) => name in c.config.labels).length > 0 ? ' (present but empty)' : '';
    missing.push(multi ? `${name}${empty} on ${lacking.map((c) => c.platform ?? c.manifestDigest).join(', ')}` : `${name}${empty}`);
  }
  if (missing.length) return { gate, result: 'FAIL', reason: `missing required label(s): ${missing.join('; ')}`, evidence };
  const first = configs[0]?.config.labels ?? {};
  const values = required.map((n) => `${n}=${show(first[n])}`).join(', ');
  const where = multi ? ` on all ${configs.length} platform(s)` : '';
  const reason = required.length ? `${required.length} required label(s) present${where}: ${values}` : `no labels required${where}`;
  return { gate, result: 'PASS', reason, evidence };
}
