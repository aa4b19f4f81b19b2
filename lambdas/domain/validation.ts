/**
 * One error type for every schema this project validates (config, release input, scenario, events),
 * turned into one line per problem: `<json path>: <what is allowed>, got <what was found>`.
 */
import type { z } from 'zod';

export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source} is invalid:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

export function jsonPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else {
      const s = String(seg);
      out += /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(s) ? (out ? `.${s}` : s) : `[${JSON.stringify(s)}]`;
    }
  }
  return out || '(root)';
}

function valueAt(root: unknown, path: ReadonlyArray<PropertyKey>): { found: boolean; value: unknown } {
  let cur: unknown = root;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object' || !(seg in (cur as object))) return { found: false, value: undefined };
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return { found: true, value: cur };
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  if (s === undefined) return String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** Format zod issues as `path: message, got value` lines, ordered by path. */
export function formatIssues(issues: ReadonlyArray<z.core.$ZodIssue>, input: unknown): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'invalid_union' && 'errors' in issue && Array.isArray(issue.errors) && issue.errors.length > 0) {
      // Report the branch that got furthest; zod reports all branches otherwise.
      const best = [...issue.errors].sort((a, b) => b.length - a.length)[0] ?? [];
      if (best.length > 0 && best.every((i) => i.path.length > 0)) {
        lines.push(
          ...formatIssues(
            best.map((i) => ({ ...i, path: [...issue.path, ...i.path] })),
            input,
          ),
        );
        continue;
      }
    }
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) lines.push(`${jsonPath([...issue.path, key])}: unknown field (not allowed here)`);
      continue;
    }
    const { found, value } = valueAt(input, issue.path);
    let msg = issue.message;
    if (/^Invalid input: expected/.test(msg)) msg = msg.replace(/^Invalid input: /, '').replace(/, received .*$/, '');
    if (/^Invalid option: expected one of /.test(msg)) msg = `expected one of ${msg.replace(/^Invalid option: expected one of /, '')}`;
    lines.push(`${jsonPath(issue.path)}: ${msg}${/, got /.test(msg) ? '' : `, got ${found ? describe(value) : 'nothing'}`}`);
  }
  return [...new Set(lines)];
}

/**
 * Every own `__proto__` key in a parsed JSON document (JSON.parse keeps it as an ordinary key), as
 * `path: unknown field (not allowed here)`. zod drops such a key from records and loose objects
 * without a word, so a document carrying one would be accepted as if the key were not there.
 */
export function prototypeKeyProblems(raw: unknown, path: PropertyKey[] = []): string[] {
  if (raw === null || typeof raw !== 'object') return [];
  const out: string[] = [];
  if (Array.isArray(raw)) {
    raw.forEach((v, i) => out.push(...prototypeKeyProblems(v, [...path, i])));
    return out;
  }
  if (Object.hasOwn(raw, '__proto__')) out.push(`${jsonPath([...path, '__proto__'])}: unknown field (not allowed here)`);
  for (const [k, v] of Object.entries(raw)) if (k !== '__proto__') out.push(...prototypeKeyProblems(v, [...path, k]));
  return out;
}

/** Parse with a schema, throwing ValidationError (one line per problem) on failure, or when the document has a `__proto__` key. */
export function parseWith<S extends z.ZodType>(schema: S, raw: unknown, source: string): z.output<S> {
  const r = schema.safeParse(raw);
  const problems = [...new Set([...(r.success ? [] : formatIssues(r.error.issues, raw)), ...prototypeKeyProblems(raw)])];
  if (!r.success || problems.length > 0) throw new ValidationError(source, problems);
  return r.data;
}
