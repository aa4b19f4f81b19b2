/**
 * The text of each page of a PDF that Chromium printed, for tests, with no dependency: Chromium's PDFs (Skia) keep
 * every object at top level (no object streams), compress content streams with Flate, and give every font a
 * ToUnicode CMap; the text is the glyph codes of the `<hex>` strings of each page's content, read through the CMap of
 * the font set before them (`/F4 11 Tf`). Enough to count what a page says, not a general PDF reader: an object
 * stream or an encrypted PDF reads as pages without text, which a test's assertions then catch.
 */
import { inflateSync } from 'node:zlib';

/** The text of each page, in page order; a text object ends with a line break. */
export function pdfPageTexts(pdf: Buffer): string[] {
  const src = pdf.toString('latin1');
  const objects = new Map<number, { dict: string; stream?: Buffer }>();
  for (const m of src.matchAll(/(\d+) 0 obj\b/g)) {
    const start = (m.index ?? 0) + m[0].length;
    const end = src.indexOf('endobj', start);
    const body = src.slice(start, end);
    const s = /\bstream\r?\n/.exec(body);
    if (!s) {
      objects.set(Number(m[1]), { dict: body });
      continue;
    }
    const dict = body.slice(0, s.index);
    const len = Number(/\/Length (\d+)/.exec(dict)?.[1]);
    const from = start + s.index + s[0].length;
    let data = pdf.subarray(from, from + len);
    if (/\/FlateDecode/.test(dict)) data = inflateSync(data);
    objects.set(Number(m[1]), { dict, stream: data });
  }
  const ref = (text: string, key: string): number | undefined => {
    const r = new RegExp(`/${key}\\s+(\\d+) 0 R`).exec(text);
    return r ? Number(r[1]) : undefined;
  };
  const hexToString = (hex: string): string => {
    let out = '';
    for (let i = 0; i + 4 <= hex.length; i += 4) out += String.fromCharCode(parseInt(hex.slice(i, i + 4), 16));
    return out;
  };
  const cmaps = new Map<number, { width: number; map: Map<number, string> }>();
  const fontMap = (fontObj: number) => {
    const cached = cmaps.get(fontObj);
    if (cached) return cached;
    const dict = objects.get(fontObj)?.dict ?? '';
    const width = /\/Subtype\s*\/Type0/.test(dict) ? 2 : 1;
    const map = new Map<number, string>();
    const tu = ref(dict, 'ToUnicode');
    const cmap = tu !== undefined ? (objects.get(tu)?.stream?.toString('latin1') ?? '') : '';
    for (const block of cmap.matchAll(/beginbfchar([\s\S]*?)endbfchar/g))
      for (const p of (block[1] ?? '').matchAll(/<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>/g)) map.set(parseInt(p[1] as string, 16), hexToString(p[2] as string));
    for (const block of cmap.matchAll(/beginbfrange([\s\S]*?)endbfrange/g))
      for (const p of (block[1] ?? '').matchAll(/<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>/g)) {
        const lo = parseInt(p[1] as string, 16);
        const hi = parseInt(p[2] as string, 16);
        const u = parseInt(p[3] as string, 16);
        for (let c = lo; c <= hi; c++) map.set(c, String.fromCodePoint(u + c - lo));
      }
    const entry = { width, map };
    cmaps.set(fontObj, entry);
    return entry;
  };
  const root = [...objects.values()].find((o) => /\/Type\s*\/Pages\b/.test(o.dict) && !/\/Parent/.test(o.dict));
  const kids = [...(/\/Kids\s*\[([^\]]*)\]/.exec(root?.dict ?? '')?.[1] ?? '').matchAll(/(\d+) 0 R/g)].map((k) => Number(k[1]));
  return kids.map((k) => {
    const page = objects.get(k)?.dict ?? '';
    const resNo = ref(page, 'Resources');
    const resources = resNo !== undefined ? (objects.get(resNo)?.dict ?? '') : page;
    const fontsText = /\/Font\s*<<([^>]*)>>/.exec(resources)?.[1] ?? '';
    const fonts = new Map([...fontsText.matchAll(/\/(\S+)\s+(\d+) 0 R/g)].map((f) => [f[1] as string, Number(f[2])]));
    const contents = [...(/\/Contents\s*(\[[^\]]*\]|\d+ 0 R)/.exec(page)?.[1] ?? '').matchAll(/(\d+) 0 R/g)].map(
      (c) => objects.get(Number(c[1]))?.stream?.toString('latin1') ?? '',
    );
    let text = '';
    let font: { width: number; map: Map<number, string> } | undefined;
    for (const t of contents.join('\n').matchAll(/\/([^\s/<>[\]()]+)\s+[\d.]+\s+Tf|<([0-9a-fA-F]*)>|\b(ET)\b/g)) {
      if (t[1] !== undefined) font = fonts.has(t[1]) ? fontMap(fonts.get(t[1]) as number) : undefined;
      else if (t[3]) text += '\n';
      else if (t[2] !== undefined && font) {
        const w = font.width * 2;
        for (let i = 0; i + w <= t[2].length; i += w) text += font.map.get(parseInt(t[2].slice(i, i + w), 16)) ?? '';
      }
    }
    return text;
  });
}
