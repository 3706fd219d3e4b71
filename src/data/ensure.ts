/**
 * {@link ensureFashionMnist}, which finds a verified
 * copy (or downloads one, atomically) and says where it came from.
 *
 * Sources, in order:
 *  1. `opts.dir` ('flag') or env `FASHION_MNIST_DIR` ('env'). Explicit: used in place; if a
 *     file is missing or has a wrong checksum this is an ERROR (never silently replaced by
 *     another source -- you asked for that directory).
 *  2. the project cache `<project root>/data/fashion-mnist/` ('cache'). A cache file with a
 *     wrong checksum is reported through `log`, DELETED (it is our own cache and provably
 *     wrong) and then re-fetched from the next sources. Missing files are simply fetched.
 *  3. the Debian package directory `/usr/share/datasets/fashion-mnist/` ('debian'), used in
 *     place. A wrong checksum there is reported through `log` and the directory is skipped
 *     (we cannot repair a system package; `apt-get install --reinstall dataset-fashion-mnist`).
 *  4. download from the mirror into the cache ('download'), only the files the cache lacks.
 *     Each file is streamed to `.<name>.part-<pid>` in the cache directory while being hashed,
 *     checked, fsync'ed and then renamed onto its final name; on any failure the temp file is
 *     removed, so a final name only ever holds a complete, verified file.
 *
 */
import * as fs from 'fs';
import * as path from 'path';
import { findProjectRoot } from '../project_root';
import { DEBIAN_DIR, DEFAULT_MIRROR, FASHION_MNIST_HASHES, HashTable } from './checksums';
import { DownloadProgress, downloadFile } from './download';
import { DataFileError, inspectDir } from './verify';

export type FashionMnistSource = 'flag' | 'env' | 'cache' | 'debian' | 'download';

export interface EnsureOptions {
  /** Explicit directory (highest priority, 'flag'). */
  dir?: string;
  /** Project cache; default {@link defaultCacheDir}(). */
  cacheDir?: string;
  /** Mirror base URL; default env FASHION_MNIST_MIRROR, else {@link DEFAULT_MIRROR}. */
  mirror?: string;
  log?: (s: string) => void;
  /** Debian data directory; default {@link DEBIAN_DIR}; null to skip it. */
  debianDir?: string | null;
  /** Files and their acceptable digests; default {@link FASHION_MNIST_HASHES}. */
  hashes?: HashTable;
  /** Environment to read FASHION_MNIST_DIR / FASHION_MNIST_MIRROR from; default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** false: never download, throw instead. Default true. */
  download?: boolean;
  /** Socket idle timeout for downloads, ms (default 30000). */
  timeoutMs?: number;
  /** Default 5. */
  maxRedirects?: number;
  onProgress?: (p: DownloadProgress) => void;
}

export function defaultCacheDir(): string {
  return path.join(findProjectRoot(), 'data', 'fashion-mnist');
}

export interface EnsureResult {
  dir: string;
  source: FashionMnistSource;
}

