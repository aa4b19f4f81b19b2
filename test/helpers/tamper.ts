/**
 * Tampering with an export, for the audit tests: every field of an event changed or removed, events
 * deleted, copied, forged, swapped, and the end of a release cut.
 */
import { chainEvent, type LedgerEvent } from '../../lambdas/domain/ledger';

export type Path = ReadonlyArray<string | number>;

export interface Mutation {
  /** What was done, for assertion messages: `data.evidence.tags[0] changed`. */
  readonly label: string;
  readonly apply: (event: Record<string, unknown>) => Record<string, unknown>;
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

function pathLabel(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** Every leaf of a JSON value (and every empty container), with its path. */
export function leaves(value: unknown, prefix: Path = []): Path[] {
  if (Array.isArray(value)) return value.length ? value.flatMap((v, i) => leaves(v, [...prefix, i])) : [prefix];
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    return entries.length ? entries.flatMap(([k, v]) => leaves(v, [...prefix, k])) : [prefix];
  }
  return [prefix];
}

function get(obj: unknown, path: Path): unknown {
  return path.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], obj);
}

function set(obj: Record<string, unknown>, path: Path, fn: (old: unknown) => unknown): Record<string, unknown> {
  const out = clone(obj);
  if (path.length === 0) return fn(out) as Record<string, unknown>;
  const parent = get(out, path.slice(0, -1)) as Record<string | number, unknown>;
  const key = path.at(-1) as string | number;
  parent[key] = fn(parent[key]);
  return out;
}

function remove(obj: Record<string, unknown>, path: Path): Record<string, unknown> {
  const out = clone(obj);
  const parent = get(out, path.slice(0, -1)) as Record<string | number, unknown> | unknown[];
  const key = path.at(-1) as string | number;
  if (Array.isArray(parent)) parent.splice(key as number, 1);
  else delete parent[key];
  return out;
}

/** A different value of the same kind, as a forger would write. */
export function changed(v: unknown): unknown {
  if (typeof v === 'string') return v.length ? `${v.slice(0, -1)}${v.endsWith('0') ? '1' : '0'}` : 'x';
  if (typeof v === 'number') return v + 1;
  if (typeof v === 'boolean') return !v;
  if (v === null) return 'x';
  if (Array.isArray(v)) return [...v, 'x'];
  if (typeof v === 'object') return { ...(v as object), injected: true };
  return 'x';
}

/** Every field of the event changed, every field removed (top level, data keys and nested keys), and a field added. */
export function mutationsOf(event: Record<string, unknown>): Mutation[] {
  const out: Mutation[] = [];
  for (const path of leaves(event)) out.push({ label: `${pathLabel(path)} changed`, apply: (e) => set(e, path, changed) });
  const removable = new Set<string>();
  for (const path of leaves(event)) {
    for (let i = 1; i <= path.length; i++) removable.add(JSON.stringify(path.slice(0, i)));
  }
  for (const p of removable) {
    const path = JSON.parse(p) as Path;
    out.push({ label: `${pathLabel(path)} removed`, apply: (e) => remove(e, path) });
  }
  out.push({ label: 'a field added', apply: (e) => ({ ...e, note: 'added later' }) });
  out.push({ label: 'a data field added', apply: (e) => ({ ...e, data: { ...(e.data as object), approvedBy: 'someone' } }) });
  return out;
}

/** Export text → lines (without the final newline) and back. */
export const linesOf = (text: string): string[] => text.replace(/\n$/, '').split('\n');
export const textOf = (lines: readonly string[]): string => `${lines.join('\n')}\n`;

/** Index (0-based) of each event line of a release, in file order. */
export function eventLineIndexes(lines: readonly string[], releaseId?: string): number[] {
  return lines.flatMap((l, i) => {
    const o = JSON.parse(l) as Record<string, unknown>;
    return o.kind !== 'anchor' && (releaseId === undefined || o.releaseId === releaseId) ? [i] : [];
  });
}

/** A forged event that chains correctly to `prev` (a forger who knows the hash function), as seq prev.seq + 1. */
export function forgedAfter(prev: LedgerEvent, type: LedgerEvent['type'] = 'gate.evaluated'): LedgerEvent {
  return chainEvent(prev, {
    releaseId: prev.releaseId,
    stepKey: `forged:${prev.seq}`,
    type,
    at: prev.at,
    ...(prev.stage ? { stage: prev.stage } : {}),
    data: { gate: 'approval', result: 'PASS', reason: 'approved (forged)', decision: 'APPROVED', principal: 'arn:aws:iam::111122223333:user/mallory' },
  });
}
