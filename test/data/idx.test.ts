import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS } from '../../src/data/checksums';
import { loadFashionMnistArrays } from '../../src/data/fashion_mnist';
import { IDX_MAGIC_IMAGES, IDX_MAGIC_LABELS, IdxError, encodeIdx, parseIdx, readIdx } from '../../src/data/idx';
import { realDataDir, removeTmpDirs, tmpDir, writeIdx } from './helpers';

afterAll(removeTmpDirs);

const IMG = { magic: IDX_MAGIC_IMAGES, dims: [null, 28, 28] as (number | null)[] };

/** Runs fn, expects an IdxError, returns its message. */
function idxError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(IdxError);
    return (e as Error).message;
  }
  throw new Error('expected an IdxError, nothing was thrown');
}

const dataDir = realDataDir();

describe.skipIf(!dataDir)('real Fashion-MNIST files', () => {
  const a = loadFashionMnistArrays(dataDir!);

  it('has 60000 + 10000 images of 28x28 and as many labels', () => {
    expect(a.train.n).toBe(60000);
    expect(a.train.images.length).toBe(60000 * 28 * 28);
    expect(a.train.labels.length).toBe(60000);
    expect(a.test.n).toBe(10000);
    expect(a.test.images.length).toBe(10000 * 28 * 28);
    expect(a.test.labels.length).toBe(10000);
  });

  it('labels are 0..9, balanced (6000 / 1000 per class), in the published order', () => {
    const count = (l: Uint8Array) => {
      const c = new Array(10).fill(0);
      for (const v of l) c[v]++;
      return c;
    };
    expect(count(a.train.labels)).toEqual(new Array(10).fill(6000));
    expect(count(a.test.labels)).toEqual(new Array(10).fill(1000));
    expect([...a.train.labels.subarray(0, 10)]).toEqual([9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    expect([...a.test.labels.subarray(0, 10)]).toEqual([9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
  });

  it('readIdx returns the header shape', () => {
    const t = readIdx(path.join(dataDir!, TEST_IMAGES), IMG);
    expect(t.shape).toEqual([10000, 28, 28]);
    const l = readIdx(path.join(dataDir!, TEST_LABELS), { magic: IDX_MAGIC_LABELS });
    expect(l.shape).toEqual([10000]);
    // images are not all zero (a parser bug that skips the payload would give zeros or garbage)
    expect(t.data.reduce((m, v) => Math.max(m, v), 0)).toBe(255);
  });
});

describe('IDX parsing of made-up files', () => {
  const img3 = new Uint8Array(3 * 28 * 28).map((_, i) => i % 251);
  const good = encodeIdx(img3, [3, 28, 28]);

  it('parses raw and gzipped files identically', () => {
    const raw = parseIdx(good, 'x.idx', IMG);
    const gz = parseIdx(zlib.gzipSync(good), 'x.gz', IMG);
    expect(raw.shape).toEqual([3, 28, 28]);
    expect(gz.shape).toEqual([3, 28, 28]);
    expect([...raw.data]).toEqual([...img3]);
    expect([...gz.data]).toEqual([...img3]);
  });

  it('rejects a bad magic', () => {
    const b = good.slice();
    b.set([0x12, 0x34, 0x56, 0x78], 0);
    expect(idxError(() => parseIdx(b, 'bad.gz', IMG))).toBe(
      'bad.gz: bad magic 0x12345678: not an IDX file (expected 0x000008NN)',
    );
  });

  it('rejects a labels file where images are expected', () => {
    const labels = encodeIdx(new Uint8Array(3), [3]);
    const m = idxError(() => parseIdx(zlib.gzipSync(labels), TRAIN_IMAGES, IMG));
    expect(m).toBe(`${TRAIN_IMAGES}: bad magic 0x00000801 (uint8, 1-D): expected 0x00000803 (uint8, 3-D)`);
  });

  it('rejects non-uint8 element types', () => {
    const b = good.slice();
    b[2] = 0x0d;
    expect(idxError(() => parseIdx(b, 'f.idx'))).toMatch(/^f\.idx: unsupported element type 0xd \(float32\)/);
  });

  it('rejects wrong dimensions', () => {
    const b = encodeIdx(new Uint8Array(3 * 28 * 27), [3, 28, 27]);
    expect(idxError(() => parseIdx(b, TRAIN_IMAGES, IMG))).toBe(
      `${TRAIN_IMAGES}: wrong dimensions: header says 3x28x27, expected Nx28x28`,
    );
  });

  it('rejects a truncated payload', () => {
    const b = good.subarray(0, 16 + 100);
    expect(idxError(() => parseIdx(zlib.gzipSync(b), TRAIN_IMAGES, IMG))).toBe(
      `${TRAIN_IMAGES}: truncated: header says 3x28x28 = 2352 bytes, found 100`,
    );
  });

  it('rejects a truncated header', () => {
    expect(idxError(() => parseIdx(good.subarray(0, 10), 'h.idx'))).toBe(
      'h.idx: truncated header: 3-D IDX needs 16 header bytes, found 10',
    );
    expect(idxError(() => parseIdx(new Uint8Array(2), 'e.idx'))).toMatch(/^e\.idx: truncated: 2 bytes/);
  });

  it('rejects an oversized payload', () => {
    const b = new Uint8Array(good.length + 5);
    b.set(good);
    expect(idxError(() => parseIdx(b, TRAIN_IMAGES, IMG))).toBe(
      `${TRAIN_IMAGES}: oversized: header says 3x28x28 = 2352 bytes, found 2357 (5 extra)`,
    );
  });

  // Each header check on its own: a case that only that check rejects (found by mutation testing).
  it('checks each byte of the magic separately', () => {
    for (const [bytes, hex] of [
      [[0x01, 0x00, 0x08, 0x03], '0x01000803'],
      [[0x00, 0x01, 0x08, 0x03], '0x00010803'],
      [[0x00, 0x00, 0x08, 0x00], '0x00000800'], // no dimensions
    ] as const) {
      const b = good.slice();
      b.set(bytes, 0);
      expect(idxError(() => parseIdx(b, 'm.idx'))).toBe(
        `m.idx: bad magic ${hex}: not an IDX file (expected 0x000008NN)`,
      );
    }
  });

  it('tells gzip by both magic bytes, and only by them', () => {
    // One of the two gzip bytes is not gzip: an IDX magic error, not a gzip error.
    for (const start of [
      [0x1f, 0x00],
      [0x00, 0x8b],
    ]) {
      const b = good.slice();
      b.set(start, 0);
      expect(idxError(() => parseIdx(b, 'g.idx'))).toMatch(/^g\.idx: bad magic /);
    }
    // The two-byte gzip magic alone is a gzip stream, cut off.
    expect(idxError(() => parseIdx(Uint8Array.of(0x1f, 0x8b), 'g2.gz'))).toMatch(/^g2\.gz: corrupt gzip data: /);
    expect(idxError(() => parseIdx(Uint8Array.of(0x1f), 'g1.gz'))).toMatch(/^g1\.gz: truncated: 1 bytes/);
  });

  it('reads a 4-byte magic without dimensions as a truncated header, not a short file', () => {
    expect(idxError(() => parseIdx(Uint8Array.of(0, 0, 8, 1), 'four.idx'))).toBe(
      'four.idx: truncated header: 1-D IDX needs 8 header bytes, found 4',
    );
  });

  it('accepts an empty payload when the header says zero items', () => {
    const empty = parseIdx(encodeIdx(new Uint8Array(0), [0]), 'empty.idx');
    expect(empty.shape).toEqual([0]);
    expect(empty.data.length).toBe(0);
  });

  it("rejects expected dimensions that are only a prefix of the header's", () => {
    expect(idxError(() => parseIdx(good, 'p.idx', { dims: [3, 28] }))).toBe(
      'p.idx: wrong dimensions: header says 3x28x28, expected 3x28',
    );
  });

  it('names its error class', () => {
    let err: unknown;
    try {
      parseIdx(new Uint8Array(0), 'z.idx');
    } catch (e) {
      err = e;
    }
    expect((err as Error).name).toBe('IdxError');
  });

  it('rejects corrupt gzip data (damaged and cut-off streams)', () => {
    const gz = zlib.gzipSync(good);
    const damaged = Uint8Array.from(gz); // (Buffer#slice would share memory)
    for (let i = 12; i < 40; i++) damaged[i] ^= 0xa5;
    expect(idxError(() => parseIdx(damaged, TRAIN_IMAGES))).toMatch(
      new RegExp(`^${TRAIN_IMAGES.replace(/\./g, '\\.')}: corrupt gzip data: `),
    );
    const cut = gz.subarray(0, Math.floor(gz.length / 2));
    expect(idxError(() => parseIdx(cut, TEST_IMAGES))).toMatch(/^t10k-images-idx3-ubyte\.gz: corrupt gzip data: /);
    const noTrailer = gz.subarray(0, gz.length - 4);
    expect(idxError(() => parseIdx(noTrailer, TEST_LABELS))).toBe(
      `${TEST_LABELS}: corrupt gzip data: unexpected end of file`,
    );
  });

  it('readIdx names the path of a missing file', () => {
    expect(idxError(() => readIdx('/nonexistent/x.gz'))).toMatch(/^\/nonexistent\/x\.gz: cannot read: ENOENT/);
  });
});

describe('loadFashionMnistArrays validation', () => {
  /** A made-up data set dir with the standard names; images/labels counts per split. */
  function makeDir(nTrainImg: number, nTrainLab: number, trainLabels?: number[]) {
    const d = tmpDir();
    writeIdx(path.join(d, TRAIN_IMAGES), new Uint8Array(nTrainImg * 784).fill(7), [nTrainImg, 28, 28]);
    writeIdx(path.join(d, TRAIN_LABELS), Uint8Array.from(trainLabels ?? new Array(nTrainLab).fill(3)), [nTrainLab]);
    writeIdx(path.join(d, TEST_IMAGES), new Uint8Array(2 * 784), [2, 28, 28]);
    writeIdx(path.join(d, TEST_LABELS), Uint8Array.from([0, 9]), [2]);
    return d;
  }

  it('loads a consistent made-up set', () => {
    const d = makeDir(5, 5);
    const a = loadFashionMnistArrays(d);
    expect(a.train.n).toBe(5);
    expect(a.test.n).toBe(2);
    expect([...a.test.labels]).toEqual([0, 9]);
    expect(a.train.images[5 * 784 - 1]).toBe(7);
    fs.rmSync(d, { recursive: true });
  });

  it('rejects an image/label count mismatch, naming both files and counts', () => {
    const d = makeDir(5, 4);
    const m = idxError(() => loadFashionMnistArrays(d));
    expect(m).toContain(path.join(d, TRAIN_IMAGES));
    expect(m).toContain(path.join(d, TRAIN_LABELS));
    expect(m).toContain(`count mismatch: ${TRAIN_IMAGES} has 5 images but ${TRAIN_LABELS} has 4 labels`);
    fs.rmSync(d, { recursive: true });
  });

  it('rejects labels outside 0..9', () => {
    const d = makeDir(3, 3, [1, 10, 2]);
    expect(idxError(() => loadFashionMnistArrays(d))).toBe(
      `${path.join(d, TRAIN_LABELS)}: label 10 at index 1 is out of range 0..9`,
    );
    fs.rmSync(d, { recursive: true });
  });

  it('rejects images that are not 28x28', () => {
    const d = makeDir(3, 3);
    writeIdx(path.join(d, TEST_IMAGES), new Uint8Array(2 * 32 * 32), [2, 32, 32]);
    expect(idxError(() => loadFashionMnistArrays(d))).toBe(
      `${path.join(d, TEST_IMAGES)}: wrong dimensions: header says 2x32x32, expected Nx28x28`,
    );
    fs.rmSync(d, { recursive: true });
  });
});
