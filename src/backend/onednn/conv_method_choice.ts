/**
 * Which method computes a convolution pass (direct, im2col + GEMM, Winograd): chosen by measurement, as
 * cuDNN's benchmark mode does: the first time a (pass,
 * shape, precision) meets the back end, every method that can run it is timed on the call's own arrays,
 * a few interleaved rounds each, and the fastest is kept for the rest of the process. Choices are also
 * kept on disk, one file per CPU model, oneDNN version and thread count, so a shape is measured once per
 * machine (and two runs on one machine compute with the same methods).
 *
 * Hand-written rules (`pickConvMethod`) were right only on the CPU where they were measured; they stay
 * as the choice when measuring is switched off (RESNET_ONEDNN_CONV_MEASURE=0) and as the order of the
 * candidates here.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { loadAddon, type ConvParams } from './addon';
import { ConvAlgorithm, config } from './config';

export type ConvPass = 'forward' | 'backwardData' | 'backwardWeights';

export type { ConvAlgorithm };
let mode: ConvAlgorithm = config.convAlgorithm;
/** RESNET_ONEDNN_CONV_MEASURE: choose by measurement (on) or by the rules below (off). */
let measuring = config.convMeasure;

/** Forces an algorithm (tests, benchmarks); returns the previous setting. */
export function setConvAlgorithm(m: ConvAlgorithm): ConvAlgorithm {
  const prev = mode;
  mode = m;
  return prev;
}

/** oneDNN's dnnl_cpu_isa_avx512_core bits (dnnl_types.h), set in every AVX-512 ISA it reports from Skylake on. */
const AVX512_CORE = 0x27;
let effectiveIsa: number | undefined;

/** oneDNN's effective ISA (`get_effective_cpu_isa`), read from the addon once; 0 when it is absent. */
export function cpuIsa(): number {
  return (effectiveIsa ??= loadAddon().addon?.info().isa ?? 0);
}

export function isAvx512(isa: number): boolean {
  return (isa & AVX512_CORE) === AVX512_CORE;
}

/** How a convolution pass is computed: oneDNN's direct kernels, im2col + GEMM, or Winograd F(2x2, 3x3). */
export type ConvMethod = 'direct' | 'gemm' | 'winograd';

/** Winograd F(2x2, 3x3) runs float32, ungrouped, undilated 3x3 stride-1 convolutions (conv_winograd.cc). */
export function winogradApplies(p: ConvParams): boolean {
  return (
    p.groups === 1 &&
    p.precision === 0 &&
    p.filterHeight === 3 &&
    p.filterWidth === 3 &&
    p.strideHeight === 1 &&
    p.strideWidth === 1 &&
    p.dilationHeight === 1 &&
    p.dilationWidth === 1
  );
}

/**
 * im2col + GEMM runs ungrouped convolutions in float32 and in native bf16 (conv_gemm.cc: bf16 matmuls, on AMX
 * where the CPU has it); bf16-emulated models the direct path's numerics and stays direct.
 */
export function gemmApplies(p: ConvParams): boolean {
  return p.groups === 1 && (p.precision === 0 || p.precision === 1);
}

/**
 * The rules' method for one pass of one convolution (the choice when measuring is off, and the first
 * candidate when it is on). Which one wins depends on the ISA oneDNN runs (`npm run
 * bench:conv` measures every shape and pass of a recipe's step; docs/measurements.md has the tables):
 * - both: tiny output maps (the 3x3 maps of the seed's last stage, 4x4 of `fast`) go to GEMM (AVX-512,
 *   one thread: 39 vs 20 ms forward; AVX2, two threads: 131 vs 93 GFLOP/s).
 * - AVX-512: elsewhere direct (brgconv / jit) wins, but backward data with a single input channel (the 7x7
 *   stem) runs at 7 GFLOP/s direct and 2.4x faster as GEMM + col2im. (Winograd is not measured there.)
 * - AVX2: Winograd for 3x3 stride-1 layers of >= 64 channels in and out (>= 32 for filter gradients) and
 *   >= 4x4 maps: 1.1-2.2x faster than the better of the other two (2.25x fewer multiplications, and the
 *   filter gradient's GEMMs reduce over tiles instead of pixels). Otherwise GEMM once the GEMM is wide
 *   and deep (>= 128 output channels, >= 128 = kh*kw*ic reduction): 6x6 and 3x3 maps of 256-512 channels
 *   by 1.2-2.3x, the 11x11 1x1/2 shortcut by 2.8x, and filter gradients of reduction >= 576 (level or up
 *   to 20% faster); direct for the rest, the early narrow layers, where GEMM is up to 3x slower.
 * RESNET_ONEDNN_CONV=direct|gemm|winograd forces one where it can run (direct elsewhere). In bf16 the rule is
 * direct and measuring weighs GEMM against it (GEMM on AMX: the stem's filter gradient 20x faster, see
 * docs/measurements.md); bf16-emulated and grouped convolutions are direct only.
 * These rules come from one AVX2 and one AVX-512 machine; elsewhere measuring (below) decides.
 */
