import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { DEBIAN_DIR, FASHION_MNIST_FILES } from '../../src/data/checksums';
import { encodeIdx } from '../../src/data/idx';

const created: string[] = [];

/** A fresh temporary directory, removed by {@link removeTmpDirs}. */
export function tmpDir(prefix = 'fmnist-test-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  created.push(d);
  return d;
}

/** Removes every directory made by {@link tmpDir} (call from afterAll). */
export function removeTmpDirs(): void {
  for (const d of created.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

/** Writes an IDX file (gzipped when the name ends in .gz). */
export function writeIdx(file: string, data: Uint8Array, shape: number[], gzip = file.endsWith('.gz')): void {
  const raw = encodeIdx(data, shape);
  fs.writeFileSync(file, gzip ? zlib.gzipSync(raw) : raw);
}

/** Directory holding the real data set (FASHION_MNIST_DIR or the Debian package), or undefined. */
export function realDataDir(): string | undefined {
  for (const d of [process.env.FASHION_MNIST_DIR, DEBIAN_DIR]) {
    if (d && FASHION_MNIST_FILES.every((f) => fs.existsSync(path.join(d, f)))) return d;
  }
  return undefined;
}
