// Convolution methods chosen by measurement (src/backend/onednn/conv_method_choice.ts): the choice logic and
// its disk cache, with injected timings (no native code), so every branch is checked on any CPU.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { ConvParams } from '../../src/backend/onednn/addon';
import {
  ConvMethodChooser,
  cacheFileName,
  convCandidates,
  convShapeKey,
  pickConvMethod,
  setConvAlgorithm,
  thisMachine,
  type ConvMethod,
  type ConvPass,
  type MachineId,
} from '../../src/backend/onednn/conv_method_choice';
import { readConfig } from '../../src/backend/onednn/config';

const MACHINE: MachineId = { cpu: 'AMD EPYC 7B13 64-Core Processor', onednn: '2.6.3', isa: 0x1ef, threads: 2 };
const ALL: ConvMethod[] = ['direct', 'gemm', 'winograd'];

/** A chooser whose clock says each method takes `ms[method]` (one value per call, cycling). */
function fakeTimed(ms: Partial<Record<ConvMethod, number[]>>, cacheDir: string | null, machine = MACHINE) {
  const calls: ConvMethod[] = [];
  const seen: Partial<Record<ConvMethod, number>> = {};
  let current: ConvMethod = 'direct';
  const chooser = new ConvMethodChooser({
    machine,
    cacheDir,
    rounds: 3,
    time: (run) => {
      run();
      const list = ms[current]!;
      const i = seen[current] ?? 0;
      seen[current] = i + 1;
      return list[i % list.length];
    },
  });
  const call = (m: ConvMethod) => {
    current = m;
    calls.push(m);
  };
  return { chooser, calls, call };
}

function params(over: Partial<ConvParams> = {}): ConvParams {
  return {
    batch: 64,
    inHeight: 24,
    inWidth: 24,
    inChannels: 64,
    outHeight: 24,
    outWidth: 24,
    outChannels: 64,
    filterHeight: 3,
    filterWidth: 3,
    strideHeight: 1,
    strideWidth: 1,
    dilationHeight: 1,
    dilationWidth: 1,
    padTop: 1,
    padLeft: 1,
    padBottom: 1,
    padRight: 1,
    relu: false,
    groups: 1,
    precision: 0,
    weightsStamp: 0,
    ...over,
  };
}

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conv-choice-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  vi.restoreAllMocks();
});