export function pickConvMethod(p: ConvParams, pass: ConvPass, isa = cpuIsa()): ConvMethod {
  if (!gemmApplies(p)) return 'direct';
  if (mode === 'direct') return 'direct';
  if (mode === 'gemm') return 'gemm';
  if (p.precision !== 0) return 'direct'; // bf16: no rule measured beyond one AMX CPU; measuring decides
  if (mode === 'winograd') return winogradApplies(p) ? 'winograd' : 'direct';
  const map = p.outHeight * p.outWidth;
  if (isAvx512(isa)) return map <= 16 || (pass === 'backwardData' && p.inChannels <= 4) ? 'gemm' : 'direct';
  const narrowest = Math.min(p.inChannels, p.outChannels);
  if (winogradApplies(p) && map >= 16 && narrowest >= (pass === 'backwardWeights' ? 32 : 64)) return 'winograd';
  if (map <= 16) return 'gemm';
  const reduction = p.filterHeight * p.filterWidth * p.inChannels;
  const gemm = (p.outChannels >= 128 && reduction >= 128) || (pass === 'backwardWeights' && reduction >= 576);
  return gemm ? 'gemm' : 'direct';
}

/** Format of the cache files; a file with another version is ignored (and rewritten). */
const CACHE_VERSION = 1;

/** What one choice records: the method and the time of each candidate (best round, ms). */
export interface ConvMethodRecord {
  method: ConvMethod;
  ms: Partial<Record<ConvMethod, number>>;
}

/** A cache file: the machine its choices were measured on, and the choices. */
export interface ConvMethodCacheFile extends MachineId {
  version: number;
  choices: Record<string, ConvMethodRecord>;
}

/**
 * The machine a choice is valid on. `isa` is oneDNN's effective ISA: ONEDNN_MAX_CPU_ISA (or a VM that hides
 * AVX-512 behind the same CPU model name) gives oneDNN other kernels, so choices measured with one ISA are
 * not reused with another.
 */
export interface MachineId {
  cpu: string;
  onednn: string;
  isa: number;
  threads: number;
}

export interface ConvMethodChooserOptions {
  machine: MachineId;
  /** Folder of the cache files; null keeps choices in memory only. */
  cacheDir: string | null;
  /** Timed rounds per candidate after one untimed warm-up call each (oneDNN creates its primitive then). */
  rounds?: number;
  /** Milliseconds one call of `run(method)` took (tests inject timings here). */
  time?: (run: () => void) => number;
}

/** The fields of a convolution that decide its cost (not the filter's stamp). */
export function convShapeKey(p: ConvParams, pass: ConvPass): string {
  return [
    pass,
    `n${p.batch}`,
    `${p.inHeight}x${p.inWidth}x${p.inChannels}`,
    `${p.outHeight}x${p.outWidth}x${p.outChannels}`,
    `k${p.filterHeight}x${p.filterWidth}`,
    `s${p.strideHeight}x${p.strideWidth}`,
    `d${p.dilationHeight}x${p.dilationWidth}`,
    `p${p.padTop},${p.padLeft},${p.padBottom},${p.padRight}`,
    `g${p.groups}`,
    `prec${p.precision}`,
    p.relu && pass === 'forward' ? 'relu' : '',
  ]
    .filter(Boolean)
    .join(' ');
}

