/**
 * Child processes for tests, run asynchronously.
 *
 * Why not spawnSync: a test worker blocked in spawnSync cannot answer vitest's RPC, and when the
 * blocked stretches of one file add up to more than vitest's 60 s RPC timeout the run fails with
 * "Timeout calling onTaskUpdate" even though every test passed (CI saw this with the notebook
 * runner tests on a loaded machine).
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr concatenated, for assertion messages. */
  out: string;
  timedOut: boolean;
}

export interface RunProcessOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Kill the process (SIGKILL) after this many milliseconds. */
  timeoutMs?: number;
}

export function runProcess(cmd: string, args: string[], opts: RunProcessOptions = {}): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
    });
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, opts.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, out: stdout + stderr, timedOut });
    });
  });
}

export const ROOT = path.resolve(__dirname, '../..');

/**
 * Builds dist/ from the current sources (the notebooks and the runner run the built package).
 * Throws with tsc's output when tsc fails or times out, so no test runs against a stale build.
 */
export async function buildDist(opts: { cwd?: string; project?: string; timeoutMs?: number } = {}): Promise<void> {
  const { cwd = ROOT, project = 'tsconfig.build.json', timeoutMs = 170_000 } = opts;
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = await runProcess(process.execPath, [tsc, '-p', project], { cwd, timeoutMs });
  if (r.timedOut)
    throw new Error(`buildDist: tsc -p ${project} did not finish within ${timeoutMs / 1000} s:\n${r.out}`);
  if (r.code !== 0) throw new Error(`buildDist: tsc -p ${project} exited with ${r.code ?? r.signal}:\n${r.out}`);
}
