/**
 * Notebook 06's degradation experiment (plain vs residual nets of 20 and 56 layers) over several
 * seeds, for docs/measurements.md. It runs the notebook itself, in full mode, once per seed: a
 * copy whose `const seed = 0;` line says the seed, executed by the headless runner; then reads
 * the results table and the gradient lines from the executed copy. So the numbers are the
 * notebook's own, and the notebook's code is not repeated here.
 *
 *   npm run bench:depth -- --seeds 0,1 [--out build/depth-sweep]
 *
 * An executed copy that is already there is not run again (delete it to redo that seed).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, median, parseSeeds, runLogged } from './run_logged';
import { joinText, readNotebook, stringifyNotebook } from '../tools/notebook-md/ipynb';

const NOTEBOOK = path.join(ROOT, 'notebooks', '06-plain-vs-residual.ipynb');
const SEED_LINE = /^const seed = \d+;/m;

interface Row {
  seed: number;
  network: string;
  loss: number;
  testAcc: number;
  seconds: number;
  /** Gradient norm at the stem / at the head, at initialisation. */
  stemOverHead: number;
  stemAfter: number;
}

function notebookForSeed(seed: number, dir: string): string {
  const nb = readNotebook(NOTEBOOK);
  const cell = nb.cells.find((c) => c.cell_type === 'code' && SEED_LINE.test(c.source));
  if (!cell) throw new Error(`bench:depth: no line 'const seed = N;' in a code cell of ${NOTEBOOK}`);
  cell.source = cell.source.replace(SEED_LINE, `const seed = ${seed};`);
  const file = path.join(dir, `06-seed-${seed}.ipynb`);
  fs.writeFileSync(file, stringifyNotebook(nb));
  return file;
}

/** The results table (its text form) and the gradient lines of an executed copy. */
function readResults(executed: string, seed: number): Row[] {
  const out = readNotebook(executed)
    .cells.flatMap((c) => c.outputs ?? [])
    .map((o) => joinText(o.text) + '\n' + joinText(o.data?.['text/plain']));
  const all = out.join('\n');
  const rows: Row[] = [];
  for (const m of all.matchAll(/^((?:plain|residual)-\d+) +\d+ +\d+ +([\d.]+) +([\d.]+) +(\d+)$/gm)) {
    const g = new RegExp(
      `^${m[1]}: stem ([\\d.]+), head ([\\d.]+) at initialisation; stem ([\\d.]+), head [\\d.]+ after`,
      'm',
    ).exec(all);
    if (!g) throw new Error(`bench:depth: no gradient line for ${m[1]} in ${executed}`);
    rows.push({
      seed,
      network: m[1],
      loss: Number(m[2]),
      testAcc: Number(m[3]),
      seconds: Number(m[4]),
      stemOverHead: Number(g[1]) / Number(g[2]),
      stemAfter: Number(g[3]),
    });
  }
  if (rows.length !== 4)
    throw new Error(`bench:depth: expected 4 networks in the table of ${executed}, found ${rows.length}`);
  return rows;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2).filter((a) => a !== '--'),
    options: { seeds: { type: 'string', default: '0,1' }, out: { type: 'string', default: 'build/depth-sweep' } },
  });
  const seeds = parseSeeds(values.seeds!);
  const dir = path.resolve(ROOT, values.out!);
  const executedDir = path.join(dir, 'executed');
  fs.mkdirSync(executedDir, { recursive: true });
  const rows: Row[] = [];
  for (const seed of seeds) {
    const executed = path.join(executedDir, `06-seed-${seed}.ipynb`);
    if (!fs.existsSync(executed)) {
      const source = notebookForSeed(seed, dir);
      const runner = path.join(ROOT, 'dist', 'tools', 'notebook-runner', 'cli.js');
      const started = Date.now();
      // (runLogged rejects, naming its log, when the notebook fails)
      await runLogged(
        process.execPath,
        [runner, '--full', '--out', executedDir, source],
        path.join(dir, `seed-${seed}.log`),
      );
      console.log(`seed ${seed}: notebook ran in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    }
    rows.push(...readResults(executed, seed));
  }
  console.log(
    `\n| network | training loss, last 50 steps (median; per seed) | test accuracy (median; per seed) | stem / head gradient at init (median) |`,
  );
  console.log('|---|---|---|---|');
  for (const net of ['plain-20', 'residual-20', 'plain-56', 'residual-56']) {
    const r = rows.filter((x) => x.network === net);
    console.log(
      `| ${net} | ${median(r.map((x) => x.loss)).toFixed(3)} (${r.map((x) => x.loss.toFixed(3)).join(', ')}) | ` +
        `${median(r.map((x) => x.testAcc)).toFixed(3)} (${r.map((x) => x.testAcc.toFixed(3)).join(', ')}) | ` +
        `${median(r.map((x) => x.stemOverHead)).toPrecision(3)} |`,
    );
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
