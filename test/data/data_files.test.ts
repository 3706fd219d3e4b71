import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as path from 'path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DataFileError } from '../../src/data/verify';
import { DownloadProgress, downloadFile } from '../../src/data/download';
import { EnsureOptions, defaultCacheDir, ensureFashionMnist } from '../../src/data/ensure';
import {
  FASHION_MNIST_FILES,
  FASHION_MNIST_SHA256,
  FASHION_MNIST_UPSTREAM_MD5,
  FASHION_MNIST_UPSTREAM_SHA256,
  FASHION_MNIST_UPSTREAM_SIZES,
  HashTable,
} from '../../src/data/checksums';
import { findProjectRoot } from '../../src/project_root';
import { realDataDir, removeTmpDirs, tmpDir } from './helpers';

// Two small made-up "data files" and a hash table for them.
const A = 'a-images.gz';
const B = 'b-labels.gz';
const content: Record<string, Buffer> = {
  [A]: Buffer.from(Array.from({ length: 70000 }, (_, i) => (i * 7919) % 256)), // > one TCP chunk
  [B]: Buffer.from('labels: 0 1 2 3 4 5 6 7 8 9\n'),
};
const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
const md5 = (b: Buffer) => crypto.createHash('md5').update(b).digest('hex');
const HASHES: HashTable = { [A]: [{ sha256: sha(content[A]) }], [B]: [{ sha256: sha(content[B]) }] };
const corrupt = (b: Buffer) => Buffer.from(b.map((v, i) => (i === 100 % b.length ? v ^ 0xff : v)));

function fillDir(files: Record<string, Buffer> = content): string {
  const d = tmpDir();
  for (const [n, b] of Object.entries(files)) fs.writeFileSync(path.join(d, n), b);
  return d;
}
const ls = (d: string) => (fs.existsSync(d) ? fs.readdirSync(d).sort() : []);

// ---- local HTTP server -------------------------------------------------------------------
let server: http.Server;
let base: string;
const requests: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests.push(req.url!);
    const [, mode, name] = req.url!.split('/');
    const body = content[name];
    if (mode === '404' || body === undefined) {
      res.writeHead(404).end('not found');
    } else if (mode === 'good') {
      res.writeHead(200, { 'content-length': body.length }).end(body);
    } else if (mode === 'chunked') {
      res.writeHead(200); // no content-length: chunked transfer encoding
      res.write(body.subarray(0, 10));
      res.end(body.subarray(10));
    } else if (mode === 'trunc') {
      // full Content-Length, half the body, then the connection closes
      res.writeHead(200, { 'content-length': body.length });
      res.write(body.subarray(0, body.length >> 1), () => res.socket?.destroy());
    } else if (mode === 'corrupt') {
      res.writeHead(200, { 'content-length': body.length }).end(corrupt(body));
    } else if (mode === 'redir') {
      res.writeHead(302, { location: `/good/${name}` }).end();
    } else if (mode === 'loop') {
      res.writeHead(301, { location: `/loop/${name}` }).end();
    } else if (mode === 'stall') {
      res.writeHead(200, { 'content-length': body.length });
      res.write(body.subarray(0, 5)); // ... and nothing more
    } else {
      res.writeHead(500).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(removeTmpDirs);
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  requests.length = 0;
});

/** Options isolating a test from the real environment: injected table, empty env, no Debian dir. */
function opts(o: EnsureOptions): EnsureOptions {
  return { hashes: HASHES, env: {}, debianDir: null, mirror: `${base}/404/`, ...o };
}
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(DataFileError);
    return e as Error;
  }
  throw new Error('expected a rejection');
}

describe('project root / cache dir', () => {
  it('finds the project root from src/ and from a dist/src/ location', () => {
    const root = path.resolve(__dirname, '..', '..');
    expect(JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).name).toBe('resnet-ts');
    expect(findProjectRoot(path.join(root, 'src', 'data'))).toBe(root);
    expect(findProjectRoot(path.join(root, 'dist', 'src', 'data'))).toBe(root);
    expect(defaultCacheDir()).toBe(path.join(root, 'data', 'fashion-mnist'));
  });
});