/** The cache file's name for a machine: readable, and safe on any file system. */
export function cacheFileName(m: MachineId): string {
  const slug = (s: string) =>
    s
      .trim()
      .replace(/[^A-Za-z0-9.]+/g, '-')
      .replace(/^-+|-+$/g, '');
  return `${slug(m.cpu) || 'unknown-cpu'}__onednn-${slug(m.onednn)}__isa-0x${m.isa.toString(16)}__threads-${m.threads}.json`;
}

/** Two best times closer than this ratio get more rounds. */
export const CLOSE_CALL = 1.05;

function closeCall(times: number[]): boolean {
  const [a, b] = [...times].sort((x, y) => x - y);
  return b !== undefined && b < a * CLOSE_CALL;
}

const wallClock = (run: () => void) => {
  const t = performance.now();
  run();
  return performance.now() - t;
};

/**
 * Keeps, per shape key, the method a measurement chose. `run(p, pass, candidates, call)` calls
 * `call(method)` to compute the convolution: once with the kept method, or, for a shape met for the first
 * time, once per candidate and round and then once more with the winner (so the output is the winner's).
 */
export class ConvMethodChooser {
  private readonly chosen = new Map<string, ConvMethodRecord>();
  private fileLoaded = false;
  private readonly rounds: number;
  private readonly time: (run: () => void) => number;
  /** Milliseconds spent measuring so far, and the number of shapes measured (for the bench and the docs). */
  measuringMs = 0;
  measured = 0;

  constructor(private readonly opts: ConvMethodChooserOptions) {
    if (opts.rounds !== undefined && !(Number.isInteger(opts.rounds) && opts.rounds >= 1)) {
      throw new RangeError(`ConvMethodChooser: rounds must be an integer >= 1, got ${opts.rounds}`);
    }
    this.rounds = opts.rounds ?? 3;
    this.time = opts.time ?? wallClock;
  }

  /** Path of this machine's cache file, or null when choices stay in memory. */
  get cacheFile(): string | null {
    return this.opts.cacheDir === null ? null : path.join(this.opts.cacheDir, cacheFileName(this.opts.machine));
  }

  /** The kept choice for a shape, if any (from this process or the cache file). */
  lookup(key: string): ConvMethodRecord | undefined {
    this.loadFile();
    return this.chosen.get(key);
  }

  /** Computes one convolution pass with the method chosen for its shape; returns that method. */
  run(key: string, candidates: readonly ConvMethod[], call: (m: ConvMethod) => void): ConvMethod {
    if (candidates.length === 0) throw new Error(`ConvMethodChooser: no method can run '${key}'`);
    const kept = candidates.length === 1 ? { method: candidates[0], ms: {} } : this.lookup(key);
    if (kept && candidates.includes(kept.method)) {
      call(kept.method);
      return kept.method;
    }
    const record = this.measure(candidates, call);
    this.chosen.set(key, record);
    this.saveChoice(key, record);
    call(record.method);
    return record.method;
  }

  /**
   * Best of `rounds` interleaved timings per candidate, after one warm-up call each; when the two best
   * are within CLOSE_CALL of each other (where one noisy round decides), up to `rounds` more rounds.
   * Ties go to the first candidate.
   */
  private measure(candidates: readonly ConvMethod[], call: (m: ConvMethod) => void): ConvMethodRecord {
    const start = performance.now();
    for (const m of candidates) call(m);
    const best = new Map<ConvMethod, number>(candidates.map((m) => [m, Infinity]));
    for (let r = 0; r < 2 * this.rounds; r++) {
      if (r >= this.rounds && !closeCall([...best.values()])) break;
      for (const m of candidates)
        best.set(
          m,
          Math.min(
            best.get(m)!,
            this.time(() => call(m)),
          ),
        );
    }
    let method = candidates[0];
    for (const m of candidates) if (best.get(m)! < best.get(method)!) method = m;
    this.measuringMs += performance.now() - start;
    this.measured++;
    return { method, ms: Object.fromEntries(best) };
  }

  private loadFile(): void {
    if (this.fileLoaded) return;
    this.fileLoaded = true;
    const file = this.readFile();
    if (!file) return;
    for (const [key, rec] of Object.entries(file.choices)) if (!this.chosen.has(key)) this.chosen.set(key, rec);
  }

