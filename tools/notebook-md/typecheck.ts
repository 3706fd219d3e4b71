/**
 * Type-checks notebooks with the TypeScript compiler API, with tslab's semantics: a notebook's
 * code cells are one ES module, in order (top-level await allowed; a later cell may declare a
 * name again, as a REPL allows), `import ... from 'resnet-ts'` is the library's real source
 * (src/index.ts, no build needed) and `import ... from 'tslab'` is tslab's own declaration file.
 * Each error is reported with the notebook, the cell number and the line within the cell.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { readNotebook } from './ipynb';
import { virtualProgram } from '../virtual_program';

export interface NotebookTypeError {
  notebook: string;
  /** 1-based position of the cell among all cells of the notebook (0 when not in a cell). */
  cell: number;
  /** 1-based position among the code cells. */
  codeCell: number;
  id?: string;
  /** 1-based line and column within the cell. */
  line: number;
  column: number;
  code: number;
  message: string;
}

interface CellSpan {
  cell: number;
  codeCell: number;
  id?: string;
  startLine: number;
  lines: number;
}

interface Virtual {
  notebook: string;
  file: string;
  text: string;
  spans: CellSpan[];
}

/** The module text of a notebook's code cells; a `;` line between cells keeps each one a statement list of its own. */
function virtualModule(notebook: string): Virtual {
  const nb = readNotebook(notebook);
  const parts: string[] = [];
  const spans: CellSpan[] = [];
  let line = 0;
  let codeCell = 0;
  nb.cells.forEach((c, i) => {
    if (c.cell_type !== 'code') return;
    codeCell++;
    const src = c.source.replace(/\r\n?/g, '\n');
    const lines = src.split('\n').length;
    spans.push({ cell: i + 1, codeCell, id: c.id, startLine: line, lines });
    parts.push(src, ';');
    line += lines + 1;
  });
  parts.push('export {};');
  const file = path.join(path.dirname(notebook), `.${path.basename(notebook)}.typecheck.ts`);
  return { notebook, file, text: parts.join('\n') + '\n', spans };
}

export interface TypecheckOptions {
  /** The project root: src/index.ts and node_modules/tslab live there. */
  root: string;
}

const REDECLARE = new Set([2451 /* Cannot redeclare block-scoped variable */, 2300 /* Duplicate identifier */]);

/** Type errors of the notebooks' code cells (empty when all type-check). */
export function typecheckNotebooks(notebooks: string[], options: TypecheckOptions): NotebookTypeError[] {
  const root = options.root;
  const virtuals = notebooks.map(virtualModule);
  const byFile = new Map(virtuals.map((v) => [path.resolve(v.file), v]));
  const tslabTypes = path.join(root, 'node_modules', 'tslab', 'dist', 'public.d.ts');
  const program = virtualProgram(
    root,
    new Map([...byFile].map(([f, v]) => [f, v.text])),
    fs.existsSync(tslabTypes) ? { tslab: [tslabTypes] } : {},
  );
  const errors: NotebookTypeError[] = [];
  for (const d of program.getOptionsDiagnostics()) {
    errors.push({
      notebook: '(compiler options)',
      cell: 0,
      codeCell: 0,
      line: 0,
      column: 0,
      code: d.code,
      message: ts.flattenDiagnosticMessageText(d.messageText, '\n'),
    });
  }
  for (const v of virtuals) {
    const sf = program.getSourceFile(v.file)!;
    const diags = [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)];
    const located = diags.map((d) => {
      const pos = d.start !== undefined ? sf.getLineAndCharacterOfPosition(d.start) : { line: 0, character: 0 };
      const span = v.spans.find((s) => pos.line >= s.startLine && pos.line < s.startLine + s.lines);
      const name = d.start !== undefined && d.length ? v.text.slice(d.start, d.start + d.length) : '';
      return { d, pos, span, name };
    });
    // A name declared again in a later cell is allowed (tslab, like a REPL): drop redeclaration
    // errors of a name whose declarations are all in different cells.
    const redeclared = new Map<string, number[]>();
    for (const x of located)
      if (REDECLARE.has(x.d.code) && x.span) redeclared.set(x.name, [...(redeclared.get(x.name) ?? []), x.span.cell]);
    for (const x of located) {
      if (REDECLARE.has(x.d.code)) {
        const cells = redeclared.get(x.name) ?? [];
        if (new Set(cells).size === cells.length && cells.length > 1) continue;
      }
      errors.push({
        notebook: v.notebook,
        cell: x.span?.cell ?? 0,
        codeCell: x.span?.codeCell ?? 0,
        ...(x.span?.id !== undefined ? { id: x.span.id } : {}),
        line: x.span ? x.pos.line - x.span.startLine + 1 : x.pos.line + 1,
        column: x.pos.character + 1,
        code: x.d.code,
        message: ts.flattenDiagnosticMessageText(x.d.messageText, '\n'),
      });
    }
  }
  return errors;
}

/** One line per error: `notebooks/x.ipynb: cell 5 (code cell 3, id ab), line 2, col 7: TS2345: ...`. */
export function formatTypeErrors(errors: NotebookTypeError[], cwd = process.cwd()): string {
  return errors
    .map((e) => {
      const where = e.cell
        ? `cell ${e.cell} (code cell ${e.codeCell}${e.id ? `, id ${e.id}` : ''}), line ${e.line}, col ${e.column}`
        : 'between cells';
      return `${path.relative(cwd, e.notebook) || e.notebook}: ${where}: TS${e.code}: ${e.message.replace(/\n/g, '\n    ')}`;
    })
    .join('\n');
}
