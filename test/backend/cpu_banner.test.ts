/**
 * tfjs's cpu back end prints "Hi, looks like you are running TensorFlow.js in Node.js ... install our
 * node backend" on its first tensor. It must never reach a learner, whatever the order of imports
 * and tryGpu(): checked in a fresh process (the banner is once per back-end instance), building and
 * running a network on the default back end before any tryGpu(), and again after switching.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, runProcess } from '../helpers/process';

const SCRIPT = `
import { Residual, tf, tryGpu } from '${path.join(ROOT, 'src', 'index').replace(/\\/g, '/')}';
const y = new Residual(3).apply(tf.randomUniform([1, 6, 6, 3]));
console.log('first:', tf.getBackend(), JSON.stringify(y.shape));
await tryGpu();
await tryGpu({ prefer: 'cpu' });
tf.randomUniform([2, 2]).print();
console.log('done');
`;

describe("tfjs's Node banner", () => {
  it('a network built before any tryGpu() runs on cpu and nothing reaches stderr', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resnet-ts-banner-'));
    const file = path.join(dir, 'banner.ts');
    fs.writeFileSync(file, SCRIPT);
    const r = await runProcess(
      process.execPath,
      [path.join(ROOT, 'node_modules', 'vite-node', 'vite-node.mjs'), file],
      {
        cwd: ROOT,
        timeoutMs: 60_000,
        env: { ...process.env, RESNET_TS_BACKEND: '' },
      },
    );
    fs.rmSync(dir, { recursive: true, force: true });
    expect(r.code, r.out).toBe(0);
    expect(r.stdout).toContain('first: cpu [1,6,6,3]');
    expect(r.stdout).toContain('done');
    expect(r.out).not.toMatch(/looks like you are running TensorFlow\.js in Node\.js/);
    expect(r.stderr).toBe('');
  });
});
