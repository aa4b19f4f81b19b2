/**
 * DynamoDB's expression language, the subset the in-memory store (local/memory-dynamo.ts) implements:
 * a tokenizer, a recursive-descent parser and an evaluator over wire-format attribute values
 * (`{ S: 'x' }`, `{ N: '1' }`, …). Anything outside the subset is refused with a ValidationException
 * that names the feature, never evaluated approximately. See docs/decisions/037-memory-dynamo.md.
 *
 * Condition / filter: comparisons (= <> < <= > >=), BETWEEN, IN, AND, OR, NOT, parentheses,
 * attribute_exists, attribute_not_exists, attribute_type, begins_with, contains, size.
 * Key condition: `pk = :v` [AND `sk` (= < <= > >= | BETWEEN | begins_with)].
 * Update: SET (path = operand [+|- operand], if_not_exists, list_append), REMOVE, ADD, DELETE.
 * Projection: a list of document paths.
 */
import { DYNAMO_RESERVED_WORDS } from './dynamo-reserved-words';

/** A DynamoDB attribute value on the wire: exactly one of S, N, B, BOOL, NULL, M, L, SS, NS, BS. */
export type AttributeValue = { [type: string]: unknown };
export type Item = Record<string, AttributeValue>;

/** A DynamoDB wire error: `code` becomes `__type` (`com.amazonaws.dynamodb.v20120810#<code>`). */
export class DynamoWireError extends Error {
  override readonly name = 'DynamoWireError';
  constructor(
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export const validation = (message: string): DynamoWireError => new DynamoWireError('ValidationException', message);

// ---------------------------------------------------------------------------------------------------
// Values: type, numbers, order, equality, size.

export function typeOf(v: AttributeValue): string {
  for (const k in v) return k;
  throw validation('Supplied AttributeValue is empty, must contain exactly one of the supported datatypes');
}

interface Decimal {
  readonly m: bigint;
  readonly e: number;
}

const NUMBER_RE = /^\s*([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\s*$/;

function parseDecimal(s: string): Decimal {
  const match = NUMBER_RE.exec(s);
  if (!match || ((match[2] ?? '') === '' && (match[3] ?? '') === '')) throw validation(`The parameter cannot be converted to a numeric value: ${s}`);
  const int = match[2] ?? '';
  const frac = match[3] ?? '';
  let m = BigInt((int + frac).replace(/^0+(?=\d)/, '') || '0');
  if (match[1] === '-') m = -m;
  let e = Number(match[4] ?? '0') - frac.length;
  if (m === 0n) return { m: 0n, e: 0 };
  while (m % 10n === 0n) {
    m /= 10n;
    e += 1;
  }
  return { m, e };
}

function checkDecimal(d: Decimal, raw: string): void {
  if (d.m === 0n) return;
  const digits = (d.m < 0n ? -d.m : d.m).toString().length;
  if (digits > 38) throw validation('Attempting to store more than 38 significant digits in a Number');
  const magnitude = digits + d.e - 1;
  if (magnitude > 125) throw validation('Number overflow. Attempting to store a number with magnitude larger than supported range');
  if (magnitude < -130) throw validation('Number underflow. Attempting to store a number with magnitude smaller than supported range');
  void raw;
}

function formatDecimal(d: Decimal): string {
  if (d.m === 0n) return '0';
  const neg = d.m < 0n;
  const digits = (neg ? -d.m : d.m).toString();
  let out: string;
  if (d.e >= 0) out = digits + '0'.repeat(d.e);
  else if (-d.e < digits.length) out = `${digits.slice(0, digits.length + d.e)}.${digits.slice(digits.length + d.e)}`;
  else out = `0.${'0'.repeat(-d.e - digits.length)}${digits}`;
  return neg ? `-${out}` : out;
}

/** The canonical form DynamoDB stores and returns (`'1.50'` → `'1.5'`, `'1e2'` → `'100'`), validated. */
export function normalizeNumber(s: string): string {
  const d = parseDecimal(s);
  checkDecimal(d, s);
  return formatDecimal(d);
}

function compareDecimal(a: Decimal, b: Decimal): number {
  const e = Math.min(a.e, b.e);
  const x = a.m * 10n ** BigInt(a.e - e);
  const y = b.m * 10n ** BigInt(b.e - e);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function addNumbers(a: string, b: string, negateB = false): string {
  const x = parseDecimal(a);
  const y = parseDecimal(b);
  const e = Math.min(x.e, y.e);
  const sum = x.m * 10n ** BigInt(x.e - e) + (negateB ? -1n : 1n) * y.m * 10n ** BigInt(y.e - e);
  const d = parseDecimal(formatDecimal({ m: sum, e }));
  checkDecimal(d, '');
  return formatDecimal(d);
}

/** Strings in UTF-8 byte order (= code point order), which differs from JS's UTF-16 order above U+E000. */
export function compareStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (code points ≥ U+10000) sort after every BMP character.
    x = x >= 0xd800 && x <= 0xdfff ? x + 0x2000 : x >= 0xe000 ? x - 0x800 : x;
    y = y >= 0xd800 && y <= 0xdfff ? y + 0x2000 : y >= 0xe000 ? y - 0x800 : y;
    return x - y;
  }
  return a.length - b.length;
}

/** Order of two scalars of the same type S, N or B (DynamoDB's key order); undefined when not comparable. */
export function compareScalars(a: AttributeValue, b: AttributeValue): number | undefined {
  const ta = typeOf(a);
  if (ta !== typeOf(b)) return undefined;
  if (ta === 'S') return compareStrings(a.S as string, b.S as string);
  if (ta === 'N') return compareDecimal(parseDecimal(a.N as string), parseDecimal(b.N as string));
  if (ta === 'B') return Buffer.compare(Buffer.from(a.B as string, 'base64'), Buffer.from(b.B as string, 'base64'));
  return undefined;
}

export function valuesEqual(a: AttributeValue, b: AttributeValue): boolean {
  const t = typeOf(a);
  if (t !== typeOf(b)) return false;
  switch (t) {
    case 'S':
    case 'BOOL':
    case 'NULL':
      return a[t] === b[t];
    case 'N':
    case 'B':
      return compareScalars(a, b) === 0;
    case 'SS':
    case 'NS':
    case 'BS': {
      const x = a[t] as string[];
      const y = b[t] as string[];
      const scalar = t.slice(0, 1);
      return x.length === y.length && x.every((v) => y.some((w) => valuesEqual({ [scalar]: v }, { [scalar]: w })));
    }
    case 'L': {
      const x = a.L as AttributeValue[];
      const y = b.L as AttributeValue[];
      return x.length === y.length && x.every((v, i) => valuesEqual(v, y[i] as AttributeValue));
    }
    case 'M': {
      const x = a.M as Item;
      const y = b.M as Item;
      const kx = Object.keys(x);
      return kx.length === Object.keys(y).length && kx.every((k) => y[k] !== undefined && valuesEqual(x[k] as AttributeValue, y[k] as AttributeValue));
    }
    default:
      return false;
  }
}

const utf8Length = (s: string): number => Buffer.byteLength(s, 'utf8');

function numberSize(n: string): number {
  const d = parseDecimal(n);
  return Math.ceil((d.m < 0n ? -d.m : d.m).toString().length / 2) + 1;
}

/** DynamoDB's size of a value (docs: "Item sizes and formats"). */
export function valueSize(v: AttributeValue): number {
  const t = typeOf(v);
  switch (t) {
    case 'S':
      return utf8Length(v.S as string);
    case 'N':
      return numberSize(v.N as string);
    case 'B':
      return Buffer.from(v.B as string, 'base64').length;
    case 'BOOL':
    case 'NULL':
      return 1;
    case 'SS':
      return (v.SS as string[]).reduce((s, x) => s + utf8Length(x), 0);
    case 'NS':
      return (v.NS as string[]).reduce((s, x) => s + numberSize(x), 0);
    case 'BS':
      return (v.BS as string[]).reduce((s, x) => s + Buffer.from(x, 'base64').length, 0);
    case 'L':
      return 3 + (v.L as AttributeValue[]).reduce((s, x) => s + 1 + valueSize(x), 0);
    case 'M':
      return 3 + Object.entries(v.M as Item).reduce((s, [k, x]) => s + 1 + utf8Length(k) + valueSize(x), 0);
    default:
      return 0;
  }
}

export function itemSize(item: Item): number {
  let size = 0;
  for (const k in item) size += utf8Length(k) + valueSize(item[k] as AttributeValue);
  return size;
}

const TYPES = new Set(['S', 'N', 'B', 'BOOL', 'NULL', 'M', 'L', 'SS', 'NS', 'BS']);

/** Validate a value from a request and return it in canonical form (numbers normalised). */
export function canonicalValue(v: unknown): AttributeValue {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw validation('Supplied AttributeValue is empty, must contain exactly one of the supported datatypes');
  const keys = Object.keys(v);
  if (keys.length !== 1 || !TYPES.has(keys[0] as string))
    throw validation('Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes');
  const t = keys[0] as string;
  const x = (v as Record<string, unknown>)[t];
  switch (t) {
    case 'S':
    case 'B':
      if (typeof x !== 'string') throw validation(`Supplied AttributeValue for ${t} is not a string`);
      return { [t]: x };
    case 'N':
      if (typeof x !== 'string') throw validation('Supplied AttributeValue for N is not a string');
      return { N: normalizeNumber(x) };
    case 'BOOL':
      return { BOOL: Boolean(x) };
    case 'NULL':
      if (x !== true) throw validation('One or more parameter values were invalid: Null attribute value types must have the value of true');
      return { NULL: true };
    case 'L':
      if (!Array.isArray(x)) throw validation('Supplied AttributeValue for L is not a list');
      return { L: x.map(canonicalValue) };
    case 'M':
      if (x === null || typeof x !== 'object') throw validation('Supplied AttributeValue for M is not a map');
      return { M: Object.fromEntries(Object.entries(x).map(([k, e]) => [k, canonicalValue(e)])) };
    default: {
      if (!Array.isArray(x) || x.length === 0)
        throw validation('One or more parameter values were invalid: An number set  may not be empty'.replace('number', t === 'SS' ? 'string' : t === 'NS' ? 'number' : 'binary'));
      const list = t === 'NS' ? x.map((n) => normalizeNumber(String(n))) : x.map(String);
      const scalar = t.slice(0, 1);
      // Sets come back in DynamoDB's value order (as DynamoDB Local returns them).
      list.sort((a, b) => compareScalars({ [scalar]: a }, { [scalar]: b }) ?? 0);
      for (let i = 0; i < list.length; i++)
        for (let j = i + 1; j < list.length; j++)
          if (valuesEqual({ [scalar]: list[i] }, { [scalar]: list[j] }))
            throw validation(`One or more parameter values were invalid: Input collection [${list.join(', ')}] contains duplicates.`);
      return { [t]: list };
    }
  }
}

export function canonicalItem(item: unknown, what = 'Item'): Item {
  if (item === null || typeof item !== 'object' || Array.isArray(item))
    throw validation(`1 validation error detected: Value null at '${what}' failed to satisfy constraint: Member must not be null`);
  const out: Item = {};
  for (const [k, v] of Object.entries(item)) out[k] = canonicalValue(v);
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Tokens.

type Token = { kind: 'name' | 'placeholder' | 'value' | 'number' | 'punct' | 'end'; text: string; pos: number };

const PUNCT = ['<>', '<=', '>=', '=', '<', '>', '(', ')', ',', '.', '[', ']', '+', '-'];

function tokenize(src: string, kind: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (c === '#' || c === ':') {
      i++;
      while (i < src.length && /[A-Za-z0-9_]/.test(src[i] as string)) i++;
      if (i === start + 1) throw validation(`Invalid ${kind}: Syntax error; token: "${c}", near: "${src.slice(start, start + 3)}"`);
      out.push({ kind: c === '#' ? 'placeholder' : 'value', text: src.slice(start, i), pos: start });
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      while (i < src.length && /[A-Za-z0-9_]/.test(src[i] as string)) i++;
      out.push({ kind: 'name', text: src.slice(start, i), pos: start });
      continue;
    }
    if (/[0-9]/.test(c)) {
      while (i < src.length && /[0-9]/.test(src[i] as string)) i++;
      out.push({ kind: 'number', text: src.slice(start, i), pos: start });
      continue;
    }
    const p = PUNCT.find((x) => src.startsWith(x, i));
    if (!p) throw validation(`Invalid ${kind}: Syntax error; token: "${c}", near: "${src.slice(Math.max(0, i - 2), i + 3)}"`);
    out.push({ kind: 'punct', text: p, pos: i });
    i += p.length;
  }
  out.push({ kind: 'end', text: '<EOF>', pos: src.length });
  return out;
}

// ---------------------------------------------------------------------------------------------------
// ASTs.

export type PathElement = string | number;
export type Path = readonly PathElement[];

export type Operand =
  | { readonly k: 'path'; readonly path: Path }
  | { readonly k: 'value'; readonly v: AttributeValue }
  | { readonly k: 'size'; readonly path: Path }
  | { readonly k: 'if_not_exists'; readonly path: Path; readonly v: Operand }
  | { readonly k: 'list_append'; readonly a: Operand; readonly b: Operand };

export type Condition =
  | { readonly k: 'or' | 'and'; readonly a: Condition; readonly b: Condition }
  | { readonly k: 'not'; readonly a: Condition }
  | { readonly k: 'cmp'; readonly op: string; readonly a: Operand; readonly b: Operand }
  | { readonly k: 'between'; readonly a: Operand; readonly lo: Operand; readonly hi: Operand }
  | { readonly k: 'in'; readonly a: Operand; readonly list: readonly Operand[] }
  | { readonly k: 'fn'; readonly name: string; readonly path: Path; readonly arg?: Operand };

export type SetValue = { readonly k: 'operand'; readonly o: Operand } | { readonly k: '+' | '-'; readonly a: Operand; readonly b: Operand };

export interface Update {
  readonly set: ReadonlyArray<{ readonly path: Path; readonly value: SetValue }>;
  readonly remove: readonly Path[];
  readonly add: ReadonlyArray<{ readonly path: Path; readonly v: AttributeValue }>;
  readonly delete: ReadonlyArray<{ readonly path: Path; readonly v: AttributeValue }>;
}

/** The placeholders of one request: expressions resolve through it and it reports the unused ones. */
export class ExpressionContext {
  private readonly usedNames = new Set<string>();
  private readonly usedValues = new Set<string>();
  private readonly values: Record<string, AttributeValue>;

  constructor(
    private readonly names: Record<string, string> | undefined,
    values: Record<string, unknown> | undefined,
  ) {
    if (names !== undefined && Object.keys(names).length === 0) throw validation('ExpressionAttributeNames must not be empty');
    if (values !== undefined && Object.keys(values).length === 0) throw validation('ExpressionAttributeValues must not be empty');
    this.values = {};
    for (const [k, v] of Object.entries(values ?? {})) {
      try {
        this.values[k] = canonicalValue(v);
      } catch (e) {
        if (e instanceof DynamoWireError) throw validation(`ExpressionAttributeValues contains invalid value: ${e.message} for key ${k}`);
        throw e;
      }
    }
  }

  name(token: string, kind: string): string {
    const n = this.names?.[token];
    if (n === undefined) throw validation(`Invalid ${kind}: An expression attribute name used in the document path is not defined; attribute name: ${token}`);
    this.usedNames.add(token);
    return n;
  }

  value(token: string, kind: string): AttributeValue {
    const v = this.values[token];
    if (v === undefined) throw validation(`Invalid ${kind}: An expression attribute value used in expression is not defined; attribute value: ${token}`);
    this.usedValues.add(token);
    return v;
  }

  /** DynamoDB refuses placeholders no expression uses. Call after every expression of the request is parsed. */
  checkAllUsed(): void {
    const names = Object.keys(this.names ?? {}).filter((k) => !this.usedNames.has(k));
    if (names.length > 0) throw validation(`Value provided in ExpressionAttributeNames unused in expressions: keys: {${names.join(', ')}}`);
    const values = Object.keys(this.values).filter((k) => !this.usedValues.has(k));
    if (values.length > 0) throw validation(`Value provided in ExpressionAttributeValues unused in expressions: keys: {${values.join(', ')}}`);
  }
}

const FUNCTIONS = new Set(['attribute_exists', 'attribute_not_exists', 'attribute_type', 'begins_with', 'contains', 'size', 'if_not_exists', 'list_append']);
const CONDITION_FUNCTIONS = new Set(['attribute_exists', 'attribute_not_exists', 'attribute_type', 'begins_with', 'contains']);
const COMPARATORS = new Set(['=', '<>', '<', '<=', '>', '>=']);

class Parser {
  private i = 0;
  private readonly tokens: Token[];

  constructor(
    private readonly src: string,
    private readonly kind: string,
    private readonly ctx: ExpressionContext,
  ) {
    if (src.trim() === '') throw validation(`Invalid ${kind}: The expression can not be empty;`);
    this.tokens = tokenize(src, kind);
  }

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)] as Token;
  }

