/**
 * `npm run notebooks -- [options] [notebook.ipynb ...]`: executes the chapter's notebooks
 * headlessly on the project's kernel (no nbconvert) and writes executed copies to
 * build/notebooks/. Exits 1 naming the notebook, the cell and the error when a cell fails, the
 * kernel dies or a cell times out; 2 on bad usage.
 *
 *   --fast            RESNET_TS_FAST=1 for the kernel (small data, tiny model: seconds)
 *   --full            RESNET_TS_FAST=0 (the seed's recipe: about half an hour on 2 cores)
 *   --timeout S       per-cell timeout in seconds (fast: 300, full: 7200)
 *   --out DIR         where executed copies go (build/notebooks)
 *   --kernel NAME     kernelspec name (resnet-ts)
 *
 * Without --fast/--full, RESNET_TS_FAST from the environment decides.
 */
import * as path from 'node:path';
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { findProjectRoot } from '../../src/project_root';
import { isFastMode } from '../../src/recipe';
import { ensurePackageLink, findKernelSpec, formatFailure, runNotebook } from './runner';

const ROOT = findProjectRoot(__dirname);

async function main(): Promise<number> {
  let v: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values: v, positionals } = parseArgs({
      options: {
        fast: { type: 'boolean' },
        full: { type: 'boolean' },
        timeout: { type: 'string' },
        out: { type: 'string' },
        kernel: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
    }));
  } catch (e) {
    console.error(`run-notebooks: ${(e as Error).message}`);
    return 2;
  }
  if (v.help) {
    console.log(
      fs
        .readFileSync(__filename, 'utf8')
        .match(/\/\*\*([\s\S]*?)\*\//)?.[1]
        .replace(/^ \* ?/gm, '') ?? '',
    );
    return 0;
  }
  const env: NodeJS.ProcessEnv = {};
  if (v.fast) env.RESNET_TS_FAST = '1';
  if (v.full) env.RESNET_TS_FAST = '0';
  const fast = isFastMode({ ...process.env, ...env }); // the library's reader of RESNET_TS_FAST
  const timeoutS = v.timeout !== undefined ? Number(v.timeout) : fast ? 300 : 7200;
  if (!(timeoutS > 0)) {
    console.error(`run-notebooks: --timeout must be a positive number of seconds, got '${v.timeout}'`);
    return 2;
  }
  const files =
    positionals.length > 0
      ? positionals
      : fs
          .readdirSync(path.join(ROOT, 'notebooks'))
          .filter((f) => f.endsWith('.ipynb'))
          .sort()
          .map((f) => path.join(ROOT, 'notebooks', f));
  for (const f of files) {
    if (!fs.existsSync(f)) {
      console.error(`run-notebooks: no such notebook: ${f}`);
      return 2;
    }
  }
  let found: ReturnType<typeof findKernelSpec>;
  try {
    found = findKernelSpec((v.kernel as string | undefined) ?? 'resnet-ts', ROOT);
  } catch (e) {
    console.error(`run-notebooks: ${(e as Error).message}`);
    return 2;
  }
  const { spec, file: specFile } = found;
  if (found.note) console.error(`run-notebooks: note: ${found.note}`);
  const outDir = path.resolve((v.out as string | undefined) ?? path.join(ROOT, 'build', 'notebooks'));
  console.log(
    `run-notebooks: ${files.length} notebook(s), ${fast ? 'fast' : 'full'} mode, kernel ${specFile}, ` +
      `timeout ${timeoutS} s per cell, output in ${path.relative(process.cwd(), outDir) || '.'}`,
  );

  // Notebook folders inside the project get the link that lets cells import 'resnet-ts'.
  for (const dir of new Set(files.map((f) => path.dirname(path.resolve(f))))) {
    const rel = path.relative(ROOT, dir);
    if (rel && !rel.startsWith('..') && !path.isAbsolute(rel)) ensurePackageLink(dir, ROOT);
  }
  const failures: string[] = [];
  const t0 = performance.now();
  for (const f of files) {
    const r = await runNotebook(path.resolve(f), {
      spec,
      timeoutMs: timeoutS * 1000,
      outDir,
      env,
      log: (l) => console.log(l),
    });
    console.log(
      `${r.notebook}: ${r.ok ? 'OK' : 'FAILED'} in ${r.seconds.toFixed(1)} s -> ${path.relative(process.cwd(), r.outPath)}`,
    );
    if (r.failure) {
      const text = formatFailure(r.failure);
      failures.push(text);
      console.error(text);
    }
  }
  console.log(
    `run-notebooks: ${files.length - failures.length}/${files.length} notebooks passed in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  return failures.length ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    console.error(`run-notebooks: ${(e as Error).stack ?? e}`);
    process.exitCode = 1;
  },
);
