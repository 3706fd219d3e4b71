/**
 * The headless notebook runner (tools/notebook-runner/cli.ts) against the real tslab kernel:
 * every chapter notebook in fast mode, and broken notebooks that must fail naming the cell.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildDist, runProcess } from '../../helpers/process';
import { findKernelSpec } from '../../../tools/notebook-runner/runner';
import * as os from 'node:os';

const ROOT = path.resolve(__dirname, '../../..');
const RUNNER = path.join(ROOT, 'dist', 'tools', 'notebook-runner', 'cli.js');
const NOTEBOOKS = fs
  .readdirSync(path.join(ROOT, 'notebooks'))
  .filter((f) => f.endsWith('.ipynb'))
  .sort();

type Cell = {
  cell_type: string;
  source: string[] | string;
  outputs?: Record<string, any>[];
  execution_count?: number | null;
  metadata: Record<string, any>;
};
type Nb = { cells: Cell[] };

function run(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 240_000) {
  return runProcess(process.execPath, [RUNNER, ...args], { cwd: ROOT, env: { ...process.env, ...env }, timeoutMs });
}

const text = (v: unknown) => (Array.isArray(v) ? v.join('') : String(v ?? ''));
const outputsText = (c: Cell) =>
  (c.outputs ?? [])
    .map((o) => [text(o.text), text(o.data?.['text/plain']), text(o.data?.['text/html'])].join('\n'))
    .join('\n');

function notebook(cells: [string, string][]): Nb {
  return {
    cells: cells.map(([cell_type, source]) => ({
      cell_type,
      source,
      metadata: {},
      ...(cell_type === 'code' ? { outputs: [], execution_count: null } : {}),
    })),
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'resnet-ts', display_name: 'TypeScript (resnet-ts)', language: 'typescript' } },
  } as Nb;
}

beforeAll(async () => {
  await buildDist(); // the notebooks import the built package
  expect(fs.existsSync(RUNNER)).toBe(true);
}, 200_000); // buildDist may take up to 170 s on a loaded machine

describe('notebook sources', () => {
  it('are committed without outputs, on the resnet-ts kernel', () => {
    expect(NOTEBOOKS).toEqual([
      '01-residual-block.ipynb',
      '02-resnet.ipynb',
      '03-training.ipynb',
      '04-training-faster.ipynb',
      '05-exercises.ipynb',
      '06-plain-vs-residual.ipynb',
    ]);
    for (const f of NOTEBOOKS) {
      const nb = JSON.parse(fs.readFileSync(path.join(ROOT, 'notebooks', f), 'utf8'));
      expect(nb.metadata.kernelspec.name).toBe('resnet-ts');
      for (const c of nb.cells.filter((c: Cell) => c.cell_type === 'code')) {
        expect(c.outputs, f).toEqual([]);
        expect(c.execution_count, f).toBeNull();
        expect(text(c.source)).not.toMatch(/from '\.\.?\//); // the library by package name only
      }
    }
  });
});

describe('notebook prose, as a learner reads it', () => {
  const markdown = (f: string): string[] =>
    JSON.parse(fs.readFileSync(path.join(ROOT, 'notebooks', f), 'utf8'))
      .cells.filter((c: Cell) => c.cell_type === 'markdown')
      .map((c: Cell) => text(c.source));

  it('the course opens with "Before you start": setup, npm run lab, the kernel, the time of every part, fast mode', () => {
    const first = markdown(NOTEBOOKS[0])[0];
    expect(first).toMatch(/^# .*\n+## Before you start/);
    for (const s of ['bash tools/setup.sh', 'npm run lab', 'TypeScript (resnet-ts)', 'Fast mode', 'RESNET_TS_FAST=1'])
      expect(first).toContain(s);
    // One row per notebook in the timing table.
    expect(first.match(/^\| \d, /gm)).toHaveLength(NOTEBOOKS.length);
  });

  it('no project-history words in any markdown cell (session, CI, "today\'s")', () => {
    for (const f of NOTEBOOKS)
      for (const cell of markdown(f)) expect(cell, f).not.toMatch(/\bsessions?\b|\bCI\b|\btoday's\b/i);
  });

  it('each notebook ends with a link to the next', () => {
    NOTEBOOKS.slice(0, -1).forEach((f, i) => {
      const cells = markdown(f);
      expect(cells[cells.length - 1], f).toContain(`](${NOTEBOOKS[i + 1]})`);
    });
  });

  it('every figure the prose shows exists in notebooks/figures/, and each figure is shown somewhere', () => {
    const shown = NOTEBOOKS.flatMap((f) =>
      markdown(f).flatMap((c) => [...c.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1])),
    );
    for (const src of shown) expect(fs.existsSync(path.join(ROOT, 'notebooks', src)), src).toBe(true);
    const files = fs.readdirSync(path.join(ROOT, 'notebooks', 'figures')).map((f) => `figures/${f}`);
    expect(files.length).toBeGreaterThanOrEqual(4);
    expect(new Set(shown)).toEqual(new Set(files));
  });
});

describe('kernelspec choice', () => {
  // Two clones, A and B; the per-user kernelspec was last installed by A.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kspec-'));
  const data = path.join(tmp, 'data');
  const env = { JUPYTER_DATA_DIR: data, JUPYTER_PATH: '' };
  const spec = (project: string, program: string) => ({
    argv: ['/usr/bin/node', program, 'kernel', '{connection_file}'],
    metadata: { project },
  });
  const put = (file: string, s: object) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(s));
  };
  const a = path.join(tmp, 'a');
  const b = path.join(tmp, 'b');
  const tslab = (root: string) => path.join(root, 'node_modules', 'tslab', 'bin', 'tslab');
  for (const r of [a, b]) put(tslab(r), {});
  put(path.join(data, 'kernels', 'k', 'kernel.json'), spec(a, tslab(a)));

  it("uses the installed spec when it is this project's", () => {
    expect(findKernelSpec('k', a, env).file).toBe(path.join(data, 'kernels', 'k', 'kernel.json'));
  });
  it("prefers the project's own build/kernelspec over another clone's", () => {
    put(path.join(b, 'build', 'kernelspec', 'k', 'kernel.json'), spec(b, tslab(b)));
    expect(findKernelSpec('k', b, env).file).toBe(path.join(b, 'build', 'kernelspec', 'k', 'kernel.json'));
  });
  it("falls back to another clone's spec with a note, and refuses one whose program is gone", () => {
    const c = path.join(tmp, 'c');
    expect(findKernelSpec('k', c, env).note).toMatch(/was made for .*\/a, not .*\/c/);
    fs.rmSync(a, { recursive: true });
    expect(() => findKernelSpec('k', c, env)).toThrow(
      /no usable kernelspec 'k' \(.*kernel\.json starts .*\/a\/node_modules\/tslab\/bin\/tslab, which does not exist.*run tools\/setup\.sh/,
    );
  });
});

describe('run-notebooks, fast mode', () => {
  it('executes every chapter notebook and records the outputs', async () => {
    const out = path.join(ROOT, 'build', 'test-notebooks', 'executed');
    fs.rmSync(out, { recursive: true, force: true });
    const t0 = Date.now();
    const r = await run(['--fast', '--out', out]);
    const seconds = (Date.now() - t0) / 1000;
    expect(r.code, r.out).toBe(0);
    expect(r.stdout).toContain('6/6 notebooks passed');
    console.log(`all notebooks, fast mode: ${seconds.toFixed(1)} s`);

    const load = (f: string): Nb => JSON.parse(fs.readFileSync(path.join(out, f), 'utf8'));
    const all = (nb: Nb) => nb.cells.filter((c) => c.cell_type === 'code');
    for (const f of NOTEBOOKS) {
      for (const c of all(load(f))) expect(typeof c.execution_count, `${f}: every code cell ran`).toBe('number');
    }

    const nb1 = all(load('01-residual-block.ipynb')).map(outputsText).join('\n');
    expect(nb1).toMatch(/Residual\(3\)\(x\)\s+\(4, 3, 6, 6\)\s+\[4, 6, 6, 3\]\s+\[4, 6, 6, 3\]\s+ok/);
    expect(nb1).toMatch(/Residual\(8, false\)\(x\)\s+\(4, 8, 3, 3\)\s+\[4, 3, 3, 8\]\s+\[4, 3, 3, 8\]\s+ok/);
    expect(nb1).toContain('class="shape-checks"');
    // The block written in the notebook is the library's: both variants, same weights, same outputs.
    expect(nb1).toContain('conv3.weight -> shortcut.weight [1,1,3,8]');
    expect(nb1.match(/max \|ours - library\|: (\S+) in inference, (\S+) in training mode/g)).toHaveLength(2);

    const nb2 = all(load('02-resnet.ipynb')).map(outputsText).join('\n');
    for (const line of [
      'block 1 output: [4,45,45,64]',
      'block 2 output: [4,22,22,64]',
      'block 3 output: [4,11,11,128]',
      'block 4 output: [4,6,6,256]',
      'block 5 output: [4,3,3,512]',
      'block 6 output: [4,10]',
    ])
      expect(nb2).toContain(line);
    expect(nb2.match(/ ok$/gm)).toHaveLength(6);
    // b1..b6 written in the notebook equal the library's ResNet for the same weights.
    expect(nb2).toMatch(/106 variables copied/);
    expect(nb2).toMatch(/max \|ours - library\| over the 4 x 10 outputs: \S+ in inference, \S+ in training mode/);

    const cells3 = all(load('03-training.ipynb'));
    const nb3 = cells3.map(outputsText).join('\n');
    expect(nb3).toContain('FAST MODE');
    expect(nb3).toMatch(/Epoch 0\. Loss: \d+\.\d+, Train acc \d\.\d+, Test acc \d\.\d+/);
    const isVega = (o: Record<string, any>) =>
      o.output_type === 'display_data' && 'application/vnd.vegalite.v5+json' in (o.data ?? {});
    const displays = cells3.flatMap((c) => (c.outputs ?? []).filter(isVega));
    expect(displays).toHaveLength(2); // the live training plot (one output, redrawn) and the image grid
    for (const d of displays) {
      expect(d.data['application/vnd.vegalite.v5+json'].$schema).toContain('vega-lite/v5');
      expect(text(d.data['image/svg+xml'])).toMatch(/^<svg/);
    }
    expect(text(displays[0].data['image/svg+xml'])).toContain('test acc');
    expect(text(displays[1].data['image/svg+xml']).match(/xlink:href="data:image\/png;base64/g)).toHaveLength(16);
    // The live plot was redrawn in place while training ran, not only at the end.
    const trainCell = cells3.find((c) => text(c.source).includes('new TrainingMonitor'))!;
    const updates: number[] = trainCell.metadata.execution.display_updates_at;
    expect(updates.length).toBeGreaterThanOrEqual(4);
    expect(updates[0]).toBeLessThan(trainCell.metadata.execution.seconds * 0.8);

    const cells4 = all(load('04-training-faster.ipynb'));
    const nb4 = cells4.map(outputsText).join('\n');
    // both recipes ran with what they say: the fast one with validation and its one-cycle schedule
    expect(nb4).toMatch(/Epoch 0\. Loss: \d+\.\d+, Train acc \d\.\d+, Test acc/);
    expect(nb4).toMatch(/Epoch 1\. Loss: \d+\.\d+, Train acc \d\.\d+, Valid acc \d\.\d+, Test acc/);
    expect(nb4).toMatch(/learning rate from 8\.00e-3 up to 0\.\d{3} at step \d+/);
    expect(nb4).toMatch(/^seed +1 +- +0\.\d+/m); // the comparison table's text form
    expect(nb4).toMatch(/<td style="text-align:left">fast<\/td>/); // and its HTML
    const displays4 = cells4.flatMap((c) => (c.outputs ?? []).filter(isVega));
    expect(displays4).toHaveLength(4); // the schedule, two live plots, the comparison
    expect(text(displays4[0].data['image/svg+xml'])).toContain('learning rate');
    expect(text(displays4[3].data['image/svg+xml'])).toContain('fast: test acc');

    const cells5 = all(load('05-exercises.ipynb'));
    const nb5 = cells5.map(outputsText).join('\n');
    // Table 1 within 3% (the cell throws otherwise), the bottleneck's saving, the identity exercise
    expect(nb5).toMatch(/ResNet-152 +bottleneck +3, 8, 36, 3 +60,192,808 +11\.28 +11\.3 +-0\.2%/);
    expect(nb5).toContain('the basic block costs 16.9x the bottleneck');
    expect(nb5).toContain('max |block(x) - x|: 0 (inference), 0 (training)');
    // A cell ending in a network: its summary table as the cell's result (Out[n])
    const summary = cells5.flatMap((c) => c.outputs ?? []).find((o) => o.output_type === 'execute_result');
    expect(text(summary?.data['text/html'])).toContain('<table class="module-summary">');
    expect(text(summary?.data['text/plain'])).toMatch(/b6 +Sequential +\(10\)/);
    // The race: four networks, each trained for the budget, in one table
    expect(nb5.match(/test accuracy 0\.\d+ after \d+ steps/g)).toHaveLength(4);

    const cells6 = all(load('06-plain-vs-residual.ipynb'));
    const nb6 = cells6.map(outputsText).join('\n');
    for (const net of ['plain-8', 'residual-8', 'plain-14', 'residual-14'])
      expect(nb6).toMatch(new RegExp(`${net}: 8 steps in \\d+ s, test accuracy 0\\.\\d+`));
    const charts6 = cells6.flatMap((c) => (c.outputs ?? []).filter(isVega));
    expect(charts6).toHaveLength(2); // training loss; gradient norms per layer
    expect(text(charts6[0].data['image/svg+xml'])).toContain('training loss');
    expect(text(charts6[1].data['image/svg+xml'])).toContain('at initialisation');
    expect(nb6).toMatch(/at initialisation, stem gradient \/ head gradient: plain-14 [\d.]+x, residual-14 [\d.]+x/);

    // A clean screen: nothing on stderr, no tfjs banner, no console.table boxes, progress as one
    // line per training run (its final state), in every notebook.
    for (const f of NOTEBOOKS) {
      const outs = all(load(f)).flatMap((c) => c.outputs ?? []);
      // stderr is for warnings and errors: any stream line there that is not a warning fails.
      const stderr = outs
        .filter((o) => o.output_type === 'stream' && o.name === 'stderr')
        .flatMap((o) => text(o.text).split('\n'))
        .filter((line) => line.trim() !== '' && !/^\s*warning\b/i.test(line));
      expect(stderr, `${f}: stderr output`).toEqual([]);
      const everything = all(load(f)).map(outputsText).join('\n');
      expect(everything, f).not.toMatch(/looks like you are running TensorFlow\.js in Node\.js/);
      expect(everything, `${f}: console.table box`).not.toMatch(/[┌┐└┘├┤│─┼]/);
      expect(everything, `${f}: per-batch progress lines`).not.toMatch(/batch \d+\/\d+, [\d.]+ img\/s, ETA/);
    }
  }, 420_000); // the run itself may take up to 360 s on a loaded machine
});

describe('run-notebooks, broken notebooks', () => {
  it('fail with a non-zero exit naming the notebook, the cell and the error', async () => {
    // Inside the project, so cells can import 'resnet-ts' (the runner links it for the folder).
    const dir = path.join(ROOT, 'build', 'test-notebooks', 'broken');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const write = (name: string, nb: Nb) => fs.writeFileSync(path.join(dir, name), JSON.stringify(nb));
    write(
      'wrong-shape.ipynb',
      notebook([
        ['code', "import { Residual, tf, expectShape } from 'resnet-ts';"],
        ['markdown', 'A wrong expectation:'],
        ['code', "expectShape('Residual(3)', new Residual(3).apply(tf.zeros([4, 6, 6, 3])).shape, [4, 6, 6, 8]);"],
        ['code', "console.log('never runs');"],
      ]),
    );
    write(
      'throws.ipynb',
      notebook([
        ['code', 'const a = 1;'],
        ['code', "if (a === 1) throw new Error('deliberate failure 42');"],
      ]),
    );
    write(
      'endless.ipynb',
      notebook([
        ['markdown', 'Runs forever:'],
        ['code', 'while (true) {}'],
      ]),
    );
    write('kernel-dies.ipynb', notebook([['code', 'process.exit(3);']]));
    write('type-error.ipynb', notebook([['code', "const n: number = 'not a number';"]]));
    // A short cell timeout only for the notebook whose case is the timeout: on a loaded machine
    // an import cell alone can take longer than 4 s.
    const nb = (n: string) => path.join(dir, `${n}.ipynb`);
    const r = await run(
      [
        '--timeout',
        '120',
        '--out',
        path.join(dir, 'out'),
        ...['wrong-shape', 'throws', 'kernel-dies', 'type-error'].map(nb),
      ],
      {},
      200_000,
    );
    // Without the cell timeout this run never ends and is killed here (timedOut).
    const endless = await run(['--timeout', '4', '--out', path.join(dir, 'out'), nb('endless')], {}, 90_000);
    expect(r.timedOut, r.out).toBe(false);
    expect(r.code, r.out).toBe(1);
    expect(r.stdout).toContain('0/4 notebooks passed');
    const err = r.stderr;
    expect(err).toMatch(
      /wrong-shape\.ipynb: cell 3 \(expectShape\(.*\) failed:\n[\s\S]*shape check failed: Residual\(3\): expected \[4, 6, 6, 8\], got \[4, 6, 6, 3\]/,
    );
    expect(err).not.toContain('never runs');
    // The kernel's error message: ename, evalue, and the frame mapped to the cell's line.
    expect(err).toMatch(
      /throws\.ipynb: cell 2 \(if \(a === 1\).*\) failed:\n\s+Error: deliberate failure 42\n[\s\S]*at cell \[2\] line 1\n/,
    );
    expect(err).toMatch(
      /kernel-dies\.ipynb: cell 1 \(process\.exit\(3\);\) killed the kernel:\n.*the kernel died \(exit code 3\)/,
    );
    expect(err).toMatch(
      /type-error\.ipynb: cell 1 .* failed:\n\s+TypeScriptError: line 1:7: Type 'string' is not assignable to type 'number'/,
    );
    expect(endless.timedOut, endless.out).toBe(false);
    expect(endless.code, endless.out).toBe(1);
    expect(endless.stderr).toMatch(/endless\.ipynb: cell 2 \(while \(true\) \{\}\) timed out:\n.*timed out after 4 s/);
    // The executed copy records the failure as an error output.
    const executed: Nb = JSON.parse(fs.readFileSync(path.join(dir, 'out', 'throws.ipynb'), 'utf8'));
    expect(
      executed.cells[1].outputs!.some(
        (o) => o.output_type === 'error' && o.ename === 'Error' && o.evalue === 'deliberate failure 42',
      ),
    ).toBe(true);
  }, 300_000);

  it('a kernel that dies while starting fails at once, with what the kernel printed', async () => {
    const data = fs.mkdtempSync(path.join(os.tmpdir(), 'kdead-'));
    fs.mkdirSync(path.join(data, 'kernels', 'dead'), { recursive: true });
    fs.writeFileSync(
      path.join(data, 'kernels', 'dead', 'kernel.json'),
      JSON.stringify({
        argv: [process.execPath, '-e', "console.error('cannot load tslab'); process.exit(1)", '{connection_file}'],
      }),
    );
    const t0 = Date.now();
    const r = await run(
      ['--kernel', 'dead', '--out', path.join(data, 'out'), path.join(ROOT, 'notebooks', NOTEBOOKS[0])],
      { JUPYTER_DATA_DIR: data },
      120_000,
    );
    expect(r.timedOut).toBe(false);
    expect(r.code, r.out).toBe(1);
    expect(r.stderr).toMatch(
      /kernel did not start: kernel died \(exit code 1\); the kernel printed:\ncannot load tslab/,
    );
    // Noticed the death rather than waiting out the 60 s start timeout; generous for a loaded machine.
    expect(Date.now() - t0).toBeLessThan(50_000);
  });

  it('exits 2 on bad usage', async () => {
    expect((await run(['--timeout', 'soon'])).code).toBe(2);
    expect((await run(['no/such/notebook.ipynb'])).code).toBe(2);
  });
});
