/**
 * Notebook <-> markdown, on remark (unified + remark-parse / remark-stringify, mdast).
 * The format is described in FORMAT.md beside this file. In short:
 *
 *   ---                                  front matter: notebook metadata under `jupyter:`
 *   jupyter:
 *     kernelspec: {...}
 *     nbformat: 4
 *     nbformat_minor: 5
 *   ---
 *
 *   <!-- #region id=01-00 {"tags":["intro"]} -->
 *   a markdown cell, verbatim
 *   <!-- #endregion -->
 *
 *   ```ts id=01-02 {"tags":["setup"]}
 *   a code cell, verbatim
 *   ```
 *
 *   <!-- #raw id=01-03 -->
 *   a raw cell, verbatim
 *   <!-- #endraw -->
 *
 * The writer checks its own output by reading it back; a markdown or raw cell whose text would not
 * survive (an unclosed fence, HTML comment or HTML block swallowing the end marker) is written as
 * a fenced block instead: ```md-cell ...``` or ```raw-cell ...```, which always survives.
 */
import { unified } from 'unified';
import remarkParse from 'remark-parse';
import remarkStringify from 'remark-stringify';
import remarkFrontmatter from 'remark-frontmatter';
import type { Root, RootContent, Code, Html } from 'mdast';
import * as YAML from 'yaml';
import type { Cell, CellType, Notebook } from './ipynb';

/** Fence languages that make a code cell (the first is written). */
const CODE_LANGS = ['ts', 'typescript'];
const MD_FALLBACK = 'md-cell';
const RAW_FALLBACK = 'raw-cell';