describe('ensureFashionMnist: order of sources', () => {
  it('flag dir beats env, cache and Debian dir; env beats cache', async () => {
    const [flag, env, cache, deb] = [fillDir(), fillDir(), fillDir(), fillDir()];
    const all = { cacheDir: cache, debianDir: deb, env: { FASHION_MNIST_DIR: env } };
    expect(await ensureFashionMnist(opts({ ...all, dir: flag }))).toEqual({ dir: flag, source: 'flag' });
    expect(await ensureFashionMnist(opts(all))).toEqual({ dir: env, source: 'env' });
    expect(await ensureFashionMnist(opts({ ...all, env: {} }))).toEqual({ dir: cache, source: 'cache' });
    expect(await ensureFashionMnist(opts({ ...all, env: {}, cacheDir: tmpDir() }))).toEqual({
      dir: deb,
      source: 'debian',
    });
    expect(requests).toEqual([]);
  });

  it('an explicit dir with a corrupt file is an error naming file, expected and actual hash', async () => {
    const flag = fillDir({ [A]: corrupt(content[A]), [B]: content[B] });
    const e = await rejection(ensureFashionMnist(opts({ dir: flag, cacheDir: fillDir() })));
    expect(e.message).toBe(
      `${path.join(flag, A)}: checksum mismatch: expected SHA-256 ${sha(content[A])}; actual SHA-256 ${sha(corrupt(content[A]))}`,
    );
    const env = await rejection(ensureFashionMnist(opts({ env: { FASHION_MNIST_DIR: flag }, cacheDir: fillDir() })));
    expect(env.message).toContain(path.join(flag, A));
  });

  it('an explicit dir with a missing file is an error naming it', async () => {
    const flag = fillDir({ [A]: content[A] });
    const e = await rejection(ensureFashionMnist(opts({ dir: flag, cacheDir: fillDir() })));
    expect(e.message).toMatch(new RegExp(`^directory ${flag}: missing ${B} `));
  });

  it('a corrupt cache file is reported, removed, and the next source is used', async () => {
    const cache = fillDir({ [A]: corrupt(content[A]), [B]: content[B] });
    const deb = fillDir();
    const log: string[] = [];
    const r = await ensureFashionMnist(opts({ cacheDir: cache, debianDir: deb, log: (s) => log.push(s) }));
    expect(r).toEqual({ dir: deb, source: 'debian' });
    const warn = log.find((s) => s.includes('warning'))!;
    expect(warn).toContain(path.join(cache, A));
    expect(warn).toContain(sha(content[A]));
    expect(warn).toContain(sha(corrupt(content[A])));
    expect(ls(cache)).toEqual([B]);
  });

  it('a corrupt Debian dir is reported and skipped (download follows)', async () => {
    const deb = fillDir({ [A]: content[A], [B]: corrupt(content[B]) });
    const cache = tmpDir();
    const log: string[] = [];
    const r = await ensureFashionMnist(
      opts({ cacheDir: cache, debianDir: deb, mirror: `${base}/good/`, log: (s) => log.push(s) }),
    );
    expect(r).toEqual({ dir: cache, source: 'download' });
    expect(log.some((s) => s.includes('warning') && s.includes(path.join(deb, B)))).toBe(true);
    expect(ls(deb)).toEqual([A, B]); // left alone
  });

  it('nothing usable and download disabled: error', async () => {
    const e = await rejection(ensureFashionMnist(opts({ cacheDir: tmpDir(), debianDir: tmpDir(), download: false })));
    expect(e.message).toMatch(/not found.*downloading is disabled/);
  });

  it('accepts any listed variant (e.g. upstream MD5) and rejects others', async () => {
    const dir = fillDir();
    const table: HashTable = {
      [A]: [
        { sha256: '0'.repeat(64), variant: 'debian' },
        { md5: md5(content[A]), variant: 'upstream' },
      ],
      [B]: HASHES[B],
    };
    expect((await ensureFashionMnist(opts({ hashes: table, dir }))).source).toBe('flag');
    const bad: HashTable = {
      ...table,
      [A]: [
        { sha256: '0'.repeat(64), variant: 'debian' },
        { md5: '1'.repeat(32), variant: 'upstream' },
      ],
    };
    const e = await rejection(ensureFashionMnist(opts({ hashes: bad, dir })));
    expect(e.message).toBe(
      `${path.join(dir, A)}: checksum mismatch: expected SHA-256 ${'0'.repeat(64)} (debian) or MD5 ${'1'.repeat(32)} (upstream); ` +
        `actual SHA-256 ${sha(content[A])}, MD5 ${md5(content[A])}`,
    );
  });
});

