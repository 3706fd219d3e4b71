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

/** A command-line mistake: printed with the command's name, exit code 2. */
class UsageError extends Error {}

interface RunnerOptions {
  files: string[];
  env: NodeJS.ProcessEnv;
  fast: boolean;
  timeoutS: number;
  spec: ReturnType<typeof findKernelSpec>['spec'];
  specFile: string;
  outDir: string;
}

/** The command line, checked: notebooks that exist, a positive timeout, a kernelspec found. */
function runnerOptions(argv: string[]): RunnerOptions | 'help' {
  let v: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values: v, positionals } = parseArgs({
      args: argv,
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
    throw new UsageError((e as Error).message);
  }
  if (v.help) return 'help';
  const env: NodeJS.ProcessEnv = {};
  if (v.fast) env.RESNET_TS_FAST = '1';
  if (v.full) env.RESNET_TS_FAST = '0';
  const fast = isFastMode({ ...process.env, ...env }); // the library's reader of RESNET_TS_FAST
  const timeoutS = v.timeout !== undefined ? Number(v.timeout) : fast ? 300 : 7200;
  if (!(timeoutS > 0)) throw new UsageError(`--timeout must be a positive number of seconds, got '${v.timeout}'`);
  const notebooks = path.join(ROOT, 'notebooks');
  const files = positionals.length
    ? positionals
    : fs
        .readdirSync(notebooks)
        .filter((f) => f.endsWith('.ipynb'))
        .sort()
        .map((f) => path.join(notebooks, f));
  const absent = files.find((f) => !fs.existsSync(f));
  if (absent) throw new UsageError(`no such notebook: ${absent}`);
  let found: ReturnType<typeof findKernelSpec>;
  try {
    found = findKernelSpec((v.kernel as string | undefined) ?? 'resnet-ts', ROOT);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (found.note) console.error(`run-notebooks: note: ${found.note}`);
  const outDir = path.resolve((v.out as string | undefined) ?? path.join(ROOT, 'build', 'notebooks'));
  return { files, env, fast, timeoutS, spec: found.spec, specFile: found.file, outDir };
}

/** Runs the notebooks one after another; returns the failures' reports. */
async function runAll(o: RunnerOptions): Promise<string[]> {
  // Notebook folders inside the project get the link that lets cells import 'resnet-ts'.
  for (const dir of new Set(o.files.map((f) => path.dirname(path.resolve(f))))) {
    const rel = path.relative(ROOT, dir);
    if (rel && !rel.startsWith('..') && !path.isAbsolute(rel)) ensurePackageLink(dir, ROOT);
  }
  const failures: string[] = [];
  for (const f of o.files) {
    const r = await runNotebook(path.resolve(f), {
      spec: o.spec,
      timeoutMs: o.timeoutS * 1000,
      outDir: o.outDir,
      env: o.env,
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
  return failures;
}

async function main(): Promise<number> {
  let o: RunnerOptions | 'help';
  try {
    o = runnerOptions(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`run-notebooks: ${e.message}`);
    return 2;
  }
  if (o === 'help') {
    console.log(
      fs
        .readFileSync(__filename, 'utf8')
        .match(/\/\*\*([\s\S]*?)\*\//)?.[1]
        .replace(/^ \* ?/gm, '') ?? '',
    );
    return 0;
  }
  console.log(
    `run-notebooks: ${o.files.length} notebook(s), ${o.fast ? 'fast' : 'full'} mode, kernel ${o.specFile}, ` +
      `timeout ${o.timeoutS} s per cell, output in ${path.relative(process.cwd(), o.outDir) || '.'}`,
  );
  const t0 = performance.now();
  const failures = await runAll(o);
  const n = o.files.length;
  console.log(
    `run-notebooks: ${n - failures.length}/${n} notebooks passed in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
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
