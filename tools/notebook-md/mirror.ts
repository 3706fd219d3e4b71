/**
 * The committed markdown mirror: notebooks/<name>.md beside each notebooks/<name>.ipynb, written
 * by `npm run md:sync`, checked by `npm run md:check` (and a vitest test). The .ipynb files are
 * the source of truth.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readNotebook } from './ipynb';
import { notebookToMarkdown } from './markdown';

/** The notebooks of a folder, sorted by name. */
export function listNotebooks(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.ipynb'))
    .sort()
    .map((f) => path.join(dir, f));
}

export function mirrorPath(ipynb: string): string {
  return ipynb.replace(/\.ipynb$/, '.md');
}

/** Whether a .md file is one of ours (front matter with a `jupyter:` key). */
function looksLikeMirror(text: string): boolean {
  return /^---\r?\n(?:[^\n]*\n)*?jupyter:/.test(text);
}

/** "line N: expected ... / found ..." for the first line where two texts differ, or null. */
export function firstDifference(expected: string, actual: string): string | null {
  if (expected === actual) return null;
  const e = expected.split('\n');
  const a = actual.split('\n');
  for (let i = 0; i < Math.max(e.length, a.length); i++) {
    if (e[i] !== a[i]) {
      const show = (s: string | undefined) =>
        s === undefined ? '(end of file)' : JSON.stringify(s.length > 120 ? s.slice(0, 117) + '...' : s);
      return `line ${i + 1}: expected ${show(e[i])}, found ${show(a[i])}`;
    }
  }
  return 'the files differ';
}

export interface MirrorProblem {
  notebook: string;
  message: string;
}

/** Differences between every notebook of `dir` and its committed mirror (empty when in sync). */
export function checkMirrors(dir: string): MirrorProblem[] {
  const problems: MirrorProblem[] = [];
  const notebooks = listNotebooks(dir);
  for (const nbFile of notebooks) {
    const mdFile = mirrorPath(nbFile);
    const rel = path.basename(nbFile);
    let expected: string;
    try {
      expected = notebookToMarkdown(readNotebook(nbFile));
    } catch (e) {
      problems.push({ notebook: rel, message: `${rel}: cannot convert: ${(e as Error).message}` });
      continue;
    }
    if (!fs.existsSync(mdFile)) {
      problems.push({
        notebook: rel,
        message: `${rel}: no markdown mirror ${path.basename(mdFile)} (run npm run md:sync)`,
      });
      continue;
    }
    const diff = firstDifference(expected, fs.readFileSync(mdFile, 'utf8'));
    if (diff)
      problems.push({
        notebook: rel,
        message: `${rel}: ${path.basename(mdFile)} is out of date, ${diff} (run npm run md:sync)`,
      });
  }
  const names = new Set(notebooks.map((f) => path.basename(mirrorPath(f))));
  for (const f of fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []) {
    if (f.endsWith('.md') && !names.has(f) && looksLikeMirror(fs.readFileSync(path.join(dir, f), 'utf8'))) {
      problems.push({
        notebook: f,
        message: `${f}: a notebook mirror without ${f.replace(/\.md$/, '.ipynb')} (delete it, or restore the notebook)`,
      });
    }
  }
  return problems;
}

/** Writes every mirror that differs; returns the files written. */
export function syncMirrors(dir: string): string[] {
  const written: string[] = [];
  for (const nbFile of listNotebooks(dir)) {
    const mdFile = mirrorPath(nbFile);
    const md = notebookToMarkdown(readNotebook(nbFile));
    if (!fs.existsSync(mdFile) || fs.readFileSync(mdFile, 'utf8') !== md) {
      const tmp = `${mdFile}.tmp-${process.pid}`;
      fs.writeFileSync(tmp, md);
      fs.renameSync(tmp, mdFile);
      written.push(mdFile);
    }
  }
  return written;
}
