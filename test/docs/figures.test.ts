/**
 * The notebooks' hand-drawn figures (notebooks/figures/*.svg): each is standalone, well-formed SVG
 * with a natural size, a title for screen readers, its own opaque light background (so it reads on
 * light and dark pages alike) and nothing loaded from elsewhere; ids never clash when several
 * figures are inlined on one page. The XML is read by the small parser below (no dependency).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const FIGURES = path.resolve(__dirname, '../../notebooks/figures');
const EXPECTED = [
  'function-classes.svg',
  'plain-vs-residual-block.svg',
  'residual-block-projection.svg',
  'seed-resnet-stages.svg',
];
const SVG_NS = 'http://www.w3.org/2000/svg';
/** Elements that draw nothing themselves; the background rect is the first element after them. */
const NOT_DRAWN = new Set(['title', 'desc', 'metadata', 'defs', 'style']);
const MIN_FONT_PX = 13;

interface XmlElement {
  name: string;
  attrs: Map<string, string>;
  children: XmlElement[];
  /** The element's own character data (not its children's), entities left as written. */
  text: string;
}

/**
 * A strict reader for the subset of XML that SVG files use: one root element, tags with quoted
 * attributes, text, comments and an optional XML declaration. It throws, with the line, on
 * anything else (unbalanced tags, a stray `<` or `&`, duplicate attributes, DOCTYPE, CDATA).
 */
function parseXml(source: string): XmlElement {
  const line = (i: number) => source.slice(0, i).split('\n').length;
  const fail = (i: number, why: string): never => {
    throw new Error(`line ${line(i)}: ${why}`);
  };
  const tag = /<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/y;
  const attr = /([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
  const badAmp = /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[\da-fA-F]+);)/;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let i = source.startsWith('\uFEFF') ? 1 : 0;
  const decl = /<\?xml\s[^?]*\?>/y;
  decl.lastIndex = i;
  if (decl.test(source)) i = decl.lastIndex;
  while (i < source.length) {
    if (source.startsWith('<!--', i)) {
      const end = source.indexOf('-->', i + 4);
      if (end < 0) fail(i, 'unterminated comment');
      if (source.slice(i + 4, end).includes('--')) fail(i, '"--" inside a comment');
      i = end + 3;
    } else if (source.startsWith('<!', i) || source.startsWith('<?', i)) {
      fail(
        i,
        `unsupported markup ${JSON.stringify(source.slice(i, i + 12))} (DOCTYPE, CDATA or a processing instruction)`,
      );
    } else if (source[i] === '<') {
      tag.lastIndex = i;
      const m = tag.exec(source);
      if (!m) fail(i, `malformed tag ${JSON.stringify(source.slice(i, i + 30))}`);
      const [whole, closing, name, attrText, selfClosing] = m!;
      if (closing) {
        if (attrText.trim() || selfClosing) fail(i, `malformed end tag </${name}>`);
        const open = stack.pop();
        if (!open || open.name !== name) fail(i, `</${name}> closes ${open ? `<${open.name}>` : 'nothing'}`);
      } else {
        const el: XmlElement = { name, attrs: new Map(), children: [], text: '' };
        for (const a of attrText.matchAll(attr)) {
          if (el.attrs.has(a[1])) fail(i, `<${name}> repeats the attribute ${a[1]}`);
          const value = a[2] ?? a[3];
          if (badAmp.test(value) || value.includes('<')) fail(i, `<${name} ${a[1]}> has an unescaped & or <`);
          el.attrs.set(a[1], value);
        }
        if (stack.length > 0) stack[stack.length - 1].children.push(el);
        else if (root) fail(i, `a second root element <${name}>`);
        else root = el;
        if (!selfClosing) stack.push(el);
      }
      i += whole.length;
    } else {
      const end = source.indexOf('<', i);
      const text = source.slice(i, end < 0 ? source.length : end);
      if (badAmp.test(text)) fail(i, 'an unescaped & in text');
      if (stack.length > 0) stack[stack.length - 1].text += text;
      else if (text.trim()) fail(i, 'text outside the root element');
      i += text.length;
    }
  }
  if (stack.length > 0) fail(source.length, `<${stack[stack.length - 1].name}> is never closed`);
  if (!root) fail(0, 'no root element');
  return root!;
}

function* descendants(el: XmlElement): Generator<XmlElement> {
  yield el;
  for (const c of el.children) yield* descendants(c);
}

/** A length in user units: a plain number or one with px. NaN for anything else (%, em, ...). */
const px = (s: string | undefined) => (s !== undefined && /^\s*[\d.]+(px)?\s*$/.test(s) ? parseFloat(s) : NaN);

function viewBox(svg: XmlElement): number[] {
  return (svg.attrs.get('viewBox') ?? '')
    .trim()
    .split(/[\s,]+/)
    .map(Number);
}

