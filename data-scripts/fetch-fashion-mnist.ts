/**
 * `npm run data -- [--dir D] [--mirror URL] [--cache-dir D] [--no-debian] [--no-download]`
 *
 * Makes Fashion-MNIST available (see ensureFashionMnist for the order of sources), prints where
 * it came from, then verifies all four files: checksum of the .gz, IDX parse, SHA-256 of the
 * decompressed data, and counts 60000/10000. Exits 1 with the error text on any problem.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import {
  FASHION_MNIST_FILES,
  FASHION_MNIST_HASHES,
  FASHION_MNIST_IDX_SHA256,
  TEST_IMAGES,
  TRAIN_IMAGES,
} from '../src/data/checksums';
import { ensureFashionMnist } from '../src/data/ensure';
import { inspectDir } from '../src/data/verify';
import { loadFashionMnistArrays } from '../src/data/fashion_mnist';

interface Args {
  dir?: string;
  mirror?: string;
  cacheDir?: string;
  download: boolean;
  debian: boolean;
}

const USAGE = 'usage: npm run data -- [--dir D] [--mirror URL] [--cache-dir D] [--no-debian] [--no-download]';

function parseArgs(argv: string[]): Args {
  const a: Args = { download: true, debian: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf('=');
    const key = eq >= 0 ? arg.slice(0, eq) : arg;
    const value = () => {
      if (eq >= 0) return arg.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new Error(`${key} needs a value\n${USAGE}`);
      return v;
    };
    if (key === '--dir') a.dir = value();
    else if (key === '--mirror') a.mirror = value();
    else if (key === '--cache-dir') a.cacheDir = value();
    else if (key === '--no-download') a.download = false;
    else if (key === '--no-debian') a.debian = false;
    else if (key === '-h' || key === '--help') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown argument ${arg}\n${USAGE}`);
  }
  return a;
}

function progressPrinter() {
  let last = -1;
  return (p: { file: string; received: number; total?: number }) => {
    if (!process.stderr.isTTY) return;
    const pct = p.total ? Math.floor((100 * p.received) / p.total) : -1;
    if (pct === last) return;
    last = pct;
    const mb = (p.received / 1e6).toFixed(1);
    process.stderr.write(`\r  ${p.file}: ${mb} MB${pct >= 0 ? ` (${pct}%)` : ''}   `);
    if (p.total !== undefined && p.received === p.total) process.stderr.write('\n');
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const { dir, source } = await ensureFashionMnist({
    dir: args.dir,
    mirror: args.mirror,
    cacheDir: args.cacheDir,
    download: args.download,
    ...(args.debian ? {} : { debianDir: null }),
    log: (s) => console.log(s),
    onProgress: progressPrinter(),
  });
  console.log(`source: ${source}\ndirectory: ${dir}`);

  // ensureFashionMnist verified the checksums; report them, then check contents.
  for (const s of await inspectDir(dir, FASHION_MNIST_HASHES)) {
    if (s.state !== 'ok') throw new Error(`${s.path}: ${s.state === 'missing' ? 'missing' : s.message}`);
    console.log(`  ok  ${s.file}  sha256 ${s.digests.sha256}`);
  }
  for (const f of FASHION_MNIST_FILES) {
    const data = zlib.gunzipSync(fs.readFileSync(path.join(dir, f)));
    const h = crypto.createHash('sha256').update(data).digest('hex');
    if (h !== FASHION_MNIST_IDX_SHA256[f]) {
      throw new Error(
        `${path.join(dir, f)}: decompressed IDX SHA-256 is ${h}, expected ${FASHION_MNIST_IDX_SHA256[f]}`,
      );
    }
  }
  const { train, test } = loadFashionMnistArrays(dir);
  if (train.n !== 60000)
    throw new Error(`${path.join(dir, TRAIN_IMAGES)}: ${train.n} training examples, expected 60000`);
  if (test.n !== 10000) throw new Error(`${path.join(dir, TEST_IMAGES)}: ${test.n} test examples, expected 10000`);
  console.log(`verified: train ${train.n} x 28x28, test ${test.n} x 28x28, labels 0..9`);
}

main().catch((e: unknown) => {
  console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
