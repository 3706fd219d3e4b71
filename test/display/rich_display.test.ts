/**
 * What a notebook shows for a cell's value (mimeBundleOf: the kernel's execute_result and
 * display()): module summary tables, tensors (with a PNG for an image), training results as
 * curves, and the Symbol.for('Jupyter.display') convention.
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import '../../src/tfjs_setup';
import { ResNet } from '../../src/models/resnet';
import { Bottleneck, PreActResidual, Residual } from '../../src/models/residual';
import { Sequential } from '../../src/nn/module';
import { Conv2d, Dense, GlobalAvgPool2d, ReLU } from '../../src/nn/layers';
import { summarize } from '../../src/nn/summary';
import { VEGA_LITE_MIME, mimeBundleOf } from '../../src/display/display';
import { trainingCurvesSpec } from '../../src/plot/specs';
import '../../src/plot/training_result'; // registers the curves display, as the library's entry does
import { train } from '../../src/train/train';
import { BatchSource } from '../../src/train/batches';

describe('module summary', () => {
  it("the seed ResNet at 96x96: each block's NHWC and NCHW shape, parameters summing to the total", async () => {
    const net = new ResNet().build([96, 96, 1]);
    const s = summarize(net);
    expect(s.rows.map((r) => r.name)).toEqual(['b1', 'b2', 'b3', 'b4', 'b5', 'b6']);
    expect(s.rows.map((r) => r.outputShape)).toEqual([
      [45, 45, 64],
      [22, 22, 64],
      [11, 11, 128],
      [6, 6, 256],
      [3, 3, 512],
      [10],
    ]);
    expect(s.rows.reduce((n, r) => n + r.parameters, 0)).toBe(net.numParameters());
    expect(s.outputShape).toEqual([10]);
    const bundle = await mimeBundleOf(net);
    const text = String(bundle['text/plain']);
    expect(text).toMatch(/^ResNet: input \(96, 96, 1\) -> output \(10\)/);
    // b5's multiply-adds by hand, per example: two basic blocks at 3x3 output, 256 -> 512 channels.
    // First: 3x3/2 conv 256->512, 3x3 conv 512->512, 1x1/2 shortcut 256->512; second: two 3x3 512->512.
    const pix = 3 * 3 * 512;
    const b5 = pix * 9 * 256 + pix * 9 * 512 + pix * 256 + 2 * pix * 9 * 512;
    expect(b5).toBe(75_497_472);
    expect(s.rows[4].multiplyAdds).toBe(b5);
    expect(s.rows.reduce((n, r) => n + r.multiplyAdds, 0)).toBe(s.multiplyAdds);
    expect(text).toMatch(/b5 +Sequential +\(3, 3, 512\) +\(512, 3, 3\) +8,395,264 +75\.50 M/);
    expect(text).toContain(`total parameters: ${net.numParameters().toLocaleString('en-US')}`);
    expect(String(bundle['text/html'])).toContain('<table class="module-summary">');
    net.dispose();
  });

  it('a container runs its children in order; an unbuilt module says how to build it', async () => {
    const seq = new Sequential(new Conv2d(4, { kernelSize: 3, padding: 1 }), new ReLU());
    expect(String((await mimeBundleOf(seq))['text/plain'])).toMatch(/not built yet.*\.build\(inputShape\)/);
    seq.build([8, 8, 2]);
    const s = summarize(seq);
    expect(s.rows).toEqual([
      {
        name: '0',
        kind: 'Conv2d',
        outputShape: [8, 8, 4],
        parameters: 3 * 3 * 2 * 4 + 4,
        multiplyAdds: 8 * 8 * 4 * 9 * 2,
      },
      { name: '1', kind: 'ReLU', outputShape: [8, 8, 4], parameters: 0, multiplyAdds: 0 },
    ]);
    // A dense layer: one product per input feature per unit, whatever the batch it last saw.
    const head = new Sequential(new Dense(3));
    head.apply(tf.zeros([5, 2, 2, 4])).dispose();
    expect(head.multiplyAdds()).toBe(16 * 3);
    head.dispose();
    seq.dispose();
  });

  it('every layer of each block kind has its output shape, including batch norms run with a fused ReLU', () => {
    for (const block of [
      new Residual(8, false),
      new Bottleneck(16, { sameShape: false, groups: 2 }),
      new PreActResidual(8, false),
    ]) {
      block.build([6, 6, 4]);
      const rows = summarize(block).rows;
      expect(rows.length, block.constructor.name).toBeGreaterThanOrEqual(5);
      for (const r of rows) {
        const shape = r.outputShape ?? [];
        expect(shape, `${block.constructor.name}.${r.name}`).toHaveLength(3);
        expect(
          shape.every((d) => Number.isInteger(d) && d > 0),
          `${block.constructor.name}.${r.name}`,
        ).toBe(true);
      }
      const bn1 = rows.find((r) => r.name === 'bn1')!;
      expect(bn1.outputShape?.slice(0, 2), `${block.constructor.name}.bn1`).toEqual(
        block instanceof Residual ? [3, 3] : [6, 6],
      ); // stride 2 on Residual's first conv only
      block.dispose();
    }
  });
});

describe('values', () => {
  it('a tensor: dtype, shape, values; an image-shaped one also as a PNG', async () => {
    const small = tf.tensor([1.5, 2]);
    expect((await mimeBundleOf(small))['text/plain']).toBe('Tensor float32 [2]\n    [1.5, 2]');
    expect((await mimeBundleOf(small))['image/png']).toBeUndefined();
    const img = tf.linspace(0, 1, 28 * 28).reshape([1, 28, 28, 1]);
    const b = await mimeBundleOf(img);
    expect(String(b['text/plain'])).toMatch(/^Tensor float32 \[1, 28, 28, 1\]/);
    const png = Buffer.from(String(b['image/png']), 'base64');
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.readUInt32BE(16)).toBe(28 * 6); // width after the 6x enlargement (192 / 28)
    tf.dispose([small, img]);
  });

  it('the Symbol.for("Jupyter.display") convention, with a text/plain fallback added', async () => {
    const rich = { [Symbol.for('Jupyter.display')]: () => ({ 'text/html': '<i>x</i>' }), k: 1 };
    expect(await mimeBundleOf(rich)).toEqual({
      'text/html': '<i>x</i>',
      'text/plain': expect.stringContaining('k: 1'),
    });
    const bad = { [Symbol.for('Jupyter.display')]: () => 'not a bundle' };
    await expect(mimeBundleOf(bad)).rejects.toThrow(/must return a MIME bundle object/);
    expect(await mimeBundleOf('abc')).toEqual({ 'text/plain': "'abc'" });
  });

  it("train()'s result shows its curves as Vega-Lite with one text line per epoch", async () => {
    const x = tf.randomNormal([16, 8, 8, 1], 0, 1, 'float32', 1);
    const y = tf.tensor1d([0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1], 'int32');
    const source: BatchSource = {
      numBatches: 1,
      numExamples: 16,
      *epoch() {
        yield { x: x.clone() as tf.Tensor4D, y: y.clone() as tf.Tensor1D };
      },
    };
    const net = new Sequential(new Conv2d(2, { kernelSize: 3 }), new GlobalAvgPool2d(), new Dense(2));
    const r = await train({ net, trainData: source, testData: source, epochs: 2, progress: 'none', log: () => {} });
    expect(Object.keys(r)).toEqual(['history', 'steps']); // the display method is not data
    const b = await mimeBundleOf(r);
    expect(JSON.stringify(b[VEGA_LITE_MIME])).toBe(JSON.stringify(trainingCurvesSpec(r.history))); // (vega tags rendered rows)
    expect(String(b['image/svg+xml'])).toMatch(/^<svg/);
    expect(String(b['text/plain']).split('\n')).toHaveLength(3);
    net.dispose();
    tf.dispose([x, y]);
  });
});
