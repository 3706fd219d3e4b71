/**
 * The committed markdown mirrors are in sync with notebooks/*.ipynb (md:check), and committed
 * notebooks carry no outputs or execution counts (nb:policy). Both checks are also exercised on
 * temporary folders, to see that they name the notebook and the first difference / the cell.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkMirrors, firstDifference, syncMirrors } from '../../../tools/notebook-md/mirror';
import { checkOutputPolicy } from '../../../tools/notebook-md/policy';

const ROOT = path.resolve(__dirname, '../../..');
const FIX = path.join(ROOT, 'test', 'fixtures', 'notebook-md');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nbmd-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('markdown mirror (md:check)', () => {
  it('notebooks/*.md are in sync with notebooks/*.ipynb (fix: npm run md:sync)', () => {
    expect(checkMirrors(path.join(ROOT, 'notebooks')).map((p) => p.message)).toEqual([]);
  });

  it('names the notebook and the first difference, a missing mirror and an orphan mirror', () => {
    const dir = path.join(tmp, 'mirror');
    fs.cpSync(path.join(FIX, 'source'), dir, { recursive: true }); // the notebooks and their figures/ folder
    expect(checkMirrors(dir).map((p) => p.message)).toEqual([
      '01-basics.ipynb: no markdown mirror 01-basics.md (run npm run md:sync)',
      '02-figures.ipynb: no markdown mirror 02-figures.md (run npm run md:sync)',
      '03-errors.ipynb: no markdown mirror 03-errors.md (run npm run md:sync)',
    ]);
    expect(syncMirrors(dir)).toHaveLength(3);
    expect(checkMirrors(dir)).toEqual([]);
    expect(syncMirrors(dir)).toHaveLength(0);
    // Someone edits the notebook but not the mirror.
    const nbFile = path.join(dir, '02-figures.ipynb');
    fs.writeFileSync(nbFile, fs.readFileSync(nbFile, 'utf8').replace('# Figures', '# Figures, edited'));
    const mdFile = path.join(dir, '02-figures.md');
    const line = fs.readFileSync(mdFile, 'utf8').split('\n').indexOf('# Figures') + 1;
    expect(checkMirrors(dir).map((p) => p.message)).toEqual([
      `02-figures.ipynb: 02-figures.md is out of date, line ${line}: expected "# Figures, edited", found "# Figures" (run npm run md:sync)`,
    ]);
    // A mirror whose notebook is gone; an ordinary markdown file is left alone.
    fs.rmSync(path.join(dir, '03-errors.ipynb'));
    fs.writeFileSync(path.join(dir, 'README.md'), '# Notes\n');
    expect(checkMirrors(dir).map((p) => p.message)).toContain(
      '03-errors.md: a notebook mirror without 03-errors.ipynb (delete it, or restore the notebook)',
    );
    expect(checkMirrors(dir).map((p) => p.notebook)).not.toContain('README.md');
  });

  it('firstDifference reports missing lines', () => {
    expect(firstDifference('a\nb\n', 'a\nb\n')).toBeNull();
    expect(firstDifference('a\nb\nc', 'a\nb')).toBe('line 3: expected "c", found (end of file)');
  });
});

describe('output policy (nb:policy)', () => {
  it('committed notebooks/*.ipynb have no outputs and no execution counts (fix: npm run nb:strip)', () => {
    expect(checkOutputPolicy(path.join(ROOT, 'notebooks')).map((v) => v.message)).toEqual([]);
  });

  it('names the notebook and the cell of each violation', () => {
    expect(checkOutputPolicy(path.join(FIX, 'source'))).toEqual([]);
    const v = checkOutputPolicy(path.join(FIX, 'executed'));
    expect(v.map((x) => x.message)).toContain('01-basics.ipynb: cell 2 (id b1) has 2 output(s), execution count 2');
    expect(v.map((x) => x.message)).toContain('02-figures.ipynb: cell 5 (id f4) has 1 output(s), execution count 5');
    expect(v.every((x) => x.cell > 0)).toBe(true);
  });
});
