/**
 * The real Fashion-MNIST files are present. The data tests that read them (idx, fashion_mnist,
 * data_files, data_script, augment) skip on a machine without the data set; in CI (env CI set,
 * as .ci/run does) that would hide them, so there the absence FAILS, naming where it looked.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEBIAN_DIR, FASHION_MNIST_FILES } from '../../src/data/checksums';
import { realDataDir } from './helpers';

describe('Fashion-MNIST for the data tests', () => {
  const dir = realDataDir();
  it.skipIf(!dir && !process.env.CI)('is installed (required when CI is set)', () => {
    const where = [process.env.FASHION_MNIST_DIR, DEBIAN_DIR].filter(Boolean).join(' or ');
    expect(dir, `no complete Fashion-MNIST (${FASHION_MNIST_FILES.join(', ')}) in ${where}`).toBeDefined();
    for (const f of FASHION_MNIST_FILES) expect(fs.statSync(path.join(dir!, f)).size).toBeGreaterThan(1000);
  });
  // The Debian data set is what tools/setup.sh installs and the other data tests read.
  it.skipIf(!process.env.CI)('in CI, the data tests read the Debian package', () => {
    expect(
      FASHION_MNIST_FILES.every((f) => fs.existsSync(path.join(DEBIAN_DIR, f))),
      DEBIAN_DIR,
    ).toBe(true);
  });
});
