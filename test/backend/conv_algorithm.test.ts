// Which convolution method the onednn back end picks per shape, pass and ISA (pickConvMethod). The numbers behind
// the rule are in docs/measurements.md ("Convolution methods per shape"); `npm run bench:conv` measures them.
import { afterEach, describe, expect, it } from 'vitest';

import type { ConvParams } from '../../src/backend/onednn/addon';
import {
  isAvx512,
  pickConvMethod,
  setConvAlgorithm,
  winogradApplies,
} from '../../src/backend/onednn/conv_method_choice';

const AVX2 = 0x7; // dnnl_cpu_isa_avx2
const AVX512_CORE = 0x27;
const AVX512_BF16 = 0xe7;
const AMX = 0x3e7;
const AVX2_VNNI = 0x407;

/** A stride-s convolution of an n x h x h x ic input with k x k filters and 'same'-style padding. */
function conv(h: number, ic: number, oc: number, k = 3, s = 1, n = 64): ConvParams {
  const pad = k === 1 ? 0 : (k - 1) >> 1;
  const o = Math.floor((h + 2 * pad - k) / s) + 1;
  return {
    batch: n,
    inHeight: h,
    inWidth: h,
    inChannels: ic,
    outHeight: o,
    outWidth: o,
    outChannels: oc,
    filterHeight: k,
    filterWidth: k,
    strideHeight: s,
    strideWidth: s,
    dilationHeight: 1,
    dilationWidth: 1,
    padTop: pad,
    padLeft: pad,
    padBottom: pad,
    padRight: pad,
    relu: false,
    groups: 1,
    precision: 0,
    weightsStamp: 0,
  };
}

const PASSES = ['forward', 'backwardData', 'backwardWeights'] as const;

