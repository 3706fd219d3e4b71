/**
 * Output policy: committed notebooks carry no outputs, no execution counts and no execution
 * records of the runner (cell metadata "execution"); executed copies live in build/.
 */
import * as path from 'node:path';
import { Notebook, readNotebook } from './ipynb';
import { listNotebooks } from './mirror';

export interface PolicyViolation {
  notebook: string;
  /** 1-based position of the cell in the notebook. */
  cell: number;
  id?: string;
  message: string;
}

export function notebookViolations(nb: Notebook, name: string): PolicyViolation[] {
  const out: PolicyViolation[] = [];
  nb.cells.forEach((c, i) => {
    const what: string[] = [];
    if (c.cell_type === 'code') {
      if ((c.outputs ?? []).length > 0) what.push(`${c.outputs!.length} output(s)`);
      if (c.execution_count !== null && c.execution_count !== undefined)
        what.push(`execution count ${c.execution_count}`);
    }
    if (c.metadata && 'execution' in c.metadata) what.push('execution metadata');
    if (what.length) {
      const label = `cell ${i + 1}${c.id ? ` (id ${c.id})` : ''}`;
      out.push({ notebook: name, cell: i + 1, id: c.id, message: `${name}: ${label} has ${what.join(', ')}` });
    }
  });
  return out;
}

/** Violations in every notebook of a folder. */
export function checkOutputPolicy(dir: string): PolicyViolation[] {
  return listNotebooks(dir).flatMap((f) => notebookViolations(readNotebook(f), path.basename(f)));
}
