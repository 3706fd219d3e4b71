/**
 * Cell errors as Jupyter errors ({ ename, evalue, traceback }): TypeScript diagnostics with the
 * cell's line:column and the offending line, runtime errors with their stack mapped back to the
 * cells' own lines (each cell runs as the script `cell[N]`), Node internals dropped and runs of
 * library frames folded into one line.
 */

export interface JupyterError {
  ename: string;
  evalue: string;
  traceback: string[];
}

/** A diagnostic as tslab's executor reports it: console.error('%s%d:%d - %s', file, line, col, text). */
export interface Diagnostic {
  /** 'file.ts ' for a diagnostic in another file, '' for the cell. */
  file: string;
  line: number;
  column: number;
  message: string;
}

const RED = '\x1b[31m';
const BOLD = '\x1b[1m';
const CYAN = '\x1b[36m';
const RESET = '\x1b[0m';

export function diagnosticsError(diags: Diagnostic[], source: string): JupyterError {
  const lines = source.split('\n');
  const at = (d: Diagnostic) => `${d.file ? d.file.trim() + ' ' : ''}line ${d.line}:${d.column}`;
  const first = diags[0];
  const more = diags.length > 1 ? ` (and ${diags.length - 1} more)` : '';
  const evalue = first ? `${at(first)}: ${first.message}${more}` : 'compile error';
  const traceback = [`${RED}${BOLD}TypeScriptError${RESET}: ${evalue}`];
  for (const d of diags) {
    traceback.push(`  ${CYAN}${d.file ? at(d) : `cell ${at(d)}`}${RESET}: ${d.message}`);
    const text = d.file ? undefined : lines[d.line - 1];
    if (text !== undefined) {
      const gutter = `    ${d.line} | `;
      traceback.push(`${gutter}${text}`, `${' '.repeat(gutter.length + d.column - 1)}${RED}^${RESET}`);
    }
  }
  return { ename: 'TypeScriptError', evalue, traceback };
}

/** What the kernel knows about an executed cell: its source and the JavaScript it ran. */
export interface CellCode {
  source: string;
  output: string;
}

const TOKEN = /[A-Za-z_$][\w$]*|\d+(?:\.\d+)?|'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`[^`]*`|[{}()[\].,;=+\-*/<>!&|?:]/g;

function tokens(line: string): string[] {
  return (line.replace(/\bexports\./g, '').match(TOKEN) ?? []).map((t) => t.replace(/^"(.*)"$/, "'$1'"));
}

/**
 * The 1-based line of `cell.source` that produced line `jsLine` of `cell.output`. tslab's
 * TypeScript output keeps statements on their own lines but drops types and blank lines and
 * prefixes earlier cells' variables with `exports.`, so the source line sharing the most tokens
 * with the generated one wins (ties: the one closest below the line before it).
 */
export function mapCellLine(cell: CellCode, jsLine: number): number | undefined {
  const gen = cell.output.split('\n')[jsLine - 1];
  if (gen === undefined) return undefined;
  const want = tokens(gen);
  if (want.length === 0) return undefined;
  let best: number | undefined;
  let bestScore = 0;
  cell.source.split('\n').forEach((text, i) => {
    const have = new Map<string, number>();
    for (const t of tokens(text)) have.set(t, (have.get(t) ?? 0) + 1);
    let common = 0;
    for (const t of want) {
      const n = have.get(t) ?? 0;
      if (n > 0) {
        common++;
        have.set(t, n - 1);
      }
    }
    // Share of the generated line found in the source line (TypeScript may split one source line
    // into several, e.g. `if (c) throw e;`), with a small penalty for unrelated source tokens.
    const score = common / want.length - (0.01 * Math.max(0, tokens(text).length - common)) / want.length;
    if (score > bestScore) {
      bestScore = score;
      best = i + 1;
    }
  });
  return bestScore >= 0.6 ? best : undefined;
}

const FRAME = /^\s*at (?:(.*?) \()?(.*?):(\d+):(\d+)\)?$/;
const CELL_SCRIPT = /^cell\[(\d+)\]$/;
const KERNEL_FILE = /\/tools\/kernel\/[^/]+\.[jt]s$|\/node_modules\/tslab\//;

function libraryName(file: string): string | undefined {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
  return m?.[1];
}

/** A runtime error (anything thrown) as a Jupyter error with a cell-mapped stack. */
export function runtimeError(e: unknown, cells: Map<number, CellCode>, projectRoot: string): JupyterError {
  if (!(e instanceof Error)) {
    const text = typeof e === 'string' ? e : (JSON.stringify(e) ?? String(e));
    return { ename: 'Error', evalue: `thrown value: ${text}`, traceback: [`${RED}${BOLD}Uncaught${RESET} ${text}`] };
  }
  const ename = e.name || e.constructor?.name || 'Error';
  const evalue = e.message;
  const traceback = [`${RED}${BOLD}${ename}${RESET}: ${evalue}`];
  let folded: { lib: string; n: number } | null = null;
  const flush = () => {
    if (folded) traceback.push(`    ... ${folded.n} frame${folded.n > 1 ? 's' : ''} in ${folded.lib}`);
    folded = null;
  };
  for (const raw of (e.stack ?? '').split('\n').slice(1)) {
    const m = FRAME.exec(raw);
    if (!m) continue;
    const [, fn, file, line, col] = m;
    // Below the cells is the kernel itself (tslab's executor, this kernel): not the user's concern.
    if (KERNEL_FILE.test(file)) break;
    if (file.startsWith('node:') || file === 'native' || file.startsWith('evalmachine')) continue;
    const lib = libraryName(file);
    if (lib) {
      if (folded && folded.lib === lib) folded.n++;
      else {
        flush();
        folded = { lib, n: 1 };
      }
      continue;
    }
    flush();
    const cellNo = CELL_SCRIPT.exec(file)?.[1];
    // Earlier cells' functions are called through tslab's `exports` proxy: "Proxy.outer" is outer.
    const bare = fn?.replace(/^(Proxy|exports|Object)\./, '');
    const name = bare && bare !== '<anonymous>' ? `${bare} ` : '';
    if (cellNo !== undefined) {
      const cell = cells.get(Number(cellNo));
      // The last line of a cell's script is the wrapper that called it.
      if (cell && Number(line) > cell.output.split('\n').length) continue;
      const srcLine = cell ? mapCellLine(cell, Number(line)) : undefined;
      if (srcLine !== undefined) {
        traceback.push(`    at ${name}${CYAN}cell [${cellNo}] line ${srcLine}${RESET}`);
        traceback.push(`       ${srcLine} | ${cell!.source.split('\n')[srcLine - 1].trim()}`);
      } else traceback.push(`    at ${name}cell [${cellNo}] (generated line ${line})`);
    } else {
      const rel = file.startsWith(projectRoot + '/') ? file.slice(projectRoot.length + 1) : file;
      traceback.push(`    at ${name}${rel}:${line}:${col}`);
    }
  }
  flush();
  return { ename, evalue, traceback };
}

export const KEYBOARD_INTERRUPT: JupyterError = {
  ename: 'KeyboardInterrupt',
  evalue: 'the cell was interrupted',
  traceback: [
    `${RED}${BOLD}KeyboardInterrupt${RESET}: the cell was interrupted (the kernel and its variables are kept)`,
  ],
};