  private next(): Token {
    const t = this.peek();
    if (this.i < this.tokens.length - 1) this.i++;
    return t;
  }

  syntaxError(t: Token = this.peek()): DynamoWireError {
    return validation(`Invalid ${this.kind}: Syntax error; token: "${t.text}", near: "${this.src.slice(Math.max(0, t.pos - 6), t.pos + t.text.length + 6).trim()}"`);
  }

  unsupported(what: string): DynamoWireError {
    return validation(`Invalid ${this.kind}: ${what} is not implemented by Gantry's in-memory DynamoDB (local/memory-dynamo.ts)`);
  }

  private isKeyword(word: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.kind === 'name' && t.text.toUpperCase() === word;
  }

  private expect(text: string): Token {
    const t = this.next();
    if (t.kind !== 'punct' || t.text !== text) throw this.syntaxError(t);
    return t;
  }

  private expectKeyword(word: string): void {
    if (!this.isKeyword(word)) throw this.syntaxError();
    this.next();
  }

  end(): void {
    if (this.peek().kind !== 'end') throw this.syntaxError();
  }

  path(): Path {
    const t = this.next();
    const out: PathElement[] = [];
    if (t.kind === 'placeholder') out.push(this.ctx.name(t.text, this.kind));
    else if (t.kind === 'name') {
      if (DYNAMO_RESERVED_WORDS.has(t.text.toUpperCase())) throw validation(`Invalid ${this.kind}: Attribute name is a reserved keyword; reserved keyword: ${t.text}`);
      out.push(t.text);
    } else throw this.syntaxError(t);
    for (;;) {
      const p = this.peek();
      if (p.kind === 'punct' && p.text === '.') {
        this.next();
        const n = this.next();
        if (n.kind === 'placeholder') out.push(this.ctx.name(n.text, this.kind));
        else if (n.kind === 'name') {
          if (DYNAMO_RESERVED_WORDS.has(n.text.toUpperCase())) throw validation(`Invalid ${this.kind}: Attribute name is a reserved keyword; reserved keyword: ${n.text}`);
          out.push(n.text);
        } else throw this.syntaxError(n);
      } else if (p.kind === 'punct' && p.text === '[') {
        this.next();
        const n = this.next();
        if (n.kind !== 'number') throw this.syntaxError(n);
        this.expect(']');
        out.push(Number(n.text));
      } else return out;
    }
  }

