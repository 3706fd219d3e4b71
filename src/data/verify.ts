/** Hashing and checking data files against the digest tables; the error every data problem raises. */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { FASHION_MNIST_HASHES, FileDigest, HashTable } from './checksums';

/** A data file is missing, corrupt, or could not be downloaded. `file` names it (path or name). */
export class DataFileError extends Error {
  constructor(
    message: string,
    readonly file?: string,
    readonly url?: string,
  ) {
    super(message);
    this.name = 'DataFileError';
  }
}

export interface Digests {
  sha256: string;
  md5: string;
}

export function newHashers() {
  const sha256 = crypto.createHash('sha256');
  const md5 = crypto.createHash('md5');
  return {
    update(b: Buffer) {
      sha256.update(b);
      md5.update(b);
    },
    digest(): Digests {
      return { sha256: sha256.digest('hex'), md5: md5.digest('hex') };
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
      return parts.join(' + ') + (d.variant ? ` (${d.variant})` : '');
    })
    .join(' or ');
}

/** "<file>: checksum mismatch: expected ..., actual ..." */
export function mismatchMessage(file: string, accepted: readonly FileDigest[], actual: Digests): string {
  const usesMd5 = accepted.some((d) => d.md5 !== undefined);
  return (
    `${file}: checksum mismatch: expected ${describeExpected(accepted)}; ` +
    `actual SHA-256 ${actual.sha256}` +
    (usesMd5 ? `, MD5 ${actual.md5}` : '')
  );
}

export type FileStatus =
  | { file: string; path: string; state: 'ok'; digests: Digests }
  | { file: string; path: string; state: 'missing' }
  | { file: string; path: string; state: 'bad'; digests: Digests; message: string };

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
      out.push({ file, path: p, state: 'missing' });
      continue;
    }
    const digests = await hashFile(p);
    if (digestMatches(digests, accepted)) out.push({ file, path: p, state: 'ok', digests });
    else out.push({ file, path: p, state: 'bad', digests, message: mismatchMessage(p, accepted, digests) });
  }
  return out;
}
