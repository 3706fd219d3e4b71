/**
 * Reading and writing .ipynb (nbformat 4) files: sources as one string per cell in memory,
 * Jupyter's own on-disk layout when written (keys sorted, one-space indent, sources as lists of
 * lines, no ASCII escaping, final newline), so a notebook written here diffs cleanly against one
 * saved by Jupyter.
 */
import * as fs from 'node:fs';

export type CellType = 'markdown' | 'code' | 'raw';

export interface Output {
  output_type: 'stream' | 'display_data' | 'execute_result' | 'error' | 'update_display_data';
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  execution_count?: number | null;
  ename?: string;
  evalue?: string;
  traceback?: string[];
  [k: string]: unknown;
}

export interface Cell {
  cell_type: CellType;
  id?: string;
  metadata: Record<string, unknown>;
  /** The cell's text, joined (on disk it is usually a list of lines). */
  source: string;
  /** Code cells only. */
  execution_count?: number | null;
  /** Code cells only. */
  outputs?: Output[];
  /** Markdown and raw cells: inline attachments (kept when reading ipynb, not carried in markdown). */
  attachments?: Record<string, unknown>;
}

export interface Notebook {
  cells: Cell[];
  metadata: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}

/** Joins a multiline string field of nbformat ("source", "text", mime data): string or list of lines. */
export function joinText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.join('');
  return '';
}

/** Splits text into nbformat's list of lines, each keeping its own line ending ("\n" or "\r\n"). */
export function splitLines(s: string): string[] {
  if (s === '') return [];
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\n') {
      out.push(s.slice(start, i + 1));
      start = i + 1;
    }
  }
  if (start < s.length) out.push(s.slice(start));
  return out;
}

/** Parses the text of an .ipynb file (nbformat 4). `name` only labels errors. */
export function parseNotebook(text: string, name = 'notebook'): Notebook {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${name}: not JSON: ${(e as Error).message}`, { cause: e });
  }
  const nb = raw as { cells?: unknown; metadata?: unknown; nbformat?: unknown; nbformat_minor?: unknown };
  if (!nb || typeof nb !== 'object' || !Array.isArray(nb.cells))
    throw new Error(`${name}: no "cells" list (not an nbformat 4 notebook)`);
  if (nb.nbformat !== 4) throw new Error(`${name}: nbformat ${String(nb.nbformat)}, only 4 is supported`);
  const cells: Cell[] = nb.cells.map((c: unknown, i: number) => {
    const cell = c as Record<string, unknown>;
    const type = cell.cell_type;
    if (type !== 'markdown' && type !== 'code' && type !== 'raw')
      throw new Error(`${name}: cell ${i + 1}: unknown cell_type ${JSON.stringify(type)}`);
    const out: Cell = {
      cell_type: type,
      metadata: (cell.metadata as Record<string, unknown>) ?? {},
      source: joinText(cell.source),
    };
    if (typeof cell.id === 'string') out.id = cell.id;
    if (type === 'code') {
      out.execution_count = (cell.execution_count as number | null | undefined) ?? null;
      out.outputs = (cell.outputs as Output[] | undefined) ?? [];
    } else if (cell.attachments !== undefined) {
      out.attachments = cell.attachments as Record<string, unknown>;
    }
    return out;
  });
  return {
    cells,
    metadata: (nb.metadata as Record<string, unknown>) ?? {},
    nbformat: 4,
    nbformat_minor: typeof nb.nbformat_minor === 'number' ? nb.nbformat_minor : 0,
  };
}

export function readNotebook(file: string): Notebook {
  return parseNotebook(fs.readFileSync(file, 'utf8'), file);
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(o)
        .sort()
        .map((k) => [k, sortKeys(o[k])]),
    );
  }
  return v;
}

/** Multiline output fields that nbformat stores as lists of lines. */
function outputToJson(o: Output): unknown {
  const r: Record<string, unknown> = { ...o };
  if (typeof r.text === 'string') r.text = splitLines(r.text);
  if (r.data && typeof r.data === 'object') {
    r.data = Object.fromEntries(
      Object.entries(r.data as Record<string, unknown>).map(([k, v]) => [
        k,
        typeof v === 'string' && (k.startsWith('text/') || k === 'image/svg+xml') ? splitLines(v) : v,
      ]),
    );
  }
  return r;
}

/** The .ipynb text of a notebook, laid out as Jupyter writes it. */
export function stringifyNotebook(nb: Notebook): string {
  const cells = nb.cells.map((c) => {
    const r: Record<string, unknown> = { cell_type: c.cell_type, metadata: c.metadata, source: splitLines(c.source) };
    if (c.id !== undefined) r.id = c.id;
    if (c.cell_type === 'code') {
      r.execution_count = c.execution_count ?? null;
      r.outputs = (c.outputs ?? []).map(outputToJson);
    } else if (c.attachments !== undefined) {
      r.attachments = c.attachments;
    }
    return r;
  });
  const doc = { cells, metadata: nb.metadata, nbformat: nb.nbformat, nbformat_minor: nb.nbformat_minor };
  return JSON.stringify(sortKeys(doc), null, 1) + '\n';
}
