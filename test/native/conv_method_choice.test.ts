/**
 * Convolutions through the onednn back end choose their method by measurement (conv_method_choice.ts):
 * a shape met for the first time runs every candidate (a warm-up and the timed rounds) and then the
 * winner, whose output is the one kept, bit for bit what that method computes when forced; later calls
 * run the winner only; the choice lands in the cache file. The clock is injected (it says which method
 * is fastest), and the addon's entry points are counted, so the test knows what ran.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { loadAddon } from '../../src/backend/onednn/addon';
import {
  CONV_ENTRY_POINTS,
  convParams,
  runConvBackwardData,
  runConvBackwardWeights,
  runConvForward,
  setConvPrecision,
} from '../../src/backend/onednn/kernel_helpers/conv_common';
import {
  ConvMethodChooser,
  cacheFileName,
  convShapeKey,
  cpuIsa,
  setConvAlgorithm,
  setConvMeasuring,
  setConvMethodChooser,
  pickConvMethod,
  type ConvMethod,
  type ConvPass,
} from '../../src/backend/onednn/conv_method_choice';
import { addonAvailable, skipReason } from './_helpers';
import { detectBf16Support } from '../../src/backend/select';
import { useBackendNow } from '../helpers/backend';

const MACHINE = { cpu: 'test cpu', onednn: 'test', isa: 0, threads: 1 };
const bf16 = addonAvailable ? detectBf16Support() : null;
// the bf16 GEMM needs oneDNN's bf16 matmul: a CPU with avx512_bf16 / amx_bf16 (elsewhere the case skips, saying so)
const nativeBf16 = bf16 != null && bf16.cpuFlags.length > 0 && bf16.onednnConv === true;
const nativeSkip = nativeBf16 ? '' : '(skipped: no native bf16 on this CPU)';
const METHODS: ConvMethod[] = ['direct', 'gemm', 'winograd'];

describe.skipIf(!addonAvailable)(`convolution methods chosen by measurement ${skipReason}`, () => {
  const ran: { pass: ConvPass; method: ConvMethod }[] = [];
  const restore: [string, unknown][] = [];
  let dir: string;
  let previous: ConvMethodChooser | undefined;

  beforeAll(async () => {
    await useBackendNow('onednn');
    const a = loadAddon().addon as unknown as Record<string, (...args: unknown[]) => void>;
    for (const pass of Object.keys(CONV_ENTRY_POINTS) as ConvPass[])
      for (const method of METHODS) {
        const name = CONV_ENTRY_POINTS[pass][method];
        const original = a[name];
        restore.push([name, original]);
        a[name] = (...args: unknown[]) => {
          ran.push({ pass, method });
          original(...args);
        };
      }
  });
  afterAll(() => {
    const a = loadAddon().addon as unknown as Record<string, unknown>;
    for (const [name, fn] of restore) a[name] = fn;
  });
  afterEach(() => {
    setConvMethodChooser(previous);
    setConvMeasuring(true);
    setConvAlgorithm('auto');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A chooser whose clock says `fastest` takes 1 ms and anything else 5 ms. */
  function chooserPreferring(fastest: ConvMethod): ConvMethodChooser {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conv-choice-native-'));
    const c = new ConvMethodChooser({
      machine: MACHINE,
      cacheDir: dir,
      rounds: 2,
      time: (run) => {
        const before = ran.length;
        run();
        return ran[ran.length - 1].method === fastest && ran.length === before + 1 ? 1 : 5;
      },
    });
    previous = setConvMethodChooser(c);
    return c;
  }

  const x = () => tf.randomUniform([2, 9, 9, 16], -1, 1, 'float32', 1);
  const w = () => tf.randomUniform([3, 3, 16, 24], -1, 1, 'float32', 2);
  const conv = (xs: tf.Tensor4D, ws: tf.Tensor4D) => tf.conv2d(xs, ws, 1, 'same');

  it.each(METHODS)('the measured winner (%s) computes the output and is kept for later calls', (fastest) => {
    chooserPreferring(fastest);
    const xs = x() as tf.Tensor4D,
      ws = w() as tf.Tensor4D;
    ran.length = 0;
    const y = conv(xs, ws);
    const first = ran.map((r) => r.method);
    // 3 candidates x (warm-up + 2 rounds), then the winner once more for the output
    expect(first).toHaveLength(3 * 3 + 1);
    expect([...new Set(first.slice(0, 3))].sort()).toEqual([...METHODS].sort());
    expect(first[first.length - 1]).toBe(fastest);

    ran.length = 0;
    const again = conv(xs, ws);
    expect(ran.map((r) => r.method)).toEqual([fastest]);
    setConvAlgorithm(fastest);
    const forced = conv(xs, ws);
    expect(Array.from(y.dataSync())).toEqual(Array.from(forced.dataSync())); // bit for bit
    expect(Array.from(again.dataSync())).toEqual(Array.from(forced.dataSync()));

    const saved = JSON.parse(fs.readFileSync(path.join(dir, cacheFileName(MACHINE)), 'utf8'));
    const choices = Object.entries(saved.choices) as [string, { method: string }][];
    expect(choices).toHaveLength(1);
    expect(choices[0][0]).toMatch(/^forward n2 9x9x16 9x9x24 k3x3 s1x1/);
    expect(choices[0][1].method).toBe(fastest);
    tf.dispose([xs, ws, y, again, forced]);
  });

  it('the gradients are measured per pass, each on its own', () => {
    const c = chooserPreferring('gemm');
    const xs = x() as tf.Tensor4D,
      ws = w() as tf.Tensor4D;
    ran.length = 0;
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => conv(a as tf.Tensor4D, b as tf.Tensor4D).sum())([xs, ws]);
    for (const pass of ['forward', 'backwardData', 'backwardWeights'] as const) {
      const mine = ran.filter((r) => r.pass === pass).map((r) => r.method);
      expect(mine, pass).toHaveLength(10);
      expect(mine[mine.length - 1], pass).toBe('gemm');
    }
    expect(c.measured).toBe(3);
    tf.dispose([xs, ws, dx, dw]);
  });

  it.skipIf(!nativeBf16)(
    `native bf16: direct and GEMM measured, never Winograd; the winner's bf16 output is the forced one's ${nativeSkip}`,
    () => {
      const prev = setConvPrecision('bf16');
      try {
        for (const fastest of ['direct', 'gemm'] as const) {
          chooserPreferring(fastest);
          const xs = x() as tf.Tensor4D,
            ws = w() as tf.Tensor4D;
          ran.length = 0;
          const y = conv(xs, ws);
          // 2 candidates x (warm-up + 2 rounds), then the winner for the output
          expect(
            ran
              .map((r) => r.method)
              .slice(0, 2)
              .sort(),
            fastest,
          ).toEqual(['direct', 'gemm']);
          expect(ran, fastest).toHaveLength(2 * 3 + 1);
          expect(ran[ran.length - 1].method, fastest).toBe(fastest);
          setConvAlgorithm(fastest);
          const forced = conv(xs, ws);
          expect(Array.from(y.dataSync()), fastest).toEqual(Array.from(forced.dataSync()));
          const saved = JSON.parse(fs.readFileSync(path.join(dir, cacheFileName(MACHINE)), 'utf8'));
          expect(Object.keys(saved.choices), fastest).toEqual([expect.stringMatching(/^forward .* prec1$/)]);
          setConvAlgorithm('auto');
          setConvMethodChooser(previous);
          fs.rmSync(dir, { recursive: true, force: true });
          tf.dispose([xs, ws, y, forced]);
        }
      } finally {
        setConvPrecision(prev);
      }
    },
  );

  it('runConv*: a given method runs its entry point, nothing measured; without one, each pass is chosen under its own key', () => {
    const c = chooserPreferring('direct');
    const p = convParams(tf.backend_util.computeConv2DInfo([2, 9, 9, 16], [3, 3, 16, 24], 1, 1, 'same'))!;
    const x = new Float32Array(2 * 9 * 9 * 16).fill(0.5),
      w = new Float32Array(3 * 3 * 16 * 24).fill(0.25),
      y = new Float32Array(2 * 9 * 9 * 24),
      dx = new Float32Array(x.length),
      dw = new Float32Array(w.length);
    ran.length = 0;
    runConvForward(p, x, w, null, y, 'gemm');
    runConvBackwardData(p, y, w, dx, 'winograd');
    runConvBackwardWeights(p, x, y, dw, 'gemm');
    expect(ran).toEqual([
      { pass: 'forward', method: 'gemm' },
      { pass: 'backwardData', method: 'winograd' },
      { pass: 'backwardWeights', method: 'gemm' },
    ]);
    expect(y[0]).toBeCloseTo(4 * 16 * 0.5 * 0.25, 4); // a corner: 2 x 2 taps of 16 channels
    expect(c.measured).toBe(0);
    runConvBackwardData(p, y, w, dx);
    runConvBackwardWeights(p, x, y, dw);
    expect(c.lookup(convShapeKey(p, 'backwardData'))?.method).toBe('direct');
    expect(c.lookup(convShapeKey(p, 'backwardWeights'))?.method).toBe('direct');
    expect(c.measured).toBe(2);
  });

  it('with measuring off the rules pick, and nothing is timed', () => {
    const c = chooserPreferring('winograd');
    setConvMeasuring(false);
    const xs = x() as tf.Tensor4D,
      ws = w() as tf.Tensor4D;
    ran.length = 0;
    const y = conv(xs, ws);
    const p = { ...ruleShape };
    expect(ran.map((r) => r.method)).toEqual([pickConvMethod(p, 'forward')]);
    expect(c.measured).toBe(0);
    tf.dispose([xs, ws, y]);
  });
});

/** The convolution above as the addon sees it (for the rules). */
const ruleShape = {
  batch: 2,
  inHeight: 9,
  inWidth: 9,
  inChannels: 16,
  outHeight: 9,
  outWidth: 9,
  outChannels: 24,
  filterHeight: 3,
  filterWidth: 3,
  strideHeight: 1,
  strideWidth: 1,
  dilationHeight: 1,
  dilationWidth: 1,
  padTop: 1,
  padLeft: 1,
  padBottom: 1,
  padRight: 1,
  relu: false,
  groups: 1,
  precision: 0 as const,
  weightsStamp: 0,
};

describe.skipIf(!addonAvailable)(`the ISA the rules use ${skipReason}`, () => {
  it("cpuIsa is oneDNN's effective ISA as the addon reports it", () => {
    expect(cpuIsa()).toBe(loadAddon().addon!.info().isa);
    expect(cpuIsa()).toBeGreaterThan(0);
  });
});