  /** The cache file if it is this machine's and well-formed; anything else is ignored (and replaced). */
  private readFile(): ConvMethodCacheFile | null {
    const file = this.cacheFile;
    if (!file) return null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      return null; // absent, unreadable or half-written by a crashed process: measure again
    }
    const c = parsed as Partial<ConvMethodCacheFile>;
    const m = this.opts.machine;
    const ok =
      c &&
      c.version === CACHE_VERSION &&
      (Object.keys(m) as (keyof MachineId)[]).every((k) => c[k] === m[k]) &&
      typeof c.choices === 'object' &&
      c.choices !== null;
    if (!ok) return null;
    const choices: Record<string, ConvMethodRecord> = {};
    for (const [key, rec] of Object.entries(c.choices!)) {
      if (rec && (rec.method === 'direct' || rec.method === 'gemm' || rec.method === 'winograd')) choices[key] = rec;
    }
    return { ...(c as ConvMethodCacheFile), choices };
  }

  /**
   * Adds one choice to the file, merged with what other processes wrote since (their choices for other
   * shapes are kept; for the same shape the file keeps the first). Written to a temporary name and
   * renamed, so a reader never sees half a file. A cache that cannot be written costs a re-measure in
   * the next process, nothing else.
   */
  private saveChoice(key: string, record: ConvMethodRecord): void {
    const file = this.cacheFile;
    if (!file) return;
    const current = this.readFile() ?? { version: CACHE_VERSION, ...this.opts.machine, choices: {} };
    current.choices[key] ??= record;
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(current, null, 1) + '\n');
      fs.renameSync(tmp, file);
    } catch (e) {
      if (!this.warned) {
        this.warned = true;
        console.warn(`convolution method cache not written (${file}): ${(e as Error).message}`);
      }
    }
  }
  private warned = false;
}

/** This machine, as the cache names it: CPU model, oneDNN's version, its effective ISA and thread count. */
export function thisMachine(info: { onednn: string; isa: number; threads: number }): MachineId {
  return { cpu: os.cpus()[0]?.model ?? 'unknown', onednn: info.onednn, isa: info.isa, threads: info.threads };
}

/**
 * The methods that can compute this pass, the rules' pick first: one when a method is forced, when
 * measuring is off (the rules' pick), or for grouped and bf16-emulated convolutions (direct only).
 */
export function convCandidates(p: ConvParams, pass: ConvPass, measure = measuring): ConvMethod[] {
  const rule = pickConvMethod(p, pass);
  if (!measure || mode !== 'auto' || !gemmApplies(p)) return [rule];
  const all: ConvMethod[] = winogradApplies(p) ? ['direct', 'gemm', 'winograd'] : ['direct', 'gemm'];
  return [rule, ...all.filter((m) => m !== rule)];
}

/** Turns measuring on or off (tests, benchmarks); returns the previous setting. */
export function setConvMeasuring(on: boolean): boolean {
  const prev = measuring;
  measuring = on;
  return prev;
}

let chooser: ConvMethodChooser | undefined;

/** The process's chooser: this machine's cache file under RESNET_ONEDNN_CONV_CACHE (created on first use). */
export function convMethodChooser(): ConvMethodChooser {
  if (!chooser) {
    const info = loadAddon().addon?.info() ?? { onednn: 'none', isa: 0, threads: 1 };
    chooser = new ConvMethodChooser({ machine: thisMachine(info), cacheDir: config.convMethodCache });
  }
  return chooser;
}

/** Replaces the process's chooser (tests, benchmarks); returns the previous one. */
export function setConvMethodChooser(c: ConvMethodChooser | undefined): ConvMethodChooser | undefined {
  const prev = chooser;
  chooser = c;
  return prev;
}

/** Computes one pass with `call(method)`, the method chosen for its shape; returns that method. */
export function chooseConvMethod(p: ConvParams, pass: ConvPass, call: (m: ConvMethod) => void): ConvMethod {
  const candidates = convCandidates(p, pass);
  if (candidates.length === 1) {
    call(candidates[0]);
    return candidates[0];
  }
  return convMethodChooser().run(convShapeKey(p, pass), candidates, call);
}
