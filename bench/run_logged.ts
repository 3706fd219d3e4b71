/** Runs a benchmark's child process with its output teed to a log file; resolves with stdout. */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..');
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