describe('ConvMethodChooser: measuring', () => {
  it('warms each candidate up once, times interleaved rounds, keeps the fastest and computes with it last', () => {
    const { chooser, calls, call } = fakeTimed({ direct: [5, 4, 6], gemm: [3, 9, 9], winograd: [3.5, 3.5, 3.5] }, null);
    expect(chooser.run('k', ALL, call)).toBe('gemm'); // best round: gemm 3 < winograd 3.5 < direct 4
    expect(calls).toEqual([
      ...['direct', 'gemm', 'winograd'], // warm-up (primitive creation), untimed
      ...['direct', 'gemm', 'winograd'],
      ...['direct', 'gemm', 'winograd'],
      ...['direct', 'gemm', 'winograd'],
      'gemm', // the output the caller keeps is the winner's
    ]);
    expect(chooser.lookup('k')).toEqual({ method: 'gemm', ms: { direct: 4, gemm: 3, winograd: 3.5 } });
    expect(chooser.measured).toBe(1);
  });

  it('a close call (two best within 5%) gets up to as many rounds again; a clear one does not', () => {
    const close = fakeTimed({ direct: [10, 10, 10, 10, 10, 9], gemm: [10.4] }, null);
    expect(close.chooser.run('k', ['direct', 'gemm'], close.call)).toBe('direct');
    expect(close.calls).toHaveLength(2 + 2 * 6 + 1); // warm-ups, 6 rounds, the output
    expect(close.chooser.lookup('k')!.ms).toEqual({ direct: 9, gemm: 10.4 });
    const clear = fakeTimed({ direct: [10], gemm: [10.6] }, null);
    clear.chooser.run('k', ['direct', 'gemm'], clear.call);
    expect(clear.calls).toHaveLength(2 + 2 * 3 + 1);
    // ... and a close call that the extra rounds settle the other way
    const turn = fakeTimed({ direct: [10], gemm: [10.2, 10.2, 10.2, 9.5] }, null);
    expect(turn.chooser.run('k', ['direct', 'gemm'], turn.call)).toBe('gemm');
  });

  it('computes a known shape once, with the kept method, without measuring again', () => {
    const { chooser, calls, call } = fakeTimed({ direct: [1], gemm: [2] }, null);
    chooser.run('k', ['direct', 'gemm'], call);
    calls.length = 0;
    for (let i = 0; i < 3; i++) expect(chooser.run('k', ['direct', 'gemm'], call)).toBe('direct');
    expect(calls).toEqual(['direct', 'direct', 'direct']);
    expect(chooser.measured).toBe(1);
  });

  it('keys are measured separately', () => {
    const { chooser, call } = fakeTimed({ direct: [1, 1, 1, 9, 9, 9], gemm: [2, 2, 2, 1, 1, 1] }, null);
    expect(chooser.run('a', ['direct', 'gemm'], call)).toBe('direct');
    expect(chooser.run('b', ['direct', 'gemm'], call)).toBe('gemm');
    expect(chooser.measured).toBe(2);
  });

  it('a tie goes to the first candidate (the rules put their pick first)', () => {
    const { chooser, call } = fakeTimed({ direct: [2], gemm: [2], winograd: [2] }, null);
    expect(chooser.run('k', ['winograd', 'direct', 'gemm'], call)).toBe('winograd');
  });

  it('one candidate is computed directly: nothing measured, nothing cached', () => {
    const { chooser, calls, call } = fakeTimed({ direct: [1] }, dir);
    expect(chooser.run('k', ['direct'], call)).toBe('direct');
    expect(calls).toEqual(['direct']);
    expect(chooser.measured).toBe(0);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('a kept method that can no longer run this shape is measured again among the ones that can', () => {
    const { chooser, call } = fakeTimed({ direct: [3], gemm: [2], winograd: [1] }, null);
    expect(chooser.run('k', ALL, call)).toBe('winograd');
    expect(chooser.run('k', ['direct', 'gemm'], call)).toBe('gemm');
  });

  it('exactly 5% apart is not a close call; equal times stay close for at most twice the rounds', () => {
    const apart = fakeTimed({ direct: [1], gemm: [1.05] }, null);
    apart.chooser.run('k', ['direct', 'gemm'], apart.call);
    expect(apart.calls).toHaveLength(2 + 2 * 3 + 1);
    const equal = fakeTimed({ direct: [2], gemm: [2] }, null);
    equal.chooser.run('k', ['direct', 'gemm'], equal.call);
    expect(equal.calls).toHaveLength(2 + 2 * 6 + 1);
  });

  it('3 rounds unless told; 1 round is allowed', () => {
    for (const [rounds, timed] of [
      [undefined, 3],
      [1, 1],
    ] as const) {
      const calls: ConvMethod[] = [];
      const c = new ConvMethodChooser({ machine: MACHINE, cacheDir: null, rounds, time: (run) => (run(), 1) });
      const times: Record<ConvMethod, number> = { direct: 1, gemm: 2, winograd: 3 };
      const t = new ConvMethodChooser({
        machine: MACHINE,
        cacheDir: null,
        rounds,
        time: (run) => {
          run();
          return times[calls.at(-1)!];
        },
      });
      expect(t.run('k', ['direct', 'gemm'], (m) => calls.push(m))).toBe('direct');
      expect(calls).toHaveLength(2 + 2 * timed + 1);
      expect(c.measured).toBe(0);
    }
  });

  it('the wall clock by default; measuringMs adds up the time spent measuring', () => {
    const spin = () => {
      const until = performance.now() + 0.3;
      while (performance.now() < until);
    };
    const c = new ConvMethodChooser({ machine: MACHINE, cacheDir: null, rounds: 1 });
    const start = performance.now();
    c.run('k', ['direct', 'gemm'], spin);
    const elapsed = performance.now() - start;
    const ms = Object.values(c.lookup('k')!.ms);
    expect(ms).toHaveLength(2);
    for (const t of ms) {
      expect(t).toBeGreaterThanOrEqual(0.3);
      expect(t).toBeLessThan(elapsed);
    }
    expect(c.measuringMs).toBeGreaterThan(4 * 0.3);
    expect(c.measuringMs).toBeLessThanOrEqual(elapsed);
    const before = c.measuringMs;
    c.run('k2', ['direct', 'gemm'], spin);
    expect(c.measuringMs).toBeGreaterThan(before + 4 * 0.3);
  });

  it('refuses no candidates and a bad round count, naming them', () => {
    const { chooser, call } = fakeTimed({}, null);
    expect(() => chooser.run('the key', [], call)).toThrow(/no method can run 'the key'/);
    for (const rounds of [0, 1.5, NaN])
      expect(() => new ConvMethodChooser({ machine: MACHINE, cacheDir: null, rounds })).toThrow(/rounds.*>= 1/);
  });
});

describe('ConvMethodChooser: the cache on disk', () => {
  it('writes one file per machine; a new process on the same machine computes with the cached method', () => {
    const first = fakeTimed({ direct: [5], gemm: [1] }, dir);
    first.chooser.run('k', ['direct', 'gemm'], first.call);
    const file = path.join(dir, cacheFileName(MACHINE));
    const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(saved).toEqual({
      version: 1,
      ...MACHINE,
      choices: { k: { method: 'gemm', ms: { direct: 5, gemm: 1 } } },
    });
    // The next process: its clock would now prefer direct, but the cached choice holds (no measuring).
    const second = fakeTimed({ direct: [1], gemm: [5] }, dir);
    expect(second.chooser.run('k', ['direct', 'gemm'], second.call)).toBe('gemm');
    expect(second.calls).toEqual(['gemm']);
    expect(second.chooser.measured).toBe(0);
  });

  it("names the file by CPU model, oneDNN version, oneDNN's ISA and thread count; others measure anew", () => {
    expect(cacheFileName(MACHINE)).toBe('AMD-EPYC-7B13-64-Core-Processor__onednn-2.6.3__isa-0x1ef__threads-2.json');
    expect(cacheFileName({ cpu: '  ', onednn: '3.1', isa: 0, threads: 8 })).toBe(
      'unknown-cpu__onednn-3.1__isa-0x0__threads-8.json',
    );
    // runs of other characters become one '-', none at either end
    expect(cacheFileName({ cpu: '(Intel)  Xeon(R)  @ 2.10GHz!', onednn: 'v3.0 (beta)', isa: 0x3e7, threads: 2 })).toBe(
      'Intel-Xeon-R-2.10GHz__onednn-v3.0-beta__isa-0x3e7__threads-2.json',
    );
    const a = fakeTimed({ direct: [5], gemm: [1] }, dir);
    a.chooser.run('k', ['direct', 'gemm'], a.call);
    const b = fakeTimed({ direct: [1], gemm: [5] }, dir, { ...MACHINE, threads: 1 });
    expect(b.chooser.run('k', ['direct', 'gemm'], b.call)).toBe('direct');
    expect(b.chooser.measured).toBe(1);
    // the same CPU with oneDNN held to AVX2 (ONEDNN_MAX_CPU_ISA=AVX2): other kernels, measured anew
    const c = fakeTimed({ direct: [1], gemm: [5] }, dir, { ...MACHINE, isa: 0x71 });
    expect(c.chooser.run('k', ['direct', 'gemm'], c.call)).toBe('direct');
    expect(c.chooser.measured).toBe(1);
    expect(fs.readdirSync(dir).sort()).toEqual(
      [
        cacheFileName({ ...MACHINE, threads: 1 }),
        cacheFileName({ ...MACHINE, isa: 0x71 }),
        cacheFileName(MACHINE),
      ].sort(),
    );
  });

  it("ignores a file that is another machine's, another version's, corrupt or holds unknown methods", () => {
    const file = path.join(dir, cacheFileName(MACHINE));
    const good = { version: 1, ...MACHINE, choices: { k: { method: 'gemm', ms: {} } } };
    const bad: unknown[] = [
      { ...good, cpu: 'Intel Xeon' },
      { ...good, onednn: '3.0' },
      { ...good, isa: 0x71 },
      { ...good, threads: 4 },
      { ...good, version: 2 },
      { ...good, choices: null },
      { ...good, choices: { k: { method: 'fft', ms: {} } } },
    ];
    for (const content of [...bad.map((b) => JSON.stringify(b)), '{"version": 1, "cpu": "AMD', '']) {
      fs.writeFileSync(file, content);
      const c = fakeTimed({ direct: [1], gemm: [5] }, dir);
      expect(c.chooser.run('k', ['direct', 'gemm'], c.call), content).toBe('direct');
      expect(c.chooser.measured, content).toBe(1);
      // ... and replaces it with a well-formed file of this machine.
      expect(JSON.parse(fs.readFileSync(file, 'utf8')).choices.k.method).toBe('direct');
    }
  });

  it('reads every method a file may hold, skips unknown ones, and ends the file with a newline', () => {
    const file = path.join(dir, cacheFileName(MACHINE));
    const choices = {
      a: { method: 'direct', ms: { direct: 1 } },
      b: { method: 'gemm', ms: { gemm: 1 } },
      c: { method: 'winograd', ms: { winograd: 1 } },
      d: { method: 'fft', ms: {} },
    };
    fs.writeFileSync(file, JSON.stringify({ version: 1, ...MACHINE, choices }));
    const c = fakeTimed({ direct: [1], gemm: [5] }, dir);
    expect(['a', 'b', 'c', 'd'].map((k) => c.chooser.lookup(k)?.method)).toEqual([
      'direct',
      'gemm',
      'winograd',
      undefined,
    ]);
    c.chooser.run('e', ['direct', 'gemm'], c.call);
    expect(fs.readFileSync(file, 'utf8').endsWith('}\n')).toBe(true);
  });

  it('a file whose choices are not an object is ignored as a whole: rewritten with only what this machine writes', () => {
    const file = path.join(dir, cacheFileName(MACHINE));
    fs.writeFileSync(file, JSON.stringify({ version: 1, ...MACHINE, choices: 'gemm', note: 'left by hand' }));
    const c = fakeTimed({ direct: [1], gemm: [5] }, dir);
    c.chooser.run('k', ['direct', 'gemm'], c.call);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({
      version: 1,
      ...MACHINE,
      choices: { k: { method: 'direct', ms: { direct: 1, gemm: 5 } } },
    });
  });

  it('a chooser without a cache folder writes nothing and warns about nothing', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const c = fakeTimed({ direct: [5], gemm: [1] }, null);
    expect(c.chooser.cacheFile).toBeNull();
    expect(c.chooser.run('a', ['direct', 'gemm'], c.call)).toBe('gemm');
    const warnings = [...warn.mock.calls];
    warn.mockRestore();
    expect(warnings).toEqual([]);
  });

  it("merges with what another process wrote since, keeping that process's choice of a shared shape", () => {
    const a = fakeTimed({ direct: [5], gemm: [1] }, dir);
    const b = fakeTimed({ direct: [1], gemm: [5] }, dir);
    a.chooser.lookup('x'); // both read the (absent) file before either writes
    b.chooser.lookup('x');
    a.chooser.run('shared', ['direct', 'gemm'], a.call);
    a.chooser.run('onlyA', ['direct', 'gemm'], a.call);
    expect(b.chooser.run('shared', ['direct', 'gemm'], b.call)).toBe('direct'); // b keeps its own in memory
    b.chooser.run('onlyB', ['direct', 'gemm'], b.call);
    const saved = JSON.parse(fs.readFileSync(path.join(dir, cacheFileName(MACHINE)), 'utf8'));
    expect(Object.keys(saved.choices).sort()).toEqual(['onlyA', 'onlyB', 'shared']);
    expect(saved.choices.shared.method).toBe('gemm'); // the first writer's
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('an unwritable cache folder costs one warning and nothing else', () => {
    const blocked = path.join(dir, 'file-not-folder');
    fs.writeFileSync(blocked, '');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const c = fakeTimed({ direct: [5], gemm: [1] }, path.join(blocked, 'cache'));
    expect(c.chooser.run('a', ['direct', 'gemm'], c.call)).toBe('gemm');
    expect(c.chooser.run('b', ['direct', 'gemm'], c.call)).toBe('gemm');
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/convolution method cache not written.*file-not-folder/);
  });
});

describe('convShapeKey', () => {
  it('tells apart everything that changes the cost, and ignores the filter stamp', () => {
    const base = convShapeKey(params(), 'forward');
    expect(base).toBe('forward n64 24x24x64 24x24x64 k3x3 s1x1 d1x1 p1,1,1,1 g1 prec0');
    const changed: Partial<ConvParams>[] = [
      { batch: 32 },
      { inHeight: 25 },
      { inWidth: 25 },
      { inChannels: 32 },
      { outHeight: 12 },
      { outWidth: 12 },
      { outChannels: 128 },
      { filterHeight: 1 },
      { filterWidth: 1 },
      { strideHeight: 2 },
      { strideWidth: 2 },
      { dilationHeight: 2 },
      { dilationWidth: 2 },
      { padTop: 0 },
      { padLeft: 0 },
      { padBottom: 0 },
      { padRight: 0 },
      { groups: 2 },
      { precision: 2 },
      { relu: true },
    ];
    for (const c of changed) expect(convShapeKey(params(c), 'forward'), JSON.stringify(c)).not.toBe(base);
    expect(convShapeKey(params({ weightsStamp: 7 }), 'forward')).toBe(base);
    expect(convShapeKey(params(), 'backwardData')).not.toBe(base);
    // relu is fused into the forward pass only.
    expect(convShapeKey(params({ relu: true }), 'backwardWeights')).toBe(convShapeKey(params(), 'backwardWeights'));
  });
});

describe('convCandidates', () => {
  afterEach(() => {
    setConvAlgorithm('auto');
  });
  const rule = (p: ConvParams, pass: ConvPass) => pickConvMethod(p, pass);

  it('measuring: every method that can run the shape, the rules pick first', () => {
    for (const pass of ['forward', 'backwardData', 'backwardWeights'] as const) {
      const p3 = params(); // 3x3 stride 1: Winograd applies
      const c3 = convCandidates(p3, pass, true);
      expect(c3[0], pass).toBe(rule(p3, pass));
      expect([...c3].sort(), pass).toEqual(['direct', 'gemm', 'winograd']);
      const p1 = params({ filterHeight: 1, filterWidth: 1, padTop: 0, padLeft: 0, padBottom: 0, padRight: 0 });
      const c1 = convCandidates(p1, pass, true);
      expect(c1[0], pass).toBe(rule(p1, pass));
      expect([...c1].sort(), pass).toEqual(['direct', 'gemm']);
    }
  });

  it('native bf16: direct (the rule) and GEMM measured, never Winograd; forcing GEMM takes it', () => {
    for (const pass of ['forward', 'backwardData', 'backwardWeights'] as const) {
      const p = params({ precision: 1 });
      expect(rule(p, pass), pass).toBe('direct');
      expect(convCandidates(p, pass, true), pass).toEqual(['direct', 'gemm']);
      expect(convCandidates(p, pass, false), pass).toEqual(['direct']);
    }
    setConvAlgorithm('gemm');
    expect(convCandidates(params({ precision: 1 }), 'forward', true)).toEqual(['gemm']);
    setConvAlgorithm('winograd');
    expect(convCandidates(params({ precision: 1 }), 'forward', true)).toEqual(['direct']);
  });

  it('one candidate when measuring is off (the rules), a method is forced, or the convolution is grouped or bf16-emulated', () => {
    const p = params();
    expect(convCandidates(p, 'forward', false)).toEqual([rule(p, 'forward')]);
    expect(convCandidates(params({ groups: 2 }), 'forward', true)).toEqual(['direct']);
    expect(convCandidates(params({ groups: 2, precision: 1 }), 'forward', true)).toEqual(['direct']);
    expect(convCandidates(params({ precision: 2 }), 'backwardWeights', true)).toEqual(['direct']);
    setConvAlgorithm('gemm');
    expect(convCandidates(params({ precision: 2 }), 'forward', true)).toEqual(['direct']);
    setConvAlgorithm('gemm');
    expect(convCandidates(p, 'forward', true)).toEqual(['gemm']);
    setConvAlgorithm('winograd');
    expect(convCandidates(p, 'forward', true)).toEqual(['winograd']);
    expect(convCandidates(params({ strideHeight: 2, strideWidth: 2 }), 'forward', true)).toEqual(['direct']);
    setConvAlgorithm('direct');
    expect(convCandidates(p, 'backwardWeights', true)).toEqual(['direct']);
  });
});

describe("this machine and the process's chooser", () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.doUnmock('../../src/backend/onednn/addon');
    vi.resetModules();
  });

  it("thisMachine: the first CPU's model, or 'unknown' when the system lists none", async () => {
    expect(thisMachine({ onednn: '3.0', isa: 0x71, threads: 2 })).toEqual({
      cpu: os.cpus()[0].model,
      onednn: '3.0',
      isa: 0x71,
      threads: 2,
    });
    vi.resetModules();
    vi.doMock('os', async (importOriginal) => ({ ...(await importOriginal<typeof os>()), cpus: () => [] }));
    try {
      const m = await import('../../src/backend/onednn/conv_method_choice');
      expect(m.thisMachine({ onednn: '3.0', isa: 0, threads: 2 })).toEqual({
        cpu: 'unknown',
        onednn: '3.0',
        isa: 0,
        threads: 2,
      });
    } finally {
      vi.doUnmock('os');
    }
  });

  it("without the addon: ISA 0 (the AVX2 rules), and one chooser for the process, oneDNN 'none' on 1 thread", async () => {
    vi.resetModules();
    vi.doMock('../../src/backend/onednn/addon', () => ({
      loadAddon: () => ({ addon: null, path: '', reason: 'no addon in this test' }),
    }));
    const m = await import('../../src/backend/onednn/conv_method_choice');
    expect(m.cpuIsa()).toBe(0);
    const chooser = m.convMethodChooser();
    expect(chooser).toBeInstanceOf(m.ConvMethodChooser);
    expect(m.convMethodChooser()).toBe(chooser);
    expect(chooser.cacheFile).toBe(
      path.join(
        readConfig().convMethodCache!,
        m.cacheFileName({ cpu: os.cpus()[0].model, onednn: 'none', isa: 0, threads: 1 }),
      ),
    );
  });
});

describe('the switches', () => {
  it('RESNET_ONEDNN_CONV_MEASURE=0 turns measuring off; RESNET_ONEDNN_CONV_CACHE moves or disables the cache', () => {
    expect(readConfig({}).convMeasure).toBe(true);
    expect(readConfig({ RESNET_ONEDNN_CONV_MEASURE: '0' }).convMeasure).toBe(false);
    expect(readConfig({ RESNET_ONEDNN_CONV_MEASURE: '1' }).convMeasure).toBe(true);
    expect(readConfig({ XDG_CACHE_HOME: '/x/cache' }).convMethodCache).toBe('/x/cache/resnet-ts/conv-methods');
    expect(readConfig({}).convMethodCache).toBe(path.join(os.homedir(), '.cache', 'resnet-ts', 'conv-methods'));
    expect(readConfig({ RESNET_ONEDNN_CONV_CACHE: '/tmp/c' }).convMethodCache).toBe('/tmp/c');
    expect(readConfig({ RESNET_ONEDNN_CONV_CACHE: 'rel' }).convMethodCache).toBe(path.resolve('rel'));
    expect(readConfig({ RESNET_ONEDNN_CONV_CACHE: 'off' }).convMethodCache).toBeNull();
  });
});
