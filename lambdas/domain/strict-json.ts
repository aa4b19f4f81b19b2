/**
 * A strict JSON reader for the documents people write: the deployment config, scenario files and the
 * CLI's input files. It reads exactly what `JSON.parse` reads (RFC 8259; the same values, a `__proto__`
 * key kept as an own key) and refuses two things `JSON.parse` lets through:
 *
 * - **a duplicate key** in an object: `JSON.parse` keeps the last one without a word, other readers keep
 *   the first, so `"bakeMinutes": 30, … "bakeMinutes": 0` meant a 0-minute bake to Gantry and a
 *   30-minute one to whoever reviewed the file. Every duplicate is reported with its JSON path and lines.
 * - **nesting deeper than `MAX_JSON_DEPTH`** objects and arrays: refused with the path where the limit is
 *   crossed, instead of a stack overflow somewhere further on (validation, hashing, cloning).
 *
 * Pure: no I/O. Why a reader of our own: docs/decisions/024-strict-inputs-and-intake.md.
 */
import { jsonPath } from './validation';

/** Objects and arrays nested deeper than this are refused. A Gantry config needs about 9, a scenario about 12. */
export const MAX_JSON_DEPTH = 64;

/**
 * A document that is not JSON (`syntax`: the first problem, where it is) or that is JSON Gantry refuses
 * (duplicate keys, all of them; too deep). `problems` are one line each: `<json path>: <what>`.
 */
export class JsonReadError extends Error {
  override readonly name = 'JsonReadError';
  constructor(
    readonly problems: string[],
    readonly syntax: boolean,
  ) {
    super(problems.join('; '));
  }
}

export interface StrictJsonOptions {
  /** @default MAX_JSON_DEPTH */
  readonly maxDepth?: number;
}

type Segment = string | number;

/** Parse `text` as JSON, refusing duplicate keys and deep nesting. @throws JsonReadError */
export function parseStrictJson(text: string, options: StrictJsonOptions = {}): unknown {
  return new Reader(text, options.maxDepth ?? MAX_JSON_DEPTH).document();
}

/** A path as the messages show it: at most the first 8 segments, then how deep it goes. */
function shownPath(path: readonly Segment[]): string {
  if (path.length <= 8) return jsonPath(path);
  return `${jsonPath(path.slice(0, 8))}… (${path.length} levels down)`;
}