/**
 * The zalando-mirror version of a Debian .gz file: Debian's build dropped the FNAME field and
 * reset MTIME; restore them (the deflate stream is unchanged). Only valid for Debian-variant input.
 */
function upstreamVariant(debian: Buffer, name: string): Buffer {
  expect(debian[3]).toBe(0); // FLG: no FNAME
  const mtime = name.startsWith('train') ? 1504176606 : 1504176627; // 2017-08-31 10:50:06 / 10:50:27 UTC
  const head = Buffer.from([0x1f, 0x8b, 0x08, 0x08, 0, 0, 0, 0]);
  head.writeUInt32LE(mtime, 4);
  return Buffer.concat([
    head,
    debian.subarray(8, 10),
    Buffer.from(name.replace(/\.gz$/, '') + '\0'),
    debian.subarray(10),
  ]);
}

const realDir = realDataDir();
describe.skipIf(!realDir)('real checksum table', () => {
  it('accepts the installed Fashion-MNIST files (Debian dir or FASHION_MNIST_DIR)', async () => {
    const r = await ensureFashionMnist({ env: {}, cacheDir: tmpDir(), debianDir: realDir!, download: false });
    expect(r).toEqual({ dir: realDir, source: 'debian' });
    expect(FASHION_MNIST_FILES.length).toBe(4);
  });

  it('also accepts the zalando-mirror files (different gzip header), also when downloaded', async () => {
    const up = tmpDir();
    for (const f of FASHION_MNIST_FILES) {
      const deb = fs.readFileSync(path.join(realDir!, f));
      const u = upstreamVariant(deb, f);
      if (deb[3] === 0) {
        // Debian variant installed: the rebuilt file must be the one upstream's README describes
        expect(md5(u)).toBe(FASHION_MNIST_UPSTREAM_MD5[f]);
        expect(sha(u)).toBe(FASHION_MNIST_UPSTREAM_SHA256[f]);
        expect(u.length).toBe(FASHION_MNIST_UPSTREAM_SIZES[f]);
        expect(sha(deb)).toBe(FASHION_MNIST_SHA256[f]);
        fs.writeFileSync(path.join(up, f), u);
      } else {
        fs.writeFileSync(path.join(up, f), deb); // FASHION_MNIST_DIR holds upstream files already
      }
    }
    expect(await ensureFashionMnist({ env: {}, dir: up })).toEqual({ dir: up, source: 'flag' });
    // serve them as a mirror and download with the real table
    const mirror = http.createServer((req, res) => {
      const f = path.join(up, path.basename(req.url!));
      if (!fs.existsSync(f)) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-length': fs.statSync(f).size });
      fs.createReadStream(f).pipe(res);
    });
    await new Promise<void>((r) => mirror.listen(0, '127.0.0.1', r));
    try {
      const cache = tmpDir();
      const r = await ensureFashionMnist({
        env: {},
        cacheDir: cache,
        debianDir: null,
        mirror: `http://127.0.0.1:${(mirror.address() as AddressInfo).port}/`,
      });
      expect(r).toEqual({ dir: cache, source: 'download' });
      expect(ls(cache)).toEqual([...FASHION_MNIST_FILES].sort());
    } finally {
      mirror.closeAllConnections();
      await new Promise((r) => mirror.close(r));
    }
  });
});