/** Relative luminance (0 black .. 1 white) of a #rgb/#rrggbb or white fill; undefined otherwise. */
function luminance(colour: string): number | undefined {
  let hex = colour.trim().toLowerCase();
  if (hex === 'white') hex = '#ffffff';
  if (/^#[\da-f]{3}$/.test(hex)) hex = '#' + [...hex.slice(1)].map((c) => c + c).join('');
  if (!/^#[\da-f]{6}$/.test(hex)) return undefined;
  const [r, g, b] = [1, 3, 5].map((k) => {
    const c = parseInt(hex.slice(k, k + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** Why an element refers to something outside its file, if it does. */
function externalReference(el: XmlElement): string | undefined {
  if (['image', 'script', 'foreignObject', 'iframe', 'audio', 'video'].includes(el.name)) return `<${el.name}>`;
  for (const [k, v] of el.attrs) {
    if ((k === 'href' || k === 'xlink:href' || k === 'src') && !v.startsWith('#')) return `${k}="${v}"`;
    if (/^on/i.test(k)) return `event handler ${k}`;
    for (const u of v.matchAll(/url\(\s*['"]?([^)'"]*)/g)) if (!u[1].startsWith('#')) return `${k}: url(${u[1]})`;
  }
  if (/@import|url\(\s*['"]?(?!#)/.test(el.text)) return `<${el.name}> text loads something`;
  return undefined;
}

/** The ids an element points to: url(#id) in attributes and href="#id". */
function references(el: XmlElement): string[] {
  const refs: string[] = [];
  for (const [k, v] of el.attrs) {
    if ((k === 'href' || k === 'xlink:href') && v.startsWith('#')) refs.push(v.slice(1));
    for (const u of v.matchAll(/url\(\s*['"]?#([^)'"\s]+)/g)) refs.push(u[1]);
  }
  return refs;
}

const files = fs.existsSync(FIGURES)
  ? fs
      .readdirSync(FIGURES, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.svg'))
      .sort()
  : [];
const sources = new Map(files.map((f) => [f, fs.readFileSync(path.join(FIGURES, f), 'utf8')]));

describe('notebooks/figures', () => {
  it('holds the four figures the notebooks show', () => {
    expect(files).toEqual(expect.arrayContaining(EXPECTED));
  });

  it('every id is unique across all figure files (figures may be inlined together on one page)', () => {
    const owners = new Map<string, string[]>();
    for (const [file, source] of sources) {
      for (const el of descendants(parseXml(source))) {
        const id = el.attrs.get('id');
        if (id !== undefined) owners.set(id, [...(owners.get(id) ?? []), file]);
      }
    }
    expect([...owners].filter(([, where]) => where.length > 1)).toEqual([]);
  });
});

describe.each(files)('notebooks/figures/%s', (file) => {
  const source = sources.get(file)!;
  const svg = () => parseXml(source);

  it('is well-formed XML whose root is <svg> in the SVG namespace', () => {
    const root = svg();
    expect(root.name).toBe('svg');
    expect(root.attrs.get('xmlns')).toBe(SVG_NS);
  });

  it('has a viewBox and a numeric width and height of the same aspect ratio', () => {
    const root = svg();
    const vb = viewBox(root);
    expect(vb, `viewBox="${root.attrs.get('viewBox')}"`).toHaveLength(4);
    expect(vb.every(Number.isFinite) && vb[2] > 0 && vb[3] > 0, `viewBox="${root.attrs.get('viewBox')}"`).toBe(true);
    const [w, h] = [px(root.attrs.get('width')), px(root.attrs.get('height'))];
    expect(w > 0 && h > 0, `width="${root.attrs.get('width')}" height="${root.attrs.get('height')}"`).toBe(true);
    expect(w / h).toBeCloseTo(vb[2] / vb[3], 2);
  });

  it('names itself in a non-empty <title>, its first child', () => {
    const first = svg().children[0];
    expect(first?.name).toBe('title');
    expect(first.text.trim().length).toBeGreaterThan(20);
  });

  it('draws an opaque light background over the whole viewBox before anything else', () => {
    const root = svg();
    const [x, y, w, h] = viewBox(root);
    const bg = root.children.find((c) => !NOT_DRAWN.has(c.name));
    expect(bg?.name).toBe('rect');
    const a = bg!.attrs;
    expect([px(a.get('x') ?? '0'), px(a.get('y') ?? '0'), px(a.get('width')), px(a.get('height'))]).toEqual([
      x,
      y,
      w,
      h,
    ]);
    expect(luminance(a.get('fill') ?? ''), `fill="${a.get('fill')}"`).toBeGreaterThan(0.85);
    for (const k of ['opacity', 'fill-opacity', 'style', 'class', 'transform']) expect(a.has(k), k).toBe(false);
    expect(root.attrs.has('opacity')).toBe(false);
  });

  it('refers to nothing outside the file', () => {
    expect(source.match(/href\s*=\s*["']\s*(https?:|data:|\/\/)[^"']*/gi) ?? []).toEqual([]);
    const found = [...descendants(svg())].map(externalReference).filter((r) => r !== undefined);
    expect(found).toEqual([]);
  });

  it('defines every id it points to, and its ids share one prefix (the figure short name)', () => {
    const els = [...descendants(svg())];
    const ids = els.map((el) => el.attrs.get('id')).filter((id): id is string => id !== undefined);
    const missing = els.flatMap(references).filter((ref) => !ids.includes(ref));
    expect(missing).toEqual([]);
    const prefixes = new Set(ids.map((id) => /^([a-z\d]+)-/.exec(id)?.[1] ?? `(none: ${id})`));
    expect(prefixes.size, [...prefixes].join(', ')).toBeLessThanOrEqual(1);
  });

  it(`sets text no smaller than ${MIN_FONT_PX}px, in font stacks that end with a generic family`, () => {
    const els = [...descendants(svg())];
    const small = els.filter(
      (el) => el.attrs.has('font-size') && !(px(el.attrs.get('font-size') ?? '') >= MIN_FONT_PX),
    );
    expect(small.map((el) => `<${el.name} font-size="${el.attrs.get('font-size')}">`)).toEqual([]);
    const stacks = els.map((el) => el.attrs.get('font-family')).filter((f): f is string => f !== undefined);
    expect(stacks.filter((f) => !/(^|,)\s*(sans-serif|serif|monospace)\s*$/.test(f))).toEqual([]);
    expect(svg().attrs.get('font-family'), 'the root sets the font stack').toBeDefined();
  });
});