  /** path | :value | function(...) */
  operand(): Operand {
    const t = this.peek();
    if (t.kind === 'value') {
      this.next();
      return { k: 'value', v: this.ctx.value(t.text, this.kind) };
    }
    if (t.kind === 'name' && this.peek(1).kind === 'punct' && this.peek(1).text === '(') {
      const fn = t.text;
      if (!FUNCTIONS.has(fn)) throw validation(`Invalid ${this.kind}: Invalid function name; function: ${fn}`);
      this.next();
      this.expect('(');
      let out: Operand;
      if (fn === 'size') out = { k: 'size', path: this.path() };
      else if (fn === 'if_not_exists') {
        if (this.kind !== 'UpdateExpression') throw validation(`Invalid ${this.kind}: The function is not allowed to be used this way in an expression; function: ${fn}`);
        const path = this.path();
        this.expect(',');
        out = { k: 'if_not_exists', path, v: this.operand() };
      } else if (fn === 'list_append') {
        if (this.kind !== 'UpdateExpression') throw validation(`Invalid ${this.kind}: The function is not allowed to be used this way in an expression; function: ${fn}`);
        const a = this.operand();
        this.expect(',');
        out = { k: 'list_append', a, b: this.operand() };
      } else throw validation(`Invalid ${this.kind}: The function is not allowed to be used this way in an expression; function: ${fn}`);
      this.expect(')');
      return out;
    }
    return { k: 'path', path: this.path() };
  }

