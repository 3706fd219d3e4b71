/**
 * Convolution methods chosen by measurement, as cuDNN's benchmark mode does: the first time a (pass,
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

import type { ConvParams } from './addon';
import type { ConvMethod, ConvPass } from './kernel_helpers/conv_common';

/** Format of the cache files; a file with another version is ignored (and rewritten). */
const CACHE_VERSION = 1;

/** What one choice records: the method and the time of each candidate (best round, ms). */
export interface ConvMethodRecord {
  method: ConvMethod;
  ms: Partial<Record<ConvMethod, number>>;
}

export interface ConvMethodCacheFile {
  version: number;
  cpu: string;
  onednn: string;
  threads: number;
  choices: Record<string, ConvMethodRecord>;
}

/** The machine a choice is valid on. */
export interface MachineId {
  cpu: string;
  onednn: string;
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
  return `${slug(m.cpu) || 'unknown-cpu'}__onednn-${slug(m.onednn)}__threads-${m.threads}.json`;
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

  /** Best of `rounds` interleaved timings per candidate, after one warm-up call each; ties go to the first. */
  private measure(candidates: readonly ConvMethod[], call: (m: ConvMethod) => void): ConvMethodRecord {
    const start = performance.now();
    for (const m of candidates) call(m);
    const best = new Map<ConvMethod, number>(candidates.map((m) => [m, Infinity]));
    for (let r = 0; r < this.rounds; r++) {
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
      c.cpu === m.cpu &&
      c.onednn === m.onednn &&
      c.threads === m.threads &&
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
    const { cpu, onednn, threads } = this.opts.machine;
    const current = this.readFile() ?? { version: CACHE_VERSION, cpu, onednn, threads, choices: {} };
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

/** This machine, as the cache names it: CPU model, oneDNN's version and its thread count. */
export function thisMachine(info: { onednn: string; threads: number }): MachineId {
  return { cpu: os.cpus()[0]?.model ?? 'unknown', onednn: info.onednn, threads: info.threads };
}
