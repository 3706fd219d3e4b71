/**
 * Fashion-MNIST files: names, checksums, and {@link ensureFashionMnist}, which finds a verified
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
 * Checksums. The SHA-256 values of {@link FASHION_MNIST_SHA256} are those of the files shipped
 * by Debian package `dataset-fashion-mnist` (0.0~git20200523.55506a9-1). They are NOT the
 * checksums of the files on the zalando mirror: Debian's build (dh_strip_nondeterminism)
 * rewrote the gzip headers -- FNAME removed, MTIME set to the changelog date 2020-06-05
 * 09:05:49 UTC -- so each Debian file is 23-24 bytes shorter and hashes differently, while the
 * deflate stream and the decompressed IDX data are identical. Restoring the original header
 * (FLG=FNAME, MTIME 2017-08-31 10:50:06 UTC for train-*, 10:50:27 for t10k-*, the file name
 * without .gz) reproduces the upstream files exactly: their MD5s equal those published in
 * upstream's README and their SHA-256s equal {@link FASHION_MNIST_UPSTREAM_SHA256} (the values
 * other projects, e.g. Chainer, pin). Hence every file accepts two variants: Debian, or
 * upstream (SHA-256 + MD5). {@link FASHION_MNIST_IDX_SHA256} holds the SHA-256 of the
 * decompressed IDX data, the same for both variants (checked by `npm run data`).
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as path from "path";
import { Transform } from "stream";
import { pipeline } from "stream/promises";

export const TRAIN_IMAGES = "train-images-idx3-ubyte.gz";
export const TRAIN_LABELS = "train-labels-idx1-ubyte.gz";
export const TEST_IMAGES = "t10k-images-idx3-ubyte.gz";
export const TEST_LABELS = "t10k-labels-idx1-ubyte.gz";
export const FASHION_MNIST_FILES = [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS] as const;

export const DEFAULT_MIRROR = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/";
export const DEBIAN_DIR = "/usr/share/datasets/fashion-mnist";

/** One acceptable version of a file: every digest given must match. */
export interface FileDigest {
  sha256?: string;
  md5?: string;
  /** Where this version comes from (for messages). */
  variant?: string;
}
/** File name -> acceptable versions. The keys are the files a complete location must hold. */
export type HashTable = Readonly<Record<string, readonly FileDigest[]>>;

/** SHA-256 of the .gz files of Debian package dataset-fashion-mnist. */
export const FASHION_MNIST_SHA256: Readonly<Record<string, string>> = {
  [TEST_IMAGES]: "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
  [TEST_LABELS]: "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
  [TRAIN_IMAGES]: "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
  [TRAIN_LABELS]: "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
};
/** SHA-256 of the .gz files on the zalando mirror (see the module comment). */
export const FASHION_MNIST_UPSTREAM_SHA256: Readonly<Record<string, string>> = {
  [TRAIN_IMAGES]: "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
  [TRAIN_LABELS]: "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
  [TEST_IMAGES]: "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
  [TEST_LABELS]: "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
};
/** MD5 of the .gz files on the zalando mirror, as published in upstream's README.md. */
export const FASHION_MNIST_UPSTREAM_MD5: Readonly<Record<string, string>> = {
  [TRAIN_IMAGES]: "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
  [TRAIN_LABELS]: "25c81989df183df01b3e8a0aad5dffbe",
  [TEST_IMAGES]: "bef4ecab320f06d8554ea6380940ec79",
  [TEST_LABELS]: "bb300cfdad3c16e7a12a480ee83cd310",
};
/** Sizes of the .gz files of the Debian package (the upstream files are 23-24 bytes larger). */
export const FASHION_MNIST_DEBIAN_SIZES: Readonly<Record<string, number>> = {
  [TRAIN_IMAGES]: 26421856,
  [TRAIN_LABELS]: 29491,
  [TEST_IMAGES]: 4422079,
  [TEST_LABELS]: 5125,
};
/** Sizes of the .gz files on the zalando mirror. */
export const FASHION_MNIST_UPSTREAM_SIZES: Readonly<Record<string, number>> = {
  [TRAIN_IMAGES]: 26421880,
  [TRAIN_LABELS]: 29515,
  [TEST_IMAGES]: 4422102,
  [TEST_LABELS]: 5148,
};
/** Byte length and SHA-256 of the decompressed IDX files (same for every gzip variant). */
export const FASHION_MNIST_IDX_BYTES: Readonly<Record<string, number>> = {
  [TRAIN_IMAGES]: 47040016,
  [TRAIN_LABELS]: 60008,
  [TEST_IMAGES]: 7840016,
  [TEST_LABELS]: 10008,
};
export const FASHION_MNIST_IDX_SHA256: Readonly<Record<string, string>> = {
  [TRAIN_IMAGES]: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
  [TRAIN_LABELS]: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
  [TEST_IMAGES]: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
  [TEST_LABELS]: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
};

