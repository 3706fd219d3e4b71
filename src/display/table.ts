/**
 * Tables as tables: rows of records shown as an HTML table in a notebook (and on the course site,
 * which keeps the HTML), with aligned plain text as the fallback everywhere else. What notebooks
 * use instead of console.table, whose ASCII boxes land in a monospace stream.
 */
import { JUPYTER_DISPLAY } from './jupyter_display';
import { displayBundle, type MimeBundle } from './display';

export type TableCell = string | number | boolean | null | undefined;
export type TableRow = Record<string, TableCell>;

export interface TableOptions {
  /** A caption above the table. */
  title?: string;
  /** Column order (default: the keys in order of first appearance). */
  columns?: string[];
}

const escapeHtml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const cellText = (v: TableCell) => (v === null || v === undefined ? '' : String(v));

/** A table value: a cell that ends in it, or display(it), shows the HTML table. */
export class Table {
  readonly columns: string[];

  constructor(
    readonly rows: TableRow[],
    readonly opts: TableOptions = {},
  ) {
    if (!Array.isArray(rows)) throw new TypeError(`table: rows must be an array of records, got ${typeof rows}`);
    rows.forEach((r, i) => {
      if (typeof r !== 'object' || r === null || Array.isArray(r))
        throw new TypeError(`table: row ${i} must be a record of column -> value, got ${JSON.stringify(r)}`);
    });
    this.columns = opts.columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  }

  html(): string {
    const numeric = this.columns.map((c) => this.rows.every((r) => r[c] === undefined || typeof r[c] === 'number'));
    const align = (i: number) => (numeric[i] ? ' style="text-align:right"' : ' style="text-align:left"');
    const head = this.columns.map((c, i) => `<th${align(i)}>${escapeHtml(c)}</th>`).join('');
    const body = this.rows
      .map(
        (r) => `<tr>${this.columns.map((c, i) => `<td${align(i)}>${escapeHtml(cellText(r[c]))}</td>`).join('')}</tr>`,
      )
      .join('');
    const caption = this.opts.title ? `<caption>${escapeHtml(this.opts.title)}</caption>` : '';
    return `<table class="resnet-ts-table">${caption}<thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
  }

  text(): string {
    const cells = [this.columns, ...this.rows.map((r) => this.columns.map((c) => cellText(r[c])))];
    const widths = this.columns.map((_, i) => Math.max(...cells.map((row) => row[i].length)));
    const line = (row: string[]) =>
      row
        .map((s, i) => s.padEnd(widths[i]))
        .join('  ')
        .trimEnd();
    return [
      ...(this.opts.title ? [this.opts.title] : []),
      line(this.columns),
      widths.map((w) => '-'.repeat(w)).join('  '),
      ...cells.slice(1).map(line),
    ].join('\n');
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    return { 'text/html': this.html(), 'text/plain': this.text() };
  }
}

/** A table of records (see Table); end a cell with it, or pass it to display(). */
export function table(rows: TableRow[], opts: TableOptions = {}): Table {
  return new Table(rows, opts);
}

/** Shows a table now: HTML in a notebook, the aligned text on stdout elsewhere (returns nothing, so a cell ending in it shows it once). */
export function showTable(rows: TableRow[], opts: TableOptions = {}): void {
  const t = new Table(rows, opts);
  if (!displayBundle(t[JUPYTER_DISPLAY]())) console.log(t.text());
}
