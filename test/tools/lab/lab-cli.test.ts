/**
 * `npm run lab` as a user runs it (the built CLI, dist/tools/lab/cli.js): it prints a URL with a
 * token, that URL serves the lab page of lab-app/build with the notebooks folder as its root and the
 * resnet-ts kernelspec, and Ctrl-C (SIGINT) stops the server. Bad flags fail with a message.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { buildDist, runProcess } from '../../helpers/process';
import { currentBuild, serverMissing } from '../../../tools/lab/lab';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'dist', 'tools', 'lab', 'cli.js');
let missing: string | null = null;

beforeAll(async () => {
  missing = (await serverMissing()) ?? (currentBuild() ? null : 'lab/ is not built (npm run lab:build)');
  if (missing && process.env.CI) throw new Error(`npm run lab cannot be tested in CI: ${missing}`);
  if (missing) console.warn(`\n*** SKIPPING the npm run lab test: ${missing} ***\n`);
  else await buildDist();
}, 200_000);

describe('npm run lab', () => {
  it('prints the URL, serves the lab on the notebooks with the resnet-ts kernel, stops on SIGINT', async (ctx) => {
    if (missing) return ctx.skip();
    // --port 0: the lab picks a free port itself and retries if another process takes it first
    // (a port probed here and passed in could be taken before the server binds it).
    const child = spawn(process.execPath, [CLI, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no URL within 60 s:\n${out}`)), 60_000);
        const check = () => {
          const m = out.match(/http:\/\/127\.0\.0\.1:\d+\/lab\?token=[0-9a-f]+/);
          if (m) {
            clearTimeout(t);
            resolve(m[0]);
          }
        };
        child.stdout.on('data', check);
        child.on('exit', (code) => reject(new Error(`exited with ${code}:\n${out}`)));
      });
      expect(Number(new URL(url).port)).toBeGreaterThan(0);
      const page = await (await fetch(url)).text();
      expect(page).toContain('bundle.js');
      const config = JSON.parse(page.match(/<script id="jupyter-config-data"[^>]*>([\s\S]*?)<\/script>/)![1]);
      expect(config.appVersion).toMatch(/^3\.6\./);
      expect(config.serverRoot).toBe(path.join(ROOT, 'notebooks'));
      const token = new URL(url).searchParams.get('token');
      const base = url.replace(/\/lab\?.*$/, '');
      const contents = await (await fetch(`${base}/api/contents?token=${token}`)).json();
      expect(contents.content.map((c: { name: string }) => c.name)).toContain('03-training.ipynb');
      const specs = await (await fetch(`${base}/api/kernelspecs?token=${token}`)).json();
      expect(specs.kernelspecs['resnet-ts'].spec.display_name).toBe('TypeScript (resnet-ts)');
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    }
    expect(child.exitCode ?? child.signalCode).not.toBeNull();
  });

  it('a bad --port fails with a message naming it', async (ctx) => {
    if (missing) return ctx.skip();
    const r = await runProcess(process.execPath, [CLI, '--port', 'eighty'], { timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--port must be 1..65535 (or 0: any free port), got eighty');
  });
});