export const FASHION_MNIST_HASHES: HashTable = Object.fromEntries(
  FASHION_MNIST_FILES.map((f) => [
    f,
    [
      { sha256: FASHION_MNIST_SHA256[f], variant: "Debian dataset-fashion-mnist" },
      { sha256: FASHION_MNIST_UPSTREAM_SHA256[f], md5: FASHION_MNIST_UPSTREAM_MD5[f], variant: "zalando mirror" },
    ],
  ]),
);

export type FashionMnistSource = "flag" | "env" | "cache" | "debian" | "download";

export interface DownloadProgress {
  file: string;
  url: string;
  received: number;
  /** From Content-Length; undefined when the server does not say. */
  total?: number;
}

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

/** A data file is missing, corrupt, or could not be downloaded. `file` names it (path or name). */
export class DataFileError extends Error {
  constructor(
    message: string,
    readonly file?: string,
    readonly url?: string,
  ) {
    super(message);
    this.name = "DataFileError";
  }
}

// ---------------------------------------------------------------------------------------------
// Project root / cache

/**
 * The project root: the nearest ancestor of `start` holding a package.json named "resnet-ts"
 * (works from src/data under vitest and from dist/src/data after tsc); else the nearest one
 * holding any package.json; else the current directory.
 */
export function findProjectRoot(start: string = __dirname): string {
  let firstPkg: string | undefined;
  for (let d = path.resolve(start); ; d = path.dirname(d)) {
    const pkg = path.join(d, "package.json");
    if (fs.existsSync(pkg)) {
      firstPkg ??= d;
      try {
        if (JSON.parse(fs.readFileSync(pkg, "utf8")).name === "resnet-ts") return d;
      } catch {
        /* unreadable package.json: keep looking */
      }
    }
    if (path.dirname(d) === d) break;
  }
  return firstPkg ?? process.cwd();
}

export function defaultCacheDir(): string {
  return path.join(findProjectRoot(), "data", "fashion-mnist");
}

// ---------------------------------------------------------------------------------------------
// Hashing / verification

export interface Digests {
  sha256: string;
  md5: string;
}

function newHashers() {
  const sha256 = crypto.createHash("sha256");
  const md5 = crypto.createHash("md5");
  return {
    update(b: Buffer) {
      sha256.update(b);
      md5.update(b);
    },
    digest(): Digests {
      return { sha256: sha256.digest("hex"), md5: md5.digest("hex") };
    },
  };
}

/** SHA-256 and MD5 of a file, streamed. */
export async function hashFile(file: string): Promise<Digests> {
  const h = newHashers();
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest();
}

export function digestMatches(actual: Digests, accepted: readonly FileDigest[]): boolean {
  return accepted.some(
    (d) =>
      (d.sha256 !== undefined || d.md5 !== undefined) &&
      (d.sha256 === undefined || d.sha256.toLowerCase() === actual.sha256) &&
      (d.md5 === undefined || d.md5.toLowerCase() === actual.md5),
  );
}

function describeExpected(accepted: readonly FileDigest[]): string {
  return accepted
    .map((d) => {
      const parts = [];
      if (d.sha256) parts.push(`SHA-256 ${d.sha256}`);
      if (d.md5) parts.push(`MD5 ${d.md5}`);
      return parts.join(" + ") + (d.variant ? ` (${d.variant})` : "");
    })
    .join(" or ");
}

/** "<file>: checksum mismatch: expected ..., actual ..." */
export function mismatchMessage(file: string, accepted: readonly FileDigest[], actual: Digests): string {
  const usesMd5 = accepted.some((d) => d.md5 !== undefined);
  return (
    `${file}: checksum mismatch: expected ${describeExpected(accepted)}; ` +
    `actual SHA-256 ${actual.sha256}` +
    (usesMd5 ? `, MD5 ${actual.md5}` : "")
  );
}

export type FileStatus =
  | { file: string; path: string; state: "ok"; digests: Digests }
  | { file: string; path: string; state: "missing" }
  | { file: string; path: string; state: "bad"; digests: Digests; message: string };

