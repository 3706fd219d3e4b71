/** Runs a benchmark's child process with its output teed to a log file; resolves with stdout. */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { findProjectRoot } from '../src/project_root';
import * as path from 'node:path';

export const ROOT = findProjectRoot(__dirname);
/** Debian's python3 with python3-torch (the pyenv python3 first on PATH has no torch). */
export const TORCH_PYTHON = '/usr/bin/python3';

export function runLogged(
  cmd: string,
  args: string[],
  logFile: string,
  onLine?: (line: string) => void,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const log = fs.createWriteStream(logFile);
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let partial = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
      log.write(d);
      if (!onLine) return;
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop()!;
      lines.forEach(onLine);
    });
    child.stderr.on('data', (d: Buffer) => log.write(d));
    child.on('error', reject);
    child.on('close', (code) => {
      log.end();
      if (code === 0) resolve(stdout);
      else reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}; see ${logFile}`));
    });
  });
}

/** The median (the mean of the two middle values for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((p, q) => p - q);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** `--seeds 0,1,2` as numbers, or an error naming the bad entry. */
export function parseSeeds(list: string): number[] {
  return list.split(',').map((s) => {
    const n = Number(s);
    if (s.trim() === '' || !Number.isInteger(n) || n < 0)
      throw new Error(`--seeds: '${s}' is not a non-negative integer`);
    return n;
  });
}

/**
 * Runs `run(seed, impl)` for every seed and implementation, one after the other; a run whose
 * result file <out>/<impl>-s<seed>.json exists is read instead (so an interrupted comparison
 * resumes), and each new result is written atomically before the next run starts.
 */
export async function eachRun<I extends string, R>(
  out: string,
  seeds: number[],
  impls: I[],
  run: (seed: number, impl: I) => Promise<R>,
  report: (r: R, impl: I, seed: number) => void,
): Promise<R[]> {
  if (impls.includes('ours' as I) && !fs.existsSync(path.join(ROOT, 'dist', 'tools', 'train.js'))) {
    throw new Error('dist/ is missing: npm run build');
  }
  fs.mkdirSync(out, { recursive: true });
  const results: R[] = [];
  for (const seed of seeds) {
    for (const impl of impls) {
      const file = path.join(out, `${impl}-s${seed}.json`);
      if (fs.existsSync(file)) {
        results.push(JSON.parse(fs.readFileSync(file, 'utf8')));
        continue;
      }
      const r = await run(seed, impl);
      fs.writeFileSync(`${file}.tmp`, JSON.stringify(r));
      fs.renameSync(`${file}.tmp`, file);
      results.push(r);
      report(r, impl, seed);
    }
  }
  return results;
}