describe('downloads (local server)', () => {
  it('downloads missing files into the cache, keeping valid ones; redirects and chunked bodies work', async () => {
    const cache = fillDir({ [B]: content[B] });
    const progress: DownloadProgress[] = [];
    const r = await ensureFashionMnist(
      opts({ cacheDir: cache, mirror: `${base}/redir`, onProgress: (p) => progress.push(p) }),
    );
    expect(r).toEqual({ dir: cache, source: 'download' });
    expect(requests).toEqual([`/redir/${A}`, `/good/${A}`]); // B was already in the cache
    expect(ls(cache)).toEqual([A, B]);
    expect(fs.readFileSync(path.join(cache, A)).equals(content[A])).toBe(true);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toEqual({
      file: A,
      url: `${base}/redir/${A}`,
      received: content[A].length,
      total: content[A].length,
    });

    const c2 = tmpDir();
    expect(
      (await ensureFashionMnist(opts({ cacheDir: path.join(c2, 'sub', 'dir'), mirror: `${base}/chunked/` }))).source,
    ).toBe('download');
    expect(ls(path.join(c2, 'sub', 'dir'))).toEqual([A, B]);
    // second call: from the cache, no requests
    requests.length = 0;
    expect((await ensureFashionMnist(opts({ cacheDir: path.join(c2, 'sub', 'dir') }))).source).toBe('cache');
    expect(requests).toEqual([]);
  });

  const failures: [string, RegExp][] = [
    ['trunc', /: truncated: connection closed after 35000 of 70000 bytes \(.+\)$/],
    [
      'corrupt',
      new RegExp(
        `: checksum mismatch: expected SHA-256 ${sha(content[A])}; actual SHA-256 ${sha(corrupt(content[A]))}$`,
      ),
    ],
    ['404', /: HTTP 404 Not Found$/],
    ['loop', /: too many redirects \(more than 5\)$/],
    ['stall', /: timeout: no data for 300 ms after 5 of 70000 bytes$/],
  ];
  for (const [mode, problem] of failures) {
    it(`${mode}: error names URL, file and problem; the cache holds no partial or wrong file`, async () => {
      const cache = tmpDir();
      // A short idle timeout only where the timeout is the case under test: elsewhere a loaded
      // machine must not turn a slow response into a spurious timeout.
      const timeoutMs = mode === 'stall' ? 300 : undefined;
      const e = await rejection(ensureFashionMnist(opts({ cacheDir: cache, mirror: `${base}/${mode}/`, timeoutMs })));
      expect(e.message.startsWith(`downloading ${A} from ${base}/${mode}/${A}: `)).toBe(true);
      expect(e.message).toMatch(problem);
      expect((e as DataFileError).file).toBe(A);
      expect(ls(cache)).toEqual([]); // no final name, no .part file
      if (mode === 'loop') expect(requests.length).toBe(1 + 5); // the first request + 5 redirects followed
    });
  }

  it('a failed download leaves an existing file at the destination untouched', async () => {
    const dir = tmpDir();
    const dest = path.join(dir, A);
    fs.writeFileSync(dest, 'old');
    await rejection(downloadFile(`${base}/corrupt/${A}`, dest, HASHES[A]));
    await rejection(downloadFile(`${base}/trunc/${A}`, dest, HASHES[A]));
    expect(fs.readFileSync(dest, 'utf8')).toBe('old');
    expect(ls(dir)).toEqual([A]);
    await downloadFile(`${base}/good/${A}`, dest, HASHES[A]);
    expect(fs.readFileSync(dest).equals(content[A])).toBe(true);
    expect(ls(dir)).toEqual([A]);
  });

  it('connection refused names the URL', async () => {
    const s = http.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as AddressInfo).port;
    await new Promise((r) => s.close(r));
    const cache = tmpDir();
    const e = await rejection(ensureFashionMnist(opts({ cacheDir: cache, mirror: `http://127.0.0.1:${port}/` })));
    expect(e.message).toMatch(new RegExp(`^downloading ${A} from http://127\\.0\\.0\\.1:${port}/${A}: .*ECONNREFUSED`));
    expect(ls(cache)).toEqual([]);
  });
});