function describeChar(c: string | undefined): string {
  if (c === undefined) return 'the end of the text';
  const code = c.codePointAt(0) ?? 0;
  if (code === 0xfeff) return 'a byte-order mark (U+FEFF)';
  if (code < 0x20 || code === 0x7f) return `the control character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return JSON.stringify(c);
}

class Reader {
  private i = 0;
  private readonly duplicates: string[] = [];

  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
  ) {}

  document(): unknown {
    this.ws();
    const value = this.value([], 0);
    this.ws();
    if (this.i < this.text.length) this.fail([], `expected the end of the document, got ${describeChar(this.text[this.i])}`);
    if (this.duplicates.length > 0) throw new JsonReadError(this.duplicates, false);
    return value;
  }

  // ------------------------------------------------------------ positions and failures

  private where(index: number): { line: number; column: number } {
    let line = 1;
    let start = 0;
    for (let k = this.text.indexOf('\n'); k !== -1 && k < index; k = this.text.indexOf('\n', k + 1)) {
      line++;
      start = k + 1;
    }
    return { line, column: index - start + 1 };
  }

  private at(index: number): string {
    const { line, column } = this.where(index);
    return `line ${line}, column ${column}`;
  }

  private fail(path: readonly Segment[], what: string, index = this.i): never {
    throw new JsonReadError([`${shownPath(path)}: ${what} (${this.at(index)})`], true);
  }

  // ------------------------------------------------------------ grammar (RFC 8259)

  private ws(): void {
    const t = this.text;
    while (this.i < t.length) {
      const c = t.charCodeAt(this.i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.i++;
      else break;
    }
  }

  private value(path: Segment[], depth: number): unknown {
    const c = this.text[this.i];
    if (c === '{' || c === '[') {
      if (depth + 1 > this.maxDepth) {
        throw new JsonReadError([`${shownPath(path)}: expected objects and arrays nested at most ${this.maxDepth} levels deep, got more (${this.at(this.i)})`], false);
      }
      return c === '{' ? this.object(path, depth + 1) : this.array(path, depth + 1);
    }
    if (c === '"') return this.string(path);
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number(path);
    for (const [word, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (this.text.startsWith(word, this.i)) {
        this.i += word.length;
        return v;
      }
    }
    return this.fail(path, `expected a JSON value, got ${describeChar(c)}`);
  }

  private object(path: Segment[], depth: number): Record<string, unknown> {
    this.i++; // {
    const out: Record<string, unknown> = {};
    const firstAt = new Map<string, number>();
    this.ws();
    if (this.text[this.i] === '}') {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.text[this.i] !== '"') this.fail(path, `expected a key in double quotes, got ${describeChar(this.text[this.i])}`);
      const keyAt = this.i;
      const key = this.string(path);
      this.ws();
      if (this.text[this.i] !== ':') this.fail([...path, key], `expected ":" after the key, got ${describeChar(this.text[this.i])}`);
      this.i++;
      this.ws();
      const value = this.value([...path, key], depth);
      const first = firstAt.get(key);
      if (first !== undefined) {
        this.duplicates.push(
          `${shownPath([...path, key])}: duplicate key (given at line ${this.where(first).line} and again at line ${this.where(keyAt).line}; JSON readers disagree on which one counts): give it once`,
        );
      } else {
        firstAt.set(key, keyAt);
        // JSON.parse keeps "__proto__" as an own key; a plain assignment would set the prototype instead.
        if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
        else out[key] = value;
      }
      this.ws();
      const c = this.text[this.i];
      if (c === ',') {
        this.i++;
        continue;
      }
      if (c === '}') {
        this.i++;
        return out;
      }
      this.fail(path, `expected "," or "}" after the value of ${JSON.stringify(key)}, got ${describeChar(c)}`);
    }
  }

  private array(path: Segment[], depth: number): unknown[] {
    this.i++; // [
    const out: unknown[] = [];
    this.ws();
    if (this.text[this.i] === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      out.push(this.value([...path, out.length], depth));
      this.ws();
      const c = this.text[this.i];
      if (c === ',') {
        this.i++;
        continue;
      }
      if (c === ']') {
        this.i++;
        return out;
      }
      this.fail(path, `expected "," or "]" after item ${out.length - 1}, got ${describeChar(c)}`);
    }
  }

  private static readonly PLAIN = /[^"\\\u0000-\u001f]*/y;
  private static readonly ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

  private string(path: readonly Segment[]): string {
    const t = this.text;
    const start = this.i;
    this.i++; // "
    let out = '';
    for (;;) {
      Reader.PLAIN.lastIndex = this.i;
      Reader.PLAIN.exec(t);
      out += t.slice(this.i, Reader.PLAIN.lastIndex);
      this.i = Reader.PLAIN.lastIndex;
      const c = t[this.i];
      if (c === '"') {
        this.i++;
        return out;
      }
      if (c === undefined) this.fail(path, 'expected the string to end with a double quote, got the end of the text', start);
      if (c !== '\\') this.fail(path, `expected ${describeChar(c)} to be escaped inside a string`);
      const e = t[this.i + 1];
      if (e === 'u') {
        const hex = t.slice(this.i + 2, this.i + 6);
        if (!/^[0-9A-Fa-f]{4}$/.test(hex)) this.fail(path, `expected four hex digits after \\u, got ${JSON.stringify(hex)}`);
        // One UTF-16 unit per escape, as JSON.parse does (a pair of escapes makes a surrogate pair).
        out += String.fromCharCode(Number.parseInt(hex, 16));
        this.i += 6;
      } else if (e !== undefined && Object.hasOwn(Reader.ESCAPES, e)) {
        out += Reader.ESCAPES[e];
        this.i += 2;
      } else {
        this.fail(path, `expected an escape such as \\n, \\" or \\u0041, got ${describeChar(e === undefined ? undefined : `\\${e}`)}`);
      }
    }
  }

  private static readonly NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

  private number(path: readonly Segment[]): number {
    Reader.NUMBER.lastIndex = this.i;
    const m = Reader.NUMBER.exec(this.text);
    const next = m ? this.text[Reader.NUMBER.lastIndex] : undefined;
    // "01", "1.", "-" and "1e" are not JSON numbers.
    if (!m || (next !== undefined && /[0-9.eE+-]/.test(next))) this.fail(path, 'expected a JSON number such as 10, -1.5 or 2e3');
    this.i = Reader.NUMBER.lastIndex;
    return Number(m[0]);
  }
}
