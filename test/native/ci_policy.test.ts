/**
 * A missing addon fails the native tests in CI and skips them elsewhere: addon_required.test.ts is run in a
 * child vitest with the addon path pointed at a file that does not exist, once with CI set and once without.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

import { ROOT, runProcess } from '../helpers/process';

const VITEST = path.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
const MISSING = path.join(ROOT, 'native', 'build', 'Release', 'does-not-exist.node');

function runWithoutAddon(ci: string) {
  const env: NodeJS.ProcessEnv = { ...process.env, RESNET_ONEDNN_ADDON: MISSING, CI: ci };
  return runProcess(process.execPath, [VITEST, 'run', 'test/native/addon_required.test.ts'], {
    cwd: ROOT,
    env,
    timeoutMs: 150_000,
  });
}

describe('missing native addon', () => {
  it('fails the run when CI is set, naming the reason', async () => {
    const r = await runWithoutAddon('1');
    expect(r.timedOut, r.out).toBe(false);
    expect(r.code, r.out).not.toBe(0);
    expect(r.out).toMatch(
      /native addon unavailable with CI set: native addon not built \(.*does-not-exist\.node missing\)/,
    );
  });

  it('skips with a warning on a developer machine (CI unset or empty)', async () => {
    const r = await runWithoutAddon('');
    expect(r.timedOut, r.out).toBe(false);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/\[native tests skipped\] native addon not built/);
    expect(r.out).toMatch(/1 skipped/);
  });
});