  condition(): Condition {
    let a = this.conjunction();
    while (this.isKeyword('OR')) {
      this.next();
      a = { k: 'or', a, b: this.conjunction() };
    }
    return a;
  }

  private conjunction(): Condition {
    let a = this.negation();
    while (this.isKeyword('AND')) {
      this.next();
      a = { k: 'and', a, b: this.negation() };
    }
    return a;
  }

  private negation(): Condition {
    if (this.isKeyword('NOT')) {
      this.next();
      return { k: 'not', a: this.negation() };
    }
    return this.primary();
  }

  private primary(): Condition {
    const t = this.peek();
    if (t.kind === 'punct' && t.text === '(') {
      this.next();
      const c = this.condition();
      this.expect(')');
      return c;
    }
    if (t.kind === 'name' && CONDITION_FUNCTIONS.has(t.text) && this.peek(1).text === '(') {
      this.next();
      this.expect('(');
      const path = this.path();
      let arg: Operand | undefined;
      if (t.text !== 'attribute_exists' && t.text !== 'attribute_not_exists') {
        this.expect(',');
        arg = this.operand();
      }
      this.expect(')');
      if (t.text === 'attribute_type' && (arg?.k !== 'value' || typeOf(arg.v) !== 'S' || !TYPES.has(arg.v.S as string)))
        throw validation(
          `Invalid ${this.kind}: Invalid attribute type name found; type: ${arg?.k === 'value' ? String(Object.values(arg.v)[0]) : '?'}, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}`,
        );
      if (t.text === 'begins_with' && arg?.k === 'value' && !['S', 'B'].includes(typeOf(arg.v)))
        throw validation(`Invalid ${this.kind}: Incorrect operand type for operator or function; operator or function: begins_with, operand type: ${typeOf(arg.v)}`);
      return { k: 'fn', name: t.text, path, ...(arg ? { arg } : {}) };
    }
    const a = this.operand();
    if (a.k === 'if_not_exists' || a.k === 'list_append')
      throw validation(`Invalid ${this.kind}: The function is not allowed to be used this way in an expression; function: ${a.k}`);
    const op = this.peek();
    if (op.kind === 'punct' && COMPARATORS.has(op.text)) {
      this.next();
      const b = this.operand();
      if (b.k === 'if_not_exists' || b.k === 'list_append')
        throw validation(`Invalid ${this.kind}: The function is not allowed to be used this way in an expression; function: ${b.k}`);
      if (a.k === 'value' && b.k === 'value' && this.kind !== 'KeyConditionExpression')
        throw validation(`Invalid ${this.kind}: The expression contains an invalid operand; operator: ${op.text}`);
      return { k: 'cmp', op: op.text, a, b };
    }
    if (this.isKeyword('BETWEEN')) {
      this.next();
      const lo = this.operand();
      this.expectKeyword('AND');
      const hi = this.operand();
      if (lo.k === 'value' && hi.k === 'value') {
        const order = compareScalars(lo.v, hi.v);
        if (order === undefined)
          throw validation(
            `Invalid ${this.kind}: The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {${typeOf(lo.v)}:...}, upper bound operand: AttributeValue: {${typeOf(hi.v)}:...}`,
          );
        if (order > 0)
          throw validation(
            `Invalid ${this.kind}: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {${typeOf(lo.v)}:${String(Object.values(lo.v)[0])}}, upper bound operand: AttributeValue: {${typeOf(hi.v)}:${String(Object.values(hi.v)[0])}}`,
          );
      }
      return { k: 'between', a, lo, hi };
    }
    if (this.isKeyword('IN')) {
      this.next();
      this.expect('(');
      const list = [this.operand()];
      while (this.peek().text === ',') {
        this.next();
        list.push(this.operand());
      }
      this.expect(')');
      if (list.length > 100) throw validation(`Invalid ${this.kind}: The IN operator is provided with too many operands; number of operands: ${list.length}`);
      return { k: 'in', a, list };
    }
    throw this.syntaxError(op);
  }