/** Finds (or downloads) a verified copy of Fashion-MNIST; see the module comment for the order. */
export async function ensureFashionMnist(opts: EnsureOptions = {}): Promise<EnsureResult> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => undefined);
  const hashes = opts.hashes ?? FASHION_MNIST_HASHES;

  // 1. explicit directory: all files or an error, no fallback
  const explicit: [string, 'flag' | 'env'] | undefined =
    opts.dir !== undefined && opts.dir !== ''
      ? [opts.dir, 'flag']
      : env.FASHION_MNIST_DIR
        ? [env.FASHION_MNIST_DIR, 'env']
        : undefined;
  if (explicit) return useExplicitDir(explicit[0], explicit[1], hashes, log);

  // 2. project cache (corrupt files are removed, to be fetched again)
  const cacheDir = path.resolve(opts.cacheDir ?? defaultCacheDir());
  const cacheStatus = await inspectDir(cacheDir, hashes);
  for (const s of cacheStatus) {
    if (s.state === 'bad') {
      log(`Fashion-MNIST: warning: ${s.message}; removing the corrupt cache file`);
      await fs.promises.rm(s.path, { force: true });
    }
  }
  if (cacheStatus.every((s) => s.state === 'ok')) {
    log(`Fashion-MNIST: using cache ${cacheDir}`);
    return { dir: cacheDir, source: 'cache' };
  }

  // 3. Debian package
  const debianDir = opts.debianDir === undefined ? DEBIAN_DIR : opts.debianDir;
  if (debianDir !== null) {
    const st = await inspectDir(debianDir, hashes);
    if (st.every((s) => s.state === 'ok')) {
      log(`Fashion-MNIST: using ${debianDir} (Debian package dataset-fashion-mnist)`);
      return { dir: path.resolve(debianDir), source: 'debian' };
    }
    for (const s of st) {
      if (s.state === 'bad') log(`Fashion-MNIST: warning: ${s.message}; not using ${debianDir}`);
    }
  }

  // 4. download what the cache lacks
  const need = cacheStatus.filter((s) => s.state !== 'ok').map((s) => s.file);
  if (opts.download === false) {
    throw new DataFileError(
      `Fashion-MNIST not found (no --dir/FASHION_MNIST_DIR, cache ${cacheDir} lacks ${need.join(', ')}, ` +
        `${debianDir ?? 'Debian dir'} unusable) and downloading is disabled`,
    );
  }
  await downloadInto(cacheDir, need, opts.mirror ?? env.FASHION_MNIST_MIRROR ?? DEFAULT_MIRROR, hashes, opts, log);
  return { dir: cacheDir, source: 'download' };
}

/** --dir or FASHION_MNIST_DIR: every file there and verified, or an error naming what is wrong. */
async function useExplicitDir(
  dir: string,
  source: 'flag' | 'env',
  hashes: HashTable,
  log: (line: string) => void,
): Promise<EnsureResult> {
  const what = source === 'flag' ? `directory ${dir}` : `FASHION_MNIST_DIR=${dir}`;
  const st = await inspectDir(dir, hashes);
  const missing = st.filter((s) => s.state === 'missing').map((s) => s.file);
  const bad = st.flatMap((s) => (s.state === 'bad' ? [s] : []));
  if (bad.length > 0) throw new DataFileError(bad.map((b) => b.message).join('\n'), bad[0].path);
  if (missing.length > 0) {
    throw new DataFileError(
      `${what}: missing ${missing.join(', ')} (an explicit directory must hold all of ${Object.keys(hashes).join(', ')})`,
      path.join(dir, missing[0]),
    );
  }
  log(`Fashion-MNIST: using ${dir} (${source === 'flag' ? '--dir' : 'FASHION_MNIST_DIR'})`);
  return { dir: path.resolve(dir), source };
}

/** Downloads `files` from the mirror into the cache, each verified before it lands. */
async function downloadInto(
  cacheDir: string,
  files: string[],
  mirror: string,
  hashes: HashTable,
  opts: EnsureOptions,
  log: (line: string) => void,
): Promise<void> {
  try {
    await fs.promises.mkdir(cacheDir, { recursive: true });
  } catch (e) {
    throw new DataFileError(`cannot create cache directory ${cacheDir}: ${(e as Error).message}`, cacheDir);
  }
  const base = mirror.endsWith('/') ? mirror : mirror + '/';
  for (const file of files) {
    const url = new URL(file, base).href;
    log(`Fashion-MNIST: downloading ${url} -> ${cacheDir}`);
    await downloadFile(url, path.join(cacheDir, file), hashes[file], {
      timeoutMs: opts.timeoutMs,
      maxRedirects: opts.maxRedirects,
      onProgress: opts.onProgress,
    });
  }
  log(`Fashion-MNIST: downloaded to ${cacheDir}`);
}
