/**
 * Terminal text that fits (issue 20): the width human output is laid out for, and display-width-aware
 * measuring, padding, truncating and wrapping (ANSI colour codes and wide characters counted as the terminal
 * shows them). The width comes from the terminal (`OperatorIo.columns`), else `COLUMNS`, else 100 columns when
 * stdout is not a terminal (a pipe, a file, CI). `string-width` and `wrap-ansi` do the measuring and wrapping.
 */
import stringWidth from 'string-width';
import wrapAnsi from 'wrap-ansi';

/** The width human output uses when stdout is not a terminal and `COLUMNS` says nothing. */
export const DEFAULT_WIDTH = 100;
/** Narrower than this and the layout would not be readable: lines are laid out for this and wrap. */
export const MIN_WIDTH = 40;

/** The columns to lay human output out for: the terminal's, else `COLUMNS`, else 100. */
export function outputWidth(io: { readonly isTTY: boolean; readonly columns?: number; readonly env: NodeJS.ProcessEnv }): number {
  const fromEnv = Number.parseInt(io.env.COLUMNS ?? '', 10);
  const w = io.isTTY && io.columns && io.columns > 0 ? io.columns : Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : DEFAULT_WIDTH;
  return Math.max(MIN_WIDTH, w);
}

/** How many columns `text` takes on a terminal (colour codes take none, wide characters two). */
export const displayWidth = (text: string): number => stringWidth(text);

/** `text` padded with spaces to `width` columns (never cut). */
export const padEnd = (text: string, width: number): string => text + ' '.repeat(Math.max(0, width - displayWidth(text)));

/** `text` cut to `width` columns, ending in `…` when cut (colour codes kept intact). */
export function truncate(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  if (width <= 1) return '…'.slice(0, width);
  // wrap-ansi's hard wrap keeps the colour codes balanced; the first line is the longest prefix that fits.
  const first = wrapAnsi(text, width - 1, { hard: true, trim: false, wordWrap: false }).split('\n')[0] ?? '';
  return `${first}…`;
}

/** `text` wrapped at `width` columns, continuation lines indented by `indent` spaces. */
export function wrap(text: string, width: number, indent = 0): string {
  const pad = ' '.repeat(indent);
  return text
    .split('\n')
    .map((line) => {
      const [first = '', ...rest] = wrapAnsi(line, width, { hard: true, trim: true }).split('\n');
      if (rest.length === 0) return first;
      const more = wrapAnsi(rest.join(' '), Math.max(1, width - indent), { hard: true, trim: true }).split('\n');
      return [first, ...more.map((l) => pad + l)].join('\n');
    })
    .join('\n');
}

/** Every full `sha256:<64 hex>` digest in `text` in its short form, `sha256:` and 12 hex digits (`--full-digests` keeps them whole). */
export const shortDigests = (text: string): string => text.replace(/\b(sha256:[0-9a-f]{12})[0-9a-f]{52}\b/g, '$1');

/**
 * `prefix` then `text`, wrapped so that no line is wider than `width`: continuation lines are indented under the
 * start of `text`. When fewer than `minText` columns are left after the prefix, or a word of `text` (an ARN) is wider
 * than the room left but would fit below, `text` starts on the next line, indented by `fallbackIndent`, and wraps
 * there. Nothing is cut. Returns the lines.
 */
export function hanging(prefix: string, text: string, width: number, options: { minText?: number; fallbackIndent?: number } = {}): string[] {
  const start = displayWidth(prefix);
  const head = prefix.trimEnd();
  if (text === '') return [displayWidth(head) <= width ? head : wrap(head, width, 2)].flatMap((l) => l.split('\n'));
  const minText = options.minText ?? 30;
  const room = width - start;
  // A word (an ARN, a URL) wider than the room beside the prefix would be broken: below, it may fit whole.
  const longest = Math.max(...text.split(/\s+/).map(displayWidth));
  const fallbackRoom = width - Math.min(options.fallbackIndent ?? 4, width - MIN_WIDTH / 2);
  if (room >= minText && (longest <= room || longest > fallbackRoom)) return indentWrapped(text, width - start, ' '.repeat(start)).map((l, i) => (i === 0 ? prefix + l : l));
  const indent = Math.min(options.fallbackIndent ?? 4, width - MIN_WIDTH / 2);
  const first = displayWidth(head) <= width ? [head] : wrap(head, width, 2).split('\n');
  const pad = ' '.repeat(indent);
  return [...first, ...indentWrapped(text, width - indent, pad).map((l, i) => (i === 0 ? pad + l : l))];
}

/** `text` wrapped at `width` columns, every line after the first prefixed by `pad` (the first one is not). */
function indentWrapped(text: string, width: number, pad: string): string[] {
  return wrapAnsi(text, width, { hard: true, trim: true })
    .split('\n')
    .map((l, i) => (i === 0 ? l : pad + l));
}

/**
 * One line of human output made to fit `width`: as it is when it fits, else wrapped with its own leading
 * indentation kept and continuation lines indented `hang` more. Returns the lines.
 */
export function fitLine(line: string, width: number, hang = 2): string[] {
  if (displayWidth(line) <= width) return [line];
  const lead = /^ */.exec(line)?.[0] ?? '';
  const room = Math.max(MIN_WIDTH / 2, width - lead.length);
  return wrap(line.slice(lead.length), room, hang)
    .split('\n')
    .map((l) => lead + l);
}

/** Every line of `text` made to fit `width` (fitLine). */
export const fitText = (text: string, width: number, hang = 2): string =>
  text
    .split('\n')
    .flatMap((l) => fitLine(l, width, hang))
    .join('\n');
