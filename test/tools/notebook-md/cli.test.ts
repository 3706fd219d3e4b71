/**
 * The command line as npm runs it (vite-node tools/notebook-md/cli.ts -- <command>): exit codes and
 * messages of md:check, nb:policy and md:to-ipynb on temporary folders.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readNotebook } from '../../../tools/notebook-md/ipynb';
import { runProcess } from '../../helpers/process';

const ROOT = path.resolve(__dirname, '../../..');
const FIX = path.join(ROOT, 'test', 'fixtures', 'notebook-md');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nbmd-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** One command, through vite-node as the npm scripts run it. */
async function cli(...args: string[]) {
  const r = await runProcess(
    process.execPath,
    [
      path.join(ROOT, 'node_modules', 'vite-node', 'vite-node.mjs'),
      path.join(ROOT, 'tools', 'notebook-md', 'cli.ts'),
      '--',
      ...args,
    ],
    { cwd: ROOT, timeoutMs: 60_000 },
  );
  return { code: r.code, out: r.stdout, err: r.stderr };
}

describe('notebook-md command line', () => {
  it('md:sync then md:check pass; an edited notebook makes md:check fail naming it; md:to-ipynb converts back', async () => {
    const dir = path.join(tmp, 'nb');
    fs.cpSync(path.join(FIX, 'source'), dir, { recursive: true });
    expect((await cli('sync', '--dir', dir)).code).toBe(0);
    const nbFile = path.join(dir, '03-errors.ipynb');
    fs.writeFileSync(nbFile, fs.readFileSync(nbFile, 'utf8').replace('A cell that fails', 'A cell that breaks'));
    const r = await cli('check', '--dir', dir);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /md:check: 03-errors\.ipynb: 03-errors\.md is out of date, line \d+: expected "A cell that breaks shows its error\.", found "A cell that fails shows its error\." \(run npm run md:sync\)/,
    );
    const back = await cli('to-ipynb', path.join(dir, '01-basics.md'), '--out', path.join(tmp, 'back.ipynb'));
    expect(back.code).toBe(0);
    const orig = readNotebook(path.join(dir, '01-basics.ipynb'));
    expect(readNotebook(path.join(tmp, 'back.ipynb')).cells.map((c) => [c.cell_type, c.id, c.source])).toEqual(
      orig.cells.map((c) => [c.cell_type, c.id, c.source]),
    );
  }, 120_000);

  it('nb:policy fails on notebooks with outputs, naming notebook and cell', async () => {
    const r = await cli('policy', '--dir', path.join(FIX, 'executed'));
    expect(r.code).toBe(1);
    expect(r.err).toContain('nb:policy: 02-figures.ipynb: cell 2 (id f1) has 1 output(s), execution count 2');
  }, 60_000);
});