const START_RE = /^<!-- #(region|raw)(?:\s+(.*?))?\s*-->$/;
const END_RE = /^<!-- #end(region|raw)\s*-->$/;
/** A line of cell text that looks like one of our markers (with any number of #): escaped by one more #. */
const MARKER_LIKE_RE = /^(\s*<!--\s*)(#+)(\s*(?:end)?(?:region|raw)\b)/;

function escapeMarkers(s: string): string {
  return s
    .split('\n')
    .map((l) => l.replace(MARKER_LIKE_RE, '$1#$2$3'))
    .join('\n');
}

function unescapeMarkers(s: string): string {
  return s
    .split('\n')
    .map((l) =>
      l.replace(MARKER_LIKE_RE, (_m, a: string, h: string, b: string) => a + (h.length > 1 ? h.slice(1) : h) + b),
    )
    .join('\n');
}

/** `id=X {"json"}` (either part optional) for a cell; safe inside an HTML comment and a backtick fence's info string. */
function cellAttributes(cell: Cell): string {
  const parts: string[] = [];
  if (cell.id !== undefined) {
    if (!/^[A-Za-z0-9_-]+$/.test(cell.id))
      throw new Error(`cell id ${JSON.stringify(cell.id)} is not a valid nbformat cell id`);
    parts.push(`id=${cell.id}`);
  }
  if (cell.metadata && Object.keys(cell.metadata).length > 0) {
    parts.push(JSON.stringify(cell.metadata).replace(/`/g, '\\u0060').replace(/-->/g, '--\\u003e'));
  }
  return parts.join(' ');
}

function parseAttributes(
  s: string | null | undefined,
  where: string,
): { id?: string; metadata: Record<string, unknown> } {
  const text = (s ?? '').trim();
  const m = /^(?:id=([A-Za-z0-9_-]+))?\s*(\{.*\})?$/s.exec(text);
  if (!m)
    throw new Error(
      `${where}: cannot read cell attributes ${JSON.stringify(text)} (expected: id=ID {"json": "metadata"})`,
    );
  let metadata: Record<string, unknown> = {};
  if (m[2]) {
    try {
      metadata = JSON.parse(m[2]);
    } catch (e) {
      throw new Error(`${where}: cell metadata is not JSON: ${(e as Error).message}`, { cause: e });
    }
  }
  return m[1] !== undefined ? { id: m[1], metadata } : { metadata };
}

function frontMatter(nb: Notebook): string {
  for (const k of ['nbformat', 'nbformat_minor']) {
    if (k in nb.metadata) throw new Error(`notebook metadata has a key '${k}', which the markdown form reserves`);
  }
  return YAML.stringify(
    { jupyter: { ...nb.metadata, nbformat: nb.nbformat, nbformat_minor: nb.nbformat_minor } },
    { lineWidth: 0 },
  ).replace(/\n$/, '');
}

function cellNode(cell: Cell, fallback: boolean): RootContent {
  const attrs = cellAttributes(cell);
  if (cell.cell_type === 'code') {
    const node: Code = { type: 'code', lang: CODE_LANGS[0], meta: attrs || null, value: cell.source };
    return node;
  }
  if (fallback) {
    return {
      type: 'code',
      lang: cell.cell_type === 'raw' ? RAW_FALLBACK : MD_FALLBACK,
      meta: attrs || null,
      value: cell.source,
    } as Code;
  }
  const kind = cell.cell_type === 'raw' ? 'raw' : 'region';
  const node: Html = {
    type: 'html',
    value: `<!-- #${kind}${attrs ? ' ' + attrs : ''} -->\n${escapeMarkers(cell.source)}\n<!-- #end${kind} -->`,
  };
  return node;
}

function render(nb: Notebook, fallback: Set<number>): string {
  const root: Root = {
    type: 'root',
    children: [{ type: 'yaml', value: frontMatter(nb) }, ...nb.cells.map((c, i) => cellNode(c, fallback.has(i)))],
  };
  return unified().use(remarkFrontmatter, ['yaml']).use(remarkStringify, { fences: true }).stringify(root);
}

function sameCell(a: Cell, b: Cell | undefined): boolean {
  return (
    !!b &&
    a.cell_type === b.cell_type &&
    a.source === b.source &&
    a.id === b.id &&
    JSON.stringify(a.metadata) === JSON.stringify(b.metadata)
  );
}

/**
 * The markdown form of a notebook: cell order, types, ids, sources and metadata, notebook
 * metadata; no outputs or execution counts. Guaranteed to read back to the same cells.
 */
export function notebookToMarkdown(nb: Notebook): string {
  const fallback = new Set<number>();
  const survives = (cells: Cell[], fb: Set<number>): boolean => {
    try {
      const back = markdownToNotebook(render({ ...nb, cells }, fb));
      return back.cells.length === cells.length && cells.every((c, i) => sameCell(c, back.cells[i]));
    } catch {
      return false;
    }
  };
  // Cells whose text cannot sit between markers on its own.
  nb.cells.forEach((c, i) => {
    if (c.cell_type !== 'code' && !survives([c], new Set())) fallback.add(i);
  });
  for (;;) {
    if (survives(nb.cells, fallback)) break;
    // Whatever is left: the first prefix that breaks names the cell to fence.
    let k = 1;
    while (k <= nb.cells.length && survives(nb.cells.slice(0, k), fallback)) k++;
    const culprit = Math.min(k, nb.cells.length) - 1;
    if (fallback.has(culprit) || nb.cells[culprit].cell_type === 'code') {
      throw new Error(`cell ${culprit + 1} does not survive the markdown form (this is a bug in notebook-md)`);
    }
    fallback.add(culprit);
  }
  const md = render(nb, fallback);
  const back = markdownToNotebook(md);
  if (JSON.stringify(back.metadata) !== JSON.stringify(nb.metadata) || back.nbformat_minor !== nb.nbformat_minor) {
    throw new Error('notebook metadata does not survive the markdown front matter');
  }
  return md;
}

function lineOf(text: string, offset: number): number {
  let n = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text[i] === '\n') n++;
  return n;
}

/** Start offset of the line after the one containing `offset`. */
function nextLineStart(text: string, offset: number): number {
  const nl = text.indexOf('\n', offset);
  return nl < 0 ? text.length : nl + 1;
}

/** The text inside a fenced code node, verbatim (line endings kept). */
function fenceContent(text: string, node: Code): string {
  const start = node.position!.start.offset!;
  const end = node.position!.end.offset!;
  const openLineEnd = text.indexOf('\n', start);
  if (openLineEnd < 0 || openLineEnd >= end) return '';
  const bodyStart = openLineEnd + 1;
  const lastLineStart = text.lastIndexOf('\n', end - 1) + 1;
  const lastLine = text.slice(lastLineStart, end);
  const closed = lastLineStart >= bodyStart && /^\s*(`{3,}|~{3,})\s*$/.test(lastLine);
  let body = text.slice(bodyStart, closed ? lastLineStart : end);
  if (closed) {
    const crlf = text[openLineEnd - 1] === '\r';
    if (crlf && body.endsWith('\r\n')) body = body.slice(0, -2);
    else if (body.endsWith('\n')) body = body.slice(0, -1);
  }
  return body;
}

export interface MarkdownReadOptions {
  /** Labels errors (a file name). */
  name?: string;
}

/** The front matter's `jupyter` key: the notebook's metadata and nbformat version. */
function readFrontMatter(yaml: string, nb: Notebook, where: string): void {
  let fm: unknown;
  try {
    fm = YAML.parse(yaml);
  } catch (e) {
    throw new Error(`${where}: front matter is not YAML: ${(e as Error).message}`, { cause: e });
  }
  const j = (fm as { jupyter?: Record<string, unknown> } | null)?.jupyter ?? {};
  const { nbformat, nbformat_minor, ...metadata } = j as Record<string, unknown>;
  nb.metadata = metadata;
  if (nbformat !== undefined && nbformat !== 4)
    throw new Error(`${where}: nbformat ${String(nbformat)}, only 4 is supported`);
  if (typeof nbformat_minor === 'number') nb.nbformat_minor = nbformat_minor;
}

/** A markdown or raw cell written between `<!-- #region ... -->` (or `#raw`) and its end marker. */
function markerCell(
  text: string,
  start: RootContent,
  end: RootContent,
  kind: string,
  attrText: string,
  where: string,
): Cell {
  const bodyStart = nextLineStart(text, start.position!.start.offset!);
  const endStart = end.position!.start.offset!;
  let body = bodyStart <= endStart - 1 ? text.slice(bodyStart, endStart - 1) : '';
  if (body.endsWith('\r') && text[bodyStart - 2] === '\r') body = body.slice(0, -1);
  const attrs = parseAttributes(attrText, where);
  const type: CellType = kind === 'raw' ? 'raw' : 'markdown';
  return {
    cell_type: type,
    ...(attrs.id !== undefined ? { id: attrs.id } : {}),
    metadata: attrs.metadata,
    source: unescapeMarkers(body),
  } as Cell;
}

/**
 * Reads the markdown form back into a notebook (no outputs, execution counts null). Text outside
 * any marker or fence (hand-written markdown) becomes markdown cells, one per run of blocks.
 */
export function markdownToNotebook(text: string, options: MarkdownReadOptions = {}): Notebook {
  const name = options.name ?? 'markdown';
  const tree = unified().use(remarkParse).use(remarkFrontmatter, ['yaml']).parse(text) as Root;
  const nb: Notebook = { cells: [], metadata: {}, nbformat: 4, nbformat_minor: 5 };
  const kids = tree.children;
  let loose: RootContent[] = [];
  const flushLoose = () => {
    if (loose.length === 0) return;
    const s = text.slice(loose[0].position!.start.offset!, loose[loose.length - 1].position!.end.offset!);
    nb.cells.push({ cell_type: 'markdown', metadata: {}, source: s });
    loose = [];
  };
  for (let i = 0; i < kids.length; i++) {
    const node = kids[i];
    const where = `${name}:${node.position?.start.line ?? '?'}`;
    if (node.type === 'yaml' && i === 0) {
      readFrontMatter(node.value, nb, where);
      continue;
    }
    if (node.type === 'html') {
      const m = START_RE.exec(node.value);
      if (m) {
        flushLoose();
        const kind = m[1];
        let j = i + 1;
        for (; j < kids.length; j++) {
          const e = kids[j];
          const em = e.type === 'html' ? END_RE.exec(e.value) : null;
          if (em && em[1] === kind) break;
        }
        if (j >= kids.length) throw new Error(`${where}: <!-- #${kind} --> is never closed by <!-- #end${kind} -->`);
        nb.cells.push(markerCell(text, node, kids[j], kind, m[2], where));
        i = j;
        continue;
      }
      if (END_RE.test(node.value)) throw new Error(`${where}: ${node.value} without a matching start marker`);
    }
    if (node.type === 'code' && node.lang && [...CODE_LANGS, MD_FALLBACK, RAW_FALLBACK].includes(node.lang)) {
      flushLoose();
      const attrs = parseAttributes(node.meta, where);
      const source = fenceContent(text, node);
      const idPart = attrs.id !== undefined ? { id: attrs.id } : {};
      if (node.lang === MD_FALLBACK)
        nb.cells.push({ cell_type: 'markdown', ...idPart, metadata: attrs.metadata, source });
      else if (node.lang === RAW_FALLBACK)
        nb.cells.push({ cell_type: 'raw', ...idPart, metadata: attrs.metadata, source });
      else
        nb.cells.push({
          cell_type: 'code',
          ...idPart,
          metadata: attrs.metadata,
          source,
          execution_count: null,
          outputs: [],
        });
      continue;
    }
    loose.push(node);
  }
  flushLoose();
  return nb;
}

/** 1-based line number of an offset (for messages). */
export { lineOf };
