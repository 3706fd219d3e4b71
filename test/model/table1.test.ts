/**
 * He et al. 2015, Table 1, as code: ResNet-18/34/50/101/152 at the paper's ImageNet setting
 * (224x224x3, its stem, 1000 classes) have the paper's multiply-adds ("FLOPs" there) within 3%,
 * counted by summarize() from each layer's own shapes, and torchvision's parameter counts exactly
 * (the ImageNet presets use torchvision's layers: no conv biases, BN after projection shortcuts).
 */
import { describe, expect, it } from 'vitest';
import '../../src/tfjs_setup';
import { registerOneDnnBackend } from '../../src/backend/onednn/register';
import { ResNet, ResNetDepth, resnetPreset } from '../../src/models/resnet';
import { summarize } from '../../src/nn/summary';
import { useBackendNow } from '../helpers/backend';

// One forward pass of batch 1 per net (build, then the summary's): native where it can be.
if (registerOneDnnBackend().ok) useBackendNow('onednn');

const PAPER: Record<ResNetDepth, { gflops: number; params: number }> = {
  18: { gflops: 1.8, params: 11_689_512 },
  34: { gflops: 3.6, params: 21_797_672 },
  50: { gflops: 3.8, params: 25_557_032 },
  101: { gflops: 7.6, params: 44_549_160 },
  152: { gflops: 11.3, params: 60_192_808 },
};

describe('Table 1 of He et al. 2015 at 224x224', () => {
  for (const depth of [18, 34, 50, 101, 152] as ResNetDepth[]) {
    it(`ResNet-${depth}: ${PAPER[depth].gflops} x 10^9 multiply-adds, ~${(PAPER[depth].params / 1e6).toFixed(1)} M parameters`, () => {
      const net = new ResNet(resnetPreset(`imagenet-resnet${depth}`)).build([224, 224, 3]);
      try {
        const s = summarize(net);
        expect(s.rows.map((r) => r.outputShape)).toEqual([
          [112, 112, 64],
          [56, 56, depth >= 50 ? 256 : 64],
          [28, 28, depth >= 50 ? 512 : 128],
          [14, 14, depth >= 50 ? 1024 : 256],
          [7, 7, depth >= 50 ? 2048 : 512],
          [1000],
        ]);
        const rel = s.multiplyAdds / (PAPER[depth].gflops * 1e9) - 1;
        expect(Math.abs(rel), `${s.multiplyAdds} multiply-adds`).toBeLessThan(0.03);
        expect(s.parameters).toBe(PAPER[depth].params);
      } finally {
        net.dispose();
      }
    }, 120_000);
  }

  it("ResNeXt-50 (32x4d): 4.2 x 10^9 multiply-adds (Xie et al. 2017, Table 3), torchvision's 25,028,904 parameters", () => {
    const net = new ResNet(resnetPreset('imagenet-resnext50_32x4d')).build([224, 224, 3]);
    try {
      const s = summarize(net);
      expect(s.rows.map((r) => r.outputShape)).toEqual([
        [112, 112, 64],
        [56, 56, 256],
        [28, 28, 512],
        [14, 14, 1024],
        [7, 7, 2048],
        [1000],
      ]);
      expect(Math.abs(s.multiplyAdds / 4.2e9 - 1), `${s.multiplyAdds} multiply-adds`).toBeLessThan(0.03);
      expect(s.parameters).toBe(25_028_904);
      // the grouped 3x3 conv of the first block: 128 inner channels in 32 groups of 4
      const conv2 = net.namedVariables().find(([n]) => /^b2\.\d+\.conv2\.weight$/.test(n));
      expect(conv2?.[1].shape).toEqual([3, 3, 4, 128]);
    } finally {
      net.dispose();
    }
  }, 120_000);

  it("bottleneck stride: the paper's first 1x1 vs torchvision's 3x3 (ResNet-50: 3.8 vs 4.1 billion)", () => {
    const v15 = new ResNet({ ...resnetPreset('imagenet-resnet50'), bottleneckStride: '3x3' }).build([224, 224, 3]);
    try {
      expect(summarize(v15).multiplyAdds / 1e9).toBeCloseTo(4.09, 1);
    } finally {
      v15.dispose();
    }
  }, 120_000);
});