  update(): Update {
    const set: Array<{ path: Path; value: SetValue }> = [];
    const remove: Path[] = [];
    const add: Array<{ path: Path; v: AttributeValue }> = [];
    const del: Array<{ path: Path; v: AttributeValue }> = [];
    const seen = new Set<string>();
    while (this.peek().kind !== 'end') {
      const clause = this.next();
      const word = clause.kind === 'name' ? clause.text.toUpperCase() : '';
      if (!['SET', 'REMOVE', 'ADD', 'DELETE'].includes(word)) throw this.syntaxError(clause);
      if (seen.has(word)) throw validation(`Invalid UpdateExpression: The "${word}" section can only be used once in an update expression;`);
      seen.add(word);
      do {
        if (word === 'SET') {
          const path = this.path();
          this.expect('=');
          const a = this.operand();
          if (a.k === 'size') throw validation('Invalid UpdateExpression: The function is not allowed in an update expression; function: size');
          const op = this.peek();
          if (op.kind === 'punct' && (op.text === '+' || op.text === '-')) {
            this.next();
            const b = this.operand();
            set.push({ path, value: { k: op.text, a, b } });
          } else set.push({ path, value: { k: 'operand', o: a } });
        } else if (word === 'REMOVE') remove.push(this.path());
        else {
          const path = this.path();
          const v = this.next();
          if (v.kind !== 'value') throw this.syntaxError(v);
          (word === 'ADD' ? add : del).push({ path, v: this.ctx.value(v.text, this.kind) });
        }
      } while (this.peek().text === ',' && this.next());
    }
    if (seen.size === 0) throw this.syntaxError();
    const paths = [...set.map((s) => s.path), ...remove, ...add.map((a) => a.path), ...del.map((d) => d.path)];
    for (let i = 0; i < paths.length; i++)
      for (let j = i + 1; j < paths.length; j++) {
        const [x, y] = [paths[i] as Path, paths[j] as Path];
        const n = Math.min(x.length, y.length);
        if (x.slice(0, n).every((e, k) => e === y[k]))
          throw validation(
            `Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [${x.join(', ')}], path two: [${y.join(', ')}]`,
          );
      }
    return { set, remove, add, delete: del };
  }

