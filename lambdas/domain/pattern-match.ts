/**
 * EventBridge content filtering, so the local bus routes a scenario's raw events through the very
 * pattern objects the deployed rules use (event-patterns.ts).
 *
 * Semantics (as EventBridge's engine, aws/event-ruler, flattens events):
 * - Every field named in the pattern must match (AND); the values in a field's array are
 *   alternatives (OR); `$or` takes a list of sub-patterns, any of which may match.
 * - The event is flattened to leaf values: arrays are expanded (a field matches when any element
 *   matches), objects are descended into. Only leaves (strings, numbers, booleans, null) are matched.
 * - A field the pattern names that has no leaf value in the event does not match, except
 *   `{ "exists": false }`. An empty array has no leaf value.
 * - Exact values match by type: `"5"` does not match `5`, and `""` does not match `null`.
 * - Operators: `prefix`, `suffix` (each also with `{ "equals-ignore-case": … }`),
 *   `equals-ignore-case`, `wildcard` (`*`; `\*` is a literal star), `exists`,
 *   `numeric` (`[op, n, op, n]` with =, <, <=, >, >=), and `anything-but` (a value, a list, or
 *   `{ prefix | suffix | equals-ignore-case | wildcard }`); anything-but matches any present leaf
 *   that is not excluded.
 * A malformed pattern throws PatternError: it is a programming error, not an event problem.
 * Pure: no I/O.
 */

