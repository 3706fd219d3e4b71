/** buildDist refuses to let tests run against a stale build: a failing or hung tsc throws. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildDist } from '../helpers/process';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'build-dist-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function project(source: string): void {
  fs.writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { strict: true, outDir: 'out', types: [] }, files: ['a.ts'] }),
  );
  fs.writeFileSync(path.join(dir, 'a.ts'), source);
}

describe('buildDist', () => {
  it('builds a project that compiles', async () => {
    project('export const n: number = 1;\n');
    await buildDist({ cwd: dir, project: 'tsconfig.json' });
    expect(fs.readFileSync(path.join(dir, 'out', 'a.js'), 'utf8')).toContain('exports.n = 1');
  });

  it("throws with tsc's output when tsc fails", async () => {
    project("export const n: number = 'one';\n");
    await expect(buildDist({ cwd: dir, project: 'tsconfig.json' })).rejects.toThrow(
      /tsc -p tsconfig\.json exited with 2:\n[\s\S]*a\.ts\(1,14\): error TS2322: Type 'string' is not assignable to type 'number'/,
    );
  });

  it('throws when tsc does not finish in time', async () => {
    project('export const n: number = 1;\n');
    await expect(buildDist({ cwd: dir, project: 'tsconfig.json', timeoutMs: 1 })).rejects.toThrow(
      /did not finish within 0\.001 s/,
    );
  });
});