  projection(): Path[] {
    const out = [this.path()];
    while (this.peek().text === ',') {
      this.next();
      out.push(this.path());
    }
    return out;
  }
}

export function parseCondition(src: string, kind: 'ConditionExpression' | 'FilterExpression' | 'KeyConditionExpression', ctx: ExpressionContext): Condition {
  const p = new Parser(src, kind, ctx);
  const c = p.condition();
  p.end();
  return c;
}

export function parseUpdate(src: string, ctx: ExpressionContext): Update {
  const p = new Parser(src, 'UpdateExpression', ctx);
  const u = p.update();
  p.end();
  return u;
}

export function parseProjection(src: string, ctx: ExpressionContext): Path[] {
  const p = new Parser(src, 'ProjectionExpression', ctx);
  const out = p.projection();
  p.end();
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Key conditions: the parsed condition, checked against an index's key schema.

export interface KeyCondition {
  readonly hash: AttributeValue;
  readonly range?: { readonly op: string; readonly v: AttributeValue; readonly hi?: AttributeValue };
}

export function keyCondition(c: Condition, hashName: string, rangeName: string | undefined): KeyCondition {
  const kind = 'KeyConditionExpression';
  const clauses: Condition[] = [];
  const flatten = (x: Condition): void => {
    if (x.k === 'and') {
      flatten(x.a);
      flatten(x.b);
    } else if (x.k === 'or' || x.k === 'not') throw validation(`Invalid operator used in KeyConditionExpression: ${x.k.toUpperCase()}`);
    else clauses.push(x);
  };
  flatten(c);
  if (clauses.length > 2) throw validation('Conditions can be of length 1 or 2 only');
  let hash: AttributeValue | undefined;
  let range: KeyCondition['range'];
  const attr = (o: Operand): string => {
    if (o.k !== 'path' || o.path.length !== 1 || typeof o.path[0] !== 'string') throw validation(`Invalid ${kind}: a key condition compares a key attribute with a value`);
    return o.path[0];
  };
  const val = (o: Operand | undefined): AttributeValue => {
    if (o?.k !== 'value') throw validation(`Invalid ${kind}: a key condition compares a key attribute with a value`);
    return o.v;
  };
  for (const x of clauses) {
    let name: string;
    let r: NonNullable<KeyCondition['range']>;
    if (x.k === 'cmp') {
      if (x.op === '<>') throw validation('Unsupported operator on KeyConditionExpression: operator: <>');
      const swapped = x.a.k === 'value';
      name = attr(swapped ? x.b : x.a);
      const flip: Record<string, string> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=', '=': '=' };
      r = { op: swapped ? (flip[x.op] as string) : x.op, v: val(swapped ? x.a : x.b) };
    } else if (x.k === 'between') {
      name = attr(x.a);
      r = { op: 'BETWEEN', v: val(x.lo), hi: val(x.hi) };
    } else if (x.k === 'fn' && x.name === 'begins_with') {
      if (x.path.length !== 1) throw validation(`Invalid ${kind}: a key condition compares a key attribute with a value`);
      name = x.path[0] as string;
      r = { op: 'begins_with', v: val(x.arg) };
    } else if (x.k === 'fn') throw validation(`Invalid operator used in KeyConditionExpression: ${x.name}`);
    else throw validation(`Invalid ${kind}: ${x.k.toUpperCase()} is not allowed in a key condition`);
    if (name === hashName) {
      if (r.op !== '=') throw validation('Query key condition not supported');
      if (hash) throw validation(`KeyConditionExpressions must only contain one condition per key`);
      hash = r.v;
    } else if (name === rangeName) {
      if (range) throw validation(`KeyConditionExpressions must only contain one condition per key`);
      range = r;
    } else throw validation(`Query condition missed key schema element: ${hashName}`);
  }
  if (!hash) throw validation(`Query condition missed key schema element: ${hashName}`);
  return { hash, ...(range ? { range } : {}) };
}

/** The top-level attribute names a condition reads (a Query's filter may not read the key attributes). */
export function conditionAttributes(c: Condition): Set<string> {
  const out = new Set<string>();
  const operand = (o: Operand | undefined): void => {
    if (!o) return;
    if (o.k === 'path' || o.k === 'size') out.add(String(o.path[0]));
  };
  const walk = (x: Condition): void => {
    switch (x.k) {
      case 'or':
      case 'and':
        walk(x.a);
        walk(x.b);
        return;
      case 'not':
        walk(x.a);
        return;
      case 'cmp':
        [x.a, x.b].forEach(operand);
        return;
      case 'between':
        [x.a, x.lo, x.hi].forEach(operand);
        return;
      case 'in':
        [x.a, ...x.list].forEach(operand);
        return;
      case 'fn':
        out.add(String(x.path[0]));
        operand(x.arg);
    }
  };
  walk(c);
  return out;
}

export function matchesRange(v: AttributeValue, r: NonNullable<KeyCondition['range']>): boolean {
  if (r.op === 'begins_with') {
    if (typeOf(v) === 'S') return (v.S as string).startsWith(r.v.S as string);
    return Buffer.from(v.B as string, 'base64')
      .subarray(0, Buffer.from(r.v.B as string, 'base64').length)
      .equals(Buffer.from(r.v.B as string, 'base64'));
  }
  const c = compareScalars(v, r.v);
  if (c === undefined) return false;
  switch (r.op) {
    case '=':
      return c === 0;
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    case '>=':
      return c >= 0;
    default: {
      const h = compareScalars(v, r.hi as AttributeValue);
      return c >= 0 && h !== undefined && h <= 0;
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Evaluation.

export function getPath(item: Item, path: Path): AttributeValue | undefined {
  let cur: AttributeValue | undefined = item[path[0] as string];
  for (let i = 1; i < path.length && cur; i++) {
    const e = path[i] as PathElement;
    if (typeof e === 'number') cur = 'L' in cur ? (cur.L as AttributeValue[])[e] : undefined;
    else cur = 'M' in cur ? (cur.M as Item)[e] : undefined;
  }
  return cur;
}

function operandValue(item: Item, o: Operand): AttributeValue | undefined {
  switch (o.k) {
    case 'value':
      return o.v;
    case 'path':
      return getPath(item, o.path);
    case 'size': {
      const v = getPath(item, o.path);
      if (!v) return undefined;
      const t = typeOf(v);
      if (t === 'S') return { N: String(utf8Length(v.S as string)) };
      if (t === 'B') return { N: String(Buffer.from(v.B as string, 'base64').length) };
      if (t === 'L' || t === 'SS' || t === 'NS' || t === 'BS') return { N: String((v[t] as unknown[]).length) };
      if (t === 'M') return { N: String(Object.keys(v.M as Item).length) };
      return undefined;
    }
    default:
      throw validation(`Invalid expression: the function ${o.k} is only allowed in an UpdateExpression`);
  }
}

export function evaluate(item: Item, c: Condition): boolean {
  switch (c.k) {
    case 'or':
      return evaluate(item, c.a) || evaluate(item, c.b);
    case 'and':
      return evaluate(item, c.a) && evaluate(item, c.b);
    case 'not':
      return !evaluate(item, c.a);
    case 'cmp': {
      const a = operandValue(item, c.a);
      const b = operandValue(item, c.b);
      if (c.op === '=') return a !== undefined && b !== undefined && valuesEqual(a, b);
      if (c.op === '<>') return !(a !== undefined && b !== undefined && valuesEqual(a, b));
      if (a === undefined || b === undefined) return false;
      const order = compareScalars(a, b);
      if (order === undefined) return false;
      return c.op === '<' ? order < 0 : c.op === '<=' ? order <= 0 : c.op === '>' ? order > 0 : order >= 0;
    }
    case 'between': {
      const a = operandValue(item, c.a);
      const lo = operandValue(item, c.lo);
      const hi = operandValue(item, c.hi);
      if (!a || !lo || !hi) return false;
      const x = compareScalars(a, lo);
      const y = compareScalars(a, hi);
      return x !== undefined && y !== undefined && x >= 0 && y <= 0;
    }
    case 'in': {
      const a = operandValue(item, c.a);
      return (
        a !== undefined &&
        c.list.some((o) => {
          const v = operandValue(item, o);
          return v !== undefined && valuesEqual(a, v);
        })
      );
    }
    case 'fn': {
      const v = getPath(item, c.path);
      const arg = c.arg ? operandValue(item, c.arg) : undefined;
      switch (c.name) {
        case 'attribute_exists':
          return v !== undefined;
        case 'attribute_not_exists':
          return v === undefined;
        case 'attribute_type':
          return v !== undefined && typeOf(v) === arg?.S;
        case 'begins_with': {
          if (!v || !arg) return false;
          const t = typeOf(v);
          if (t !== typeOf(arg)) return false;
          if (t === 'S') return (v.S as string).startsWith(arg.S as string);
          if (t === 'B') return matchesRange(v, { op: 'begins_with', v: arg });
          return false;
        }
        default: {
          // contains
          if (!v || !arg) return false;
          const t = typeOf(v);
          const at = typeOf(arg);
          if (t === 'S' && at === 'S') return (v.S as string).includes(arg.S as string);
          if (t === 'B' && at === 'B') return Buffer.from(v.B as string, 'base64').includes(Buffer.from(arg.B as string, 'base64'));
          if ((t === 'SS' || t === 'NS' || t === 'BS') && at === t.slice(0, 1)) return (v[t] as string[]).some((x) => valuesEqual({ [at]: x }, arg));
          if (t === 'L') return (v.L as AttributeValue[]).some((x) => valuesEqual(x, arg));
          return false;
        }
      }
    }
  }
}

function updateOperand(item: Item, o: Operand): AttributeValue {
  switch (o.k) {
    case 'if_not_exists':
      return getPath(item, o.path) ?? updateOperand(item, o.v);
    case 'list_append': {
      const a = updateOperand(item, o.a);
      const b = updateOperand(item, o.b);
      for (const x of [a, b])
        if (typeOf(x) !== 'L')
          throw validation(`Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: list_append, operand type: ${typeOf(x)}`);
      return { L: [...(a.L as AttributeValue[]), ...(b.L as AttributeValue[])] };
    }
    case 'path': {
      const v = getPath(item, o.path);
      if (v === undefined) throw validation('The provided expression refers to an attribute that does not exist in the item');
      return v;
    }
    default:
      return operandValue(item, o) as AttributeValue;
  }
}

/**
 * A deep copy of JSON data (items, attribute values, key schemas): no aliasing between the store and a
 * request or an answer. Several times faster than structuredClone on these small trees.
 */
export function clone<T>(v: T): T {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(clone) as T;
  const out: Record<string, unknown> = {};
  for (const k in v) out[k] = clone((v as Record<string, unknown>)[k]);
  return out as T;
}

/** Set a value at a document path; throws DynamoDB's error when the parent is missing or of the wrong type. */
function setPath(item: Item, path: Path, v: AttributeValue): void {
  if (path.length === 1) {
    item[path[0] as string] = v;
    return;
  }
  const parent = getPath(item, path.slice(0, -1));
  const last = path[path.length - 1] as PathElement;
  if (parent && typeof last === 'number' && 'L' in parent) {
    const list = parent.L as AttributeValue[];
    if (last < list.length) list[last] = v;
    else list.push(v);
    return;
  }
  if (parent && typeof last === 'string' && 'M' in parent) {
    (parent.M as Item)[last] = v;
    return;
  }
  throw validation('The document path provided in the update expression is invalid for update');
}

function removePath(item: Item, path: Path): void {
  if (path.length === 1) {
    delete item[path[0] as string];
    return;
  }
  const parent = getPath(item, path.slice(0, -1));
  const last = path[path.length - 1] as PathElement;
  if (parent && typeof last === 'number' && 'L' in parent) {
    (parent.L as AttributeValue[]).splice(last, 1);
    return;
  }
  if (parent && typeof last === 'string' && 'M' in parent) {
    delete (parent.M as Item)[last];
    return;
  }
  if (!parent) return;
  throw validation('The document path provided in the update expression is invalid for update');
}

/**
 * Apply an update to a copy of `old` (every right-hand side is read from `old`, as DynamoDB does) and
 * return the new item with the top-level attribute names the update touched.
 */
export function applyUpdate(old: Item, u: Update): { item: Item; touched: Set<string> } {
  const values = u.set.map(({ value }) => {
    if (value.k === 'operand') return clone(updateOperand(old, value.o));
    const a = updateOperand(old, value.a);
    const b = updateOperand(old, value.b);
    for (const x of [a, b])
      if (typeOf(x) !== 'N')
        throw validation(`Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: ${value.k}, operand type: ${typeOf(x)}`);
    return { N: addNumbers(a.N as string, b.N as string, value.k === '-') };
  });
  const item = clone(old);
  const touched = new Set<string>();
  u.set.forEach(({ path }, i) => {
    setPath(item, path, values[i] as AttributeValue);
    touched.add(path[0] as string);
  });
  for (const path of u.remove) {
    removePath(item, path);
    touched.add(path[0] as string);
  }
  for (const { path, v } of u.add) {
    const cur = getPath(item, path);
    const t = typeOf(v);
    let next: AttributeValue;
    if (t === 'N') {
      if (cur && typeOf(cur) !== 'N') throw validation('An operand in the update expression has an incorrect data type');
      next = cur ? { N: addNumbers(cur.N as string, v.N as string) } : clone(v);
    } else if (t === 'SS' || t === 'NS' || t === 'BS') {
      if (cur && typeOf(cur) !== t) throw validation('An operand in the update expression has an incorrect data type');
      const scalar = t.slice(0, 1);
      const merged = [...((cur?.[t] as string[] | undefined) ?? [])];
      for (const x of v[t] as string[]) if (!merged.some((m) => valuesEqual({ [scalar]: m }, { [scalar]: x }))) merged.push(x);
      next = { [t]: merged };
    } else
      throw validation(`Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: ${t === 'L' ? 'LIST' : t === 'M' ? 'MAP' : t}`);
    setPath(item, path, next);
    touched.add(path[0] as string);
  }
  for (const { path, v } of u.delete) {
    const cur = getPath(item, path);
    const t = typeOf(v);
    if (t !== 'SS' && t !== 'NS' && t !== 'BS') throw validation(`Invalid UpdateExpression: Incorrect operand type for operator or function; operator: DELETE, operand type: ${t}`);
    touched.add(path[0] as string);
    if (!cur) continue;
    if (typeOf(cur) !== t) throw validation('An operand in the update expression has an incorrect data type');
    const scalar = t.slice(0, 1);
    const rest = (cur[t] as string[]).filter((x) => !(v[t] as string[]).some((d) => valuesEqual({ [scalar]: x }, { [scalar]: d })));
    if (rest.length === 0) removePath(item, path);
    else setPath(item, path, { [t]: rest });
  }
  return { item, touched };
}

/** The item reduced to the projected document paths (nested paths keep their parents). */
export function project(item: Item, paths: readonly Path[]): Item {
  const out: Item = {};
  for (const path of paths) {
    const v = getPath(item, path);
    if (v === undefined) continue;
    if (path.length === 1) {
      out[path[0] as string] = clone(v);
      continue;
    }
    // Build the parents as maps/lists mirroring the source (list indexes compact, as DynamoDB returns them).
    let src: AttributeValue = { M: item };
    let dst: AttributeValue = { M: out };
    for (let i = 0; i < path.length; i++) {
      const e = path[i] as PathElement;
      const leaf = i === path.length - 1;
      if (typeof e === 'number') {
        const s = (src.L as AttributeValue[])[e] as AttributeValue;
        const list = dst.L as AttributeValue[] & { idx?: Record<number, AttributeValue> };
        if (leaf) list.push(clone(s));
        else {
          const child = { [typeOf(s)]: 'L' in s ? [] : {} };
          list.push(child);
          dst = child;
        }
        src = s;
      } else {
        const s = (src.M as Item)[e] as AttributeValue;
        const map = dst.M as Item;
        if (leaf) map[e] = clone(s);
        else {
          map[e] ??= { [typeOf(s)]: 'L' in s ? [] : {} };
          dst = map[e];
        }
        src = s;
      }
    }
  }
  return out;
}