export class PatternError extends Error {
  override readonly name = 'PatternError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export type Leaf = string | number | boolean | null;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isLeaf(v: unknown): v is Leaf {
  return v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

/** Expand arrays (recursively) into their elements. */
function expand(values: readonly unknown[]): unknown[] {
  const out: unknown[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else out.push(v);
  };
  values.forEach(walk);
  return out;
}

/** The values found at `key` under each candidate object (arrays expanded). */
function childValues(candidates: readonly unknown[], key: string): unknown[] {
  const found: unknown[] = [];
  for (const c of candidates) {
    if (isObject(c) && Object.prototype.hasOwnProperty.call(c, key)) found.push(c[key]);
  }
  return expand(found);
}

/**
 * True when `event` matches the EventBridge `pattern`.
 * @throws PatternError when the pattern itself is malformed
 */
export function matchesPattern(pattern: unknown, event: unknown): boolean {
  if (!isObject(pattern)) throw new PatternError(`an event pattern must be an object, got ${JSON.stringify(pattern)}`);
  return matchObject(pattern, [event], '');
}

function matchObject(pattern: Record<string, unknown>, candidates: readonly unknown[], path: string): boolean {
  for (const [key, spec] of Object.entries(pattern)) {
    if (key === '$or') {
      if (!Array.isArray(spec) || spec.length < 2 || !spec.every(isObject)) {
        throw new PatternError(`${path || '(root)'}.$or: expected an array of at least two sub-patterns`);
      }
      if (!spec.some((sub) => matchObject(sub, candidates, path))) return false;
      continue;
    }
    const here = path ? `${path}.${key}` : key;
    const values = childValues(candidates, key);
    if (Array.isArray(spec)) {
      if (!matchLeafList(spec, values, here)) return false;
    } else if (isObject(spec)) {
      if (!matchObject(spec, values, here)) return false;
    } else {
      throw new PatternError(`${here}: expected an array of values or a nested object, got ${JSON.stringify(spec)}`);
    }
  }
  return true;
}

function matchLeafList(spec: readonly unknown[], values: readonly unknown[], path: string): boolean {
  if (spec.length === 0) throw new PatternError(`${path}: expected a non-empty array of values`);
  const leaves = values.filter(isLeaf);
  return spec.some((m) => matchOne(m, leaves, path));
}

function matchOne(m: unknown, leaves: readonly Leaf[], path: string): boolean {
  if (isLeaf(m)) return leaves.some((v) => v === m);
  if (!isObject(m)) throw new PatternError(`${path}: expected a value or an operator object, got ${JSON.stringify(m)}`);
  const keys = Object.keys(m);
  if (keys.length !== 1) throw new PatternError(`${path}: an operator object has exactly one key, got ${JSON.stringify(m)}`);
  const op = keys[0] as string;
  const arg = m[op];
  switch (op) {
    case 'exists':
      if (typeof arg !== 'boolean') throw new PatternError(`${path}: exists takes true or false`);
      return arg ? leaves.length > 0 : leaves.length === 0;
    case 'prefix':
    case 'suffix':
    case 'equals-ignore-case':
    case 'wildcard': {
      const test = stringTest(op, arg, path);
      return leaves.some((v) => typeof v === 'string' && test(v));
    }
    case 'numeric': {
      const test = numericTest(arg, path);
      return leaves.some((v) => typeof v === 'number' && test(v));
    }
    case 'anything-but': {
      const excluded = anythingButTest(arg, path);
      return leaves.some((v) => !excluded(v));
    }
    case 'cidr':
      throw new PatternError(`${path}: cidr matching is not supported by the local matcher`);
    default:
      throw new PatternError(`${path}: unknown operator ${JSON.stringify(op)}`);
  }
}

function stringTest(op: 'prefix' | 'suffix' | 'equals-ignore-case' | 'wildcard', arg: unknown, path: string): (v: string) => boolean {
  if (op === 'wildcard') {
    if (typeof arg !== 'string') throw new PatternError(`${path}: wildcard takes a string`);
    const re = wildcardRegExp(arg);
    return (v) => re.test(v);
  }
  if (op === 'equals-ignore-case') {
    if (typeof arg !== 'string') throw new PatternError(`${path}: equals-ignore-case takes a string`);
    const want = fold(arg);
    return (v) => fold(v) === want;
  }
  let needle: string;
  let ignoreCase = false;
  if (typeof arg === 'string') needle = arg;
  else if (isObject(arg) && Object.keys(arg).length === 1 && typeof arg['equals-ignore-case'] === 'string') {
    needle = arg['equals-ignore-case'];
    ignoreCase = true;
  } else throw new PatternError(`${path}: ${op} takes a string or { "equals-ignore-case": string }`);
  const n = ignoreCase ? fold(needle) : needle;
  return (v) => {
    const s = ignoreCase ? fold(v) : v;
    return op === 'prefix' ? s.startsWith(n) : s.endsWith(n);
  };
}

function fold(s: string): string {
  return s.toLowerCase();
}

function wildcardRegExp(p: string): RegExp {
  let src = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i] as string;
    if (c === '\\' && p[i + 1] === '*') {
      src += '\\*';
      i++;
    } else if (c === '*') src += '.*';
    else src += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${src}$`, 's');
}

const NUMERIC_OPS = ['=', '<', '<=', '>', '>='] as const;

function numericTest(arg: unknown, path: string): (v: number) => boolean {
  if (!Array.isArray(arg) || arg.length === 0 || arg.length % 2 !== 0 || arg.length > 4) {
    throw new PatternError(`${path}: numeric takes [op, number] or [op, number, op, number]`);
  }
  const checks: Array<(v: number) => boolean> = [];
  for (let i = 0; i < arg.length; i += 2) {
    const op = arg[i];
    const n = arg[i + 1];
    if (!(NUMERIC_OPS as readonly unknown[]).includes(op) || typeof n !== 'number' || !Number.isFinite(n)) {
      throw new PatternError(`${path}: numeric takes [op, number, …] with op one of ${NUMERIC_OPS.join(' ')}, got ${JSON.stringify(arg)}`);
    }
    if (op === '=' && arg.length > 2) throw new PatternError(`${path}: numeric "=" stands alone`);
    checks.push(op === '=' ? (v) => v === n : op === '<' ? (v) => v < n : op === '<=' ? (v) => v <= n : op === '>' ? (v) => v > n : (v) => v >= n);
  }
  return (v) => checks.every((c) => c(v));
}

/** Returns a test telling whether a leaf is EXCLUDED by the anything-but argument. */
function anythingButTest(arg: unknown, path: string): (v: Leaf) => boolean {
  if (isLeaf(arg)) return (v) => v === arg;
  if (Array.isArray(arg)) {
    if (arg.length === 0 || !arg.every(isLeaf)) throw new PatternError(`${path}: anything-but takes a value, a non-empty list of values, or an operator`);
    return (v) => arg.includes(v);
  }
  if (isObject(arg) && Object.keys(arg).length === 1) {
    const op = Object.keys(arg)[0] as string;
    const inner = arg[op];
    if (op === 'equals-ignore-case' && Array.isArray(inner)) {
      if (inner.length === 0 || !inner.every((s) => typeof s === 'string')) throw new PatternError(`${path}: anything-but equals-ignore-case takes strings`);
      const folded = new Set(inner.map((s) => fold(s as string)));
      return (v) => typeof v === 'string' && folded.has(fold(v));
    }
    if (op === 'prefix' || op === 'suffix' || op === 'equals-ignore-case' || op === 'wildcard') {
      if (typeof inner !== 'string') throw new PatternError(`${path}: anything-but ${op} takes a string`);
      const test = stringTest(op, inner, path);
      return (v) => typeof v === 'string' && test(v);
    }
  }
  throw new PatternError(`${path}: anything-but takes a value, a list of values, or { prefix | suffix | equals-ignore-case | wildcard }`);
}