describe('pickConvMethod', () => {
  afterEach(() => {
    setConvAlgorithm('auto');
  });

  it('tells AVX-512 ISAs from the others by oneDNN ISA bits', () => {
    for (const isa of [AVX512_CORE, AVX512_BF16, AMX]) expect(isAvx512(isa), isa.toString(16)).toBe(true);
    for (const isa of [0, 0x1, 0x3, AVX2, AVX2_VNNI]) expect(isAvx512(isa), isa.toString(16)).toBe(false);
  });

  it('knows where Winograd F(2x2, 3x3) can run', () => {
    expect(winogradApplies(conv(22, 64, 64))).toBe(true);
    expect(winogradApplies(conv(1, 5, 7))).toBe(true);
    expect(winogradApplies(conv(22, 64, 128, 3, 2))).toBe(false); // stride 2
    expect(winogradApplies(conv(22, 64, 128, 1, 1))).toBe(false); // 1x1
    expect(winogradApplies(conv(96, 1, 64, 7, 2))).toBe(false);
    expect(winogradApplies({ ...conv(22, 64, 64), dilationHeight: 2 })).toBe(false);
    expect(winogradApplies({ ...conv(22, 64, 64), groups: 2 })).toBe(false);
    expect(winogradApplies({ ...conv(22, 64, 64), precision: 2 })).toBe(false);
    // each condition on its own (the other dimension 3x3, stride 1, undilated)
    for (const over of [
      { filterHeight: 5 },
      { filterWidth: 5 },
      { strideHeight: 2 },
      { strideWidth: 2 },
      { dilationWidth: 2 },
    ])
      expect(winogradApplies({ ...conv(22, 64, 64), ...over }), JSON.stringify(over)).toBe(false);
  });

  it('on AVX2, takes Winograd for 3x3 stride-1 layers of >= 64 channels (32 for dw) and >= 4x4 maps', () => {
    for (const pass of PASSES) {
      for (const [h, c] of [
        [22, 64],
        [11, 128],
        [6, 256],
        [7, 64],
        [4, 128],
      ])
        expect(pickConvMethod(conv(h, c, c), pass, AVX2), `${h} ${c} ${pass}`).toBe('winograd');
      expect(pickConvMethod(conv(3, 512, 512), pass, AVX2), pass).toBe('gemm'); // 3x3 maps: 4 tiles for 9 outputs
      expect(pickConvMethod(conv(28, 16, 16), pass, AVX2), pass).toBe('direct');
      expect(pickConvMethod(conv(14, 32, 64), pass, AVX2), pass).toBe(
        pass === 'backwardWeights' ? 'winograd' : 'direct', // 32 input channels
      );
      expect(pickConvMethod(conv(28, 16, 32), pass, AVX2), pass).toBe('direct');
    }
  });

  it('on AVX2, takes GEMM for wide, deep GEMMs and deep filter gradients, direct for the early stages', () => {
    for (const pass of PASSES) {
      expect(pickConvMethod(conv(11, 128, 256, 1, 2), pass, AVX2), pass).toBe('gemm'); // 1x1/2 shortcut: K = 128
      expect(pickConvMethod(conv(22, 64, 128, 3, 2), pass, AVX2), pass).toBe('gemm');
      expect(pickConvMethod(conv(11, 128, 256, 3, 2), pass, AVX2), pass).toBe('gemm');
      expect(pickConvMethod(conv(22, 64, 128, 1, 2), pass, AVX2), pass).toBe('direct'); // K = 64
      expect(pickConvMethod(conv(22, 64, 64, 5, 1), pass, AVX2), pass).toBe(
        pass === 'backwardWeights' ? 'gemm' : 'direct', // 64 output channels; reduction 1600
      );
      expect(pickConvMethod(conv(96, 1, 64, 7, 2), pass, AVX2), pass).toBe('direct'); // the stem, even dx
      // a filter gradient's reduction of exactly 576 (3 * 3 * 64) is deep enough; 64 output channels are not wide
      expect(pickConvMethod(conv(22, 64, 64, 3, 2), pass, AVX2), pass).toBe(
        pass === 'backwardWeights' ? 'gemm' : 'direct',
      );
    }
  });

  it('takes GEMM for tiny output maps on every ISA', () => {
    for (const isa of [AVX2, AVX512_CORE])
      for (const pass of PASSES) {
        expect(pickConvMethod(conv(3, 512, 512), pass, isa)).toBe('gemm'); // 3x3 maps of the seed's last stage
        expect(pickConvMethod(conv(4, 16, 16), pass, isa)).toBe('gemm'); // 4x4: 16 outputs
        expect(pickConvMethod(conv(5, 16, 16), pass, isa)).toBe('direct'); // 25 outputs, 16 channels
      }
  });

  it('on AVX-512, keeps direct outside tiny maps but for single-channel backward data', () => {
    for (const pass of PASSES) {
      expect(pickConvMethod(conv(6, 256, 256), pass, AVX512_CORE), pass).toBe('direct');
      expect(pickConvMethod(conv(22, 64, 64), pass, AVX512_CORE), pass).toBe('direct');
    }
    expect(pickConvMethod(conv(96, 1, 64, 7, 2), 'backwardData', AVX512_CORE)).toBe('gemm');
    expect(pickConvMethod(conv(96, 4, 64, 7, 2), 'backwardData', AVX512_CORE)).toBe('gemm'); // up to 4 channels
    expect(pickConvMethod(conv(96, 5, 64, 7, 2), 'backwardData', AVX512_CORE)).toBe('direct');
    expect(pickConvMethod(conv(96, 1, 64, 7, 2), 'forward', AVX512_CORE)).toBe('direct');
  });

  it('keeps grouped and bf16 convolutions direct, and obeys a forced method where it can run', () => {
    expect(pickConvMethod({ ...conv(3, 512, 512), groups: 2 }, 'forward', AVX2)).toBe('direct');
    expect(pickConvMethod({ ...conv(3, 512, 512), precision: 1 }, 'forward', AVX2)).toBe('direct');
    setConvAlgorithm('direct');
    expect(pickConvMethod(conv(22, 64, 64), 'forward', AVX2)).toBe('direct');
    setConvAlgorithm('gemm');
    expect(pickConvMethod(conv(22, 64, 64), 'forward', AVX512_CORE)).toBe('gemm');
    expect(pickConvMethod({ ...conv(22, 64, 64), precision: 2 }, 'forward', AVX2)).toBe('direct');
    setConvAlgorithm('winograd');
    expect(pickConvMethod(conv(28, 16, 16), 'backwardWeights', AVX512_CORE)).toBe('winograd');
    expect(pickConvMethod(conv(22, 64, 128, 3, 2), 'forward', AVX2)).toBe('direct');
  });
});