/** Checks every file of `hashes` in `dir`. */
export async function inspectDir(dir: string, hashes: HashTable = FASHION_MNIST_HASHES): Promise<FileStatus[]> {
  const out: FileStatus[] = [];
  for (const [file, accepted] of Object.entries(hashes)) {
    const p = path.join(dir, file);
    let isFile = false;
    try {
      isFile = (await fs.promises.stat(p)).isFile();
    } catch {
      /* missing */
    }
    if (!isFile) {
      out.push({ file, path: p, state: "missing" });
      continue;
    }
    const digests = await hashFile(p);
    if (digestMatches(digests, accepted)) out.push({ file, path: p, state: "ok", digests });
    else out.push({ file, path: p, state: "bad", digests, message: mismatchMessage(p, accepted, digests) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Download

export interface DownloadOptions {
  timeoutMs?: number;
  maxRedirects?: number;
  onProgress?: (p: DownloadProgress) => void;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function get(url: URL, timeoutMs: number): Promise<{ req: http.ClientRequest; res: http.IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === "https:" ? https : url.protocol === "http:" ? http : null;
    if (!mod) {
      reject(new Error(`unsupported protocol ${url.protocol}`));
      return;
    }
    const req: http.ClientRequest = mod.get(url, { headers: { "user-agent": "resnet-ts", "accept-encoding": "identity" } }, (res) =>
      resolve({ req, res }),
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout: no data for ${timeoutMs} ms`)));
    req.on("error", reject);
  });
}

/**
 * Downloads `url` to `dest` atomically: streams into `.<name>.part-<pid>` next to `dest` while
 * hashing, checks the digests against `accepted`, fsyncs and renames. On any failure the temp
 * file is removed and a {@link DataFileError} naming the file and URL is thrown; `dest` is then
 * untouched (it is never partially written).
 */
export async function downloadFile(
  url: string,
  dest: string,
  accepted: readonly FileDigest[],
  opts: DownloadOptions = {},
): Promise<Digests> {
  const timeoutMs = opts.timeoutMs ?? 30000;
  const maxRedirects = opts.maxRedirects ?? 5;
  const name = path.basename(dest);
  const tmp = path.join(path.dirname(dest), `.${name}.part-${process.pid}`);
  const fail = (problem: string) => new DataFileError(`downloading ${name} from ${url}: ${problem}`, name, url);

  try {
    // Follow redirects.
    let current = new URL(url);
    let res: http.IncomingMessage;
    let req: http.ClientRequest;
    for (let hops = 0; ; hops++) {
      try {
        ({ req, res } = await get(current, timeoutMs));
      } catch (e) {
        throw fail(`${(e as Error).message}${current.href !== url ? ` (at ${current.href})` : ""}`);
      }
      const status = res.statusCode ?? 0;
      if (REDIRECTS.has(status) && res.headers.location) {
        res.resume();
        if (hops >= maxRedirects) throw fail(`too many redirects (more than ${maxRedirects})`);
        current = new URL(res.headers.location, current);
        continue;
      }
      if (status !== 200) {
        res.resume();
        throw fail(`HTTP ${status} ${res.statusMessage ?? ""}`.trimEnd() + (current.href !== url ? ` (at ${current.href})` : ""));
      }
      break;
    }

    const lenHeader = res.headers["content-length"];
    const total = lenHeader !== undefined && /^\d+$/.test(lenHeader) ? Number(lenHeader) : undefined;
    const hasher = newHashers();
    let received = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        received += chunk.length;
        hasher.update(chunk);
        opts.onProgress?.({ file: name, url, received, total });
        cb(null, chunk);
      },
    });
    // The request's socket timeout also covers the body; make the reason survive.
    req.removeAllListeners("timeout");
    req.setTimeout(timeoutMs, () => res.destroy(new Error(`timeout: no data for ${timeoutMs} ms`)));
    try {
      await pipeline(res, tap, fs.createWriteStream(tmp, { flags: "w", mode: 0o644 }));
    } catch (e) {
      const msg = (e as Error).message;
      if (msg.startsWith("timeout:")) throw fail(`${msg} after ${received}${total !== undefined ? ` of ${total}` : ""} bytes`);
      if (total !== undefined && received < total) {
        throw fail(`truncated: connection closed after ${received} of ${total} bytes (${msg})`);
      }
      throw fail(`${msg} after ${received} bytes`);
    }
    if (!res.complete) throw fail(`connection closed early after ${received} bytes`);
    if (total !== undefined && received !== total) {
      throw fail(`truncated: received ${received} of ${total} bytes (Content-Length)`);
    }
    const digests = hasher.digest();
    if (!digestMatches(digests, accepted)) {
      throw fail(mismatchMessage("content", accepted, digests).replace(/^content: /, ""));
    }
    const fh = await fs.promises.open(tmp, "r+");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.promises.rename(tmp, dest);
    return digests;
  } catch (e) {
    await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    if (e instanceof DataFileError) throw e;
    throw fail((e as Error).message);
  }
}

// ---------------------------------------------------------------------------------------------
// ensureFashionMnist

export interface EnsureResult {
  dir: string;
  source: FashionMnistSource;
}

/** Finds (or downloads) a verified copy of Fashion-MNIST; see the module comment for the order. */
export async function ensureFashionMnist(opts: EnsureOptions = {}): Promise<EnsureResult> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => undefined);
  const hashes = opts.hashes ?? FASHION_MNIST_HASHES;
  const files = Object.keys(hashes);

  // 1. explicit directory
  const explicit: [string, "flag" | "env"] | undefined =
    opts.dir !== undefined && opts.dir !== ""
      ? [opts.dir, "flag"]
      : env.FASHION_MNIST_DIR
        ? [env.FASHION_MNIST_DIR, "env"]
        : undefined;
  if (explicit) {
    const [dir, source] = explicit;
    const what = source === "flag" ? `directory ${dir}` : `FASHION_MNIST_DIR=${dir}`;
    const st = await inspectDir(dir, hashes);
    const missing = st.filter((s) => s.state === "missing").map((s) => s.file);
    const bad = st.flatMap((s) => (s.state === "bad" ? [s] : []));
    if (bad.length > 0) throw new DataFileError(bad.map((b) => b.message).join("\n"), bad[0].path);
    if (missing.length > 0) {
      throw new DataFileError(`${what}: missing ${missing.join(", ")} (an explicit directory must hold all of ${files.join(", ")})`, path.join(dir, missing[0]));
    }
    log(`Fashion-MNIST: using ${dir} (${source === "flag" ? "--dir" : "FASHION_MNIST_DIR"})`);
    return { dir: path.resolve(dir), source };
  }

  // 2. project cache
  const cacheDir = path.resolve(opts.cacheDir ?? defaultCacheDir());
  const cacheStatus = await inspectDir(cacheDir, hashes);
  for (const s of cacheStatus) {
    if (s.state === "bad") {
      log(`Fashion-MNIST: warning: ${s.message}; removing the corrupt cache file`);
      await fs.promises.rm(s.path, { force: true });
    }
  }
  if (cacheStatus.every((s) => s.state === "ok")) {
    log(`Fashion-MNIST: using cache ${cacheDir}`);
    return { dir: cacheDir, source: "cache" };
  }

  // 3. Debian package
  const debianDir = opts.debianDir === undefined ? DEBIAN_DIR : opts.debianDir;
  if (debianDir !== null) {
    const st = await inspectDir(debianDir, hashes);
    if (st.every((s) => s.state === "ok")) {
      log(`Fashion-MNIST: using ${debianDir} (Debian package dataset-fashion-mnist)`);
      return { dir: path.resolve(debianDir), source: "debian" };
    }
    for (const s of st) {
      if (s.state === "bad") log(`Fashion-MNIST: warning: ${s.message}; not using ${debianDir}`);
    }
  }

  // 4. download what the cache lacks
  const need = cacheStatus.filter((s) => s.state !== "ok").map((s) => s.file);
  const mirror = opts.mirror ?? env.FASHION_MNIST_MIRROR ?? DEFAULT_MIRROR;
  if (opts.download === false) {
    throw new DataFileError(
      `Fashion-MNIST not found (no --dir/FASHION_MNIST_DIR, cache ${cacheDir} lacks ${need.join(", ")}, ` +
        `${debianDir ?? "Debian dir"} unusable) and downloading is disabled`,
    );
  }
  try {
    await fs.promises.mkdir(cacheDir, { recursive: true });
  } catch (e) {
    throw new DataFileError(`cannot create cache directory ${cacheDir}: ${(e as Error).message}`, cacheDir);
  }
  const base = mirror.endsWith("/") ? mirror : mirror + "/";
  for (const file of need) {
    const url = new URL(file, base).href;
    log(`Fashion-MNIST: downloading ${url} -> ${cacheDir}`);
    await downloadFile(url, path.join(cacheDir, file), hashes[file], {
      timeoutMs: opts.timeoutMs,
      maxRedirects: opts.maxRedirects,
      onProgress: opts.onProgress,
    });
  }
  log(`Fashion-MNIST: downloaded to ${cacheDir}`);
  return { dir: cacheDir, source: "download" };
}
