/**
 * jupyter_kernel_test (Debian's python3-jupyter-kernel-test, the protocol conformance suite for
 * Jupyter kernels) against this checkout's kernel: a kernelspec written to a temporary
 * JUPYTER_PATH, so the suite never picks up another clone's installed `resnet-ts`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { ROOT, buildDist, runProcess } from '../../helpers/process';

const PYTHON = '/usr/bin/python3';

beforeAll(async () => {
  await buildDist();
}, 240_000);

it('passes jupyter_kernel_test: every test runs, none fails', async () => {
  const probe = await runProcess(PYTHON, ['-c', 'import jupyter_kernel_test']);
  expect(
    probe.code,
    `${PYTHON} cannot import jupyter_kernel_test (apt install python3-jupyter-kernel-test; tools/setup.sh does):\n${probe.out}`,
  ).toBe(0);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resnet-ts-jkt-'));
  const name = `resnet-ts-test-${process.pid}`;
  fs.mkdirSync(path.join(dir, 'kernels', name), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'kernels', name, 'kernel.json'),
    JSON.stringify({
      argv: [
        process.execPath,
        path.join(ROOT, 'dist', 'tools', 'kernel', 'main.js'),
        '--config-path',
        '{connection_file}',
      ],
      display_name: 'resnet-ts (conformance test)',
      language: 'typescript',
      interrupt_mode: 'signal',
    }),
  );
  try {
    const r = await runProcess(PYTHON, [path.join(ROOT, 'test', 'tools', 'kernel', 'conformance.py'), '-v'], {
      cwd: path.join(ROOT, 'notebooks'),
      env: { ...process.env, JUPYTER_PATH: dir, RESNET_TS_KERNEL_NAME: name },
      timeoutMs: 240_000,
    });
    expect(r.code, r.out).toBe(0);
    const ran = /Ran (\d+) tests/.exec(r.stderr);
    expect(Number(ran?.[1]), r.out).toBeGreaterThanOrEqual(14);
    // Skipped: clear_output and the pager (this kernel sends neither); nothing else.
    expect(r.stderr, r.out).toMatch(/OK \(skipped=2\)/);
    expect(r.stderr).toMatch(/test_execute_result .*ok/);
    expect(r.stderr).toMatch(/test_error .*ok/);
    expect(r.stderr).toMatch(/test_kernel_info .*ok/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 300_000);
