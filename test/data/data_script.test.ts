/**
 * `npm run data` as a user meets it: a truncated file in --dir fails with exit code 1 and one
 * message that names the file and ends with a newline (so the next prompt starts on its own line).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runProcess } from '../helpers/process';
import { DEBIAN_DIR, FASHION_MNIST_FILES, TEST_LABELS } from '../../src/data/checksums';

const haveData = FASHION_MNIST_FILES.every((f) => fs.existsSync(path.join(DEBIAN_DIR, f)));

describe.skipIf(!haveData)('data script errors', () => {
  it('a truncated t10k-labels file: exit 1, the file named, message ends with a newline', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-trunc-'));
    for (const f of FASHION_MNIST_FILES) fs.copyFileSync(path.join(DEBIAN_DIR, f), path.join(dir, f));
    fs.writeFileSync(path.join(dir, TEST_LABELS), fs.readFileSync(path.join(DEBIAN_DIR, TEST_LABELS)).subarray(0, 100));
    const r = await runProcess(
      process.execPath,
      [
        path.join(ROOT, 'node_modules', 'vite-node', 'vite-node.mjs'),
        path.join(ROOT, 'data-scripts', 'fetch-fashion-mnist.ts'),
        '--',
        '--dir',
        dir,
      ],
      { cwd: ROOT, timeoutMs: 120_000 },
    );
    expect(r.code, r.out).toBe(1);
    expect(r.stderr).toContain(`${path.join(dir, TEST_LABELS)}: checksum mismatch`);
    expect(r.stderr.endsWith('\n')).toBe(true);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 150_000);
});
