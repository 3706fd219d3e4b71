// Which convolution algorithm the onednn back end picks per shape, pass and ISA (useGemm). The numbers behind
// the rule are in docs/measurements.md ("Direct or GEMM per shape"); `npm run bench:conv` measures them.
import { afterEach, describe, expect, it } from 'vitest';

import type { ConvParams } from '../../src/backend/onednn/addon';
import { isAvx512, setConvAlgorithm, useGemm } from '../../src/backend/onednn/kernel_helpers/conv_common';

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

describe('useGemm', () => {
  afterEach(() => {
    setConvAlgorithm('auto');
  });

  it('tells AVX-512 ISAs from the others by oneDNN ISA bits', () => {
    for (const isa of [AVX512_CORE, AVX512_BF16, AMX]) expect(isAvx512(isa), isa.toString(16)).toBe(true);
    for (const isa of [0, 0x1, 0x3, AVX2, AVX2_VNNI]) expect(isAvx512(isa), isa.toString(16)).toBe(false);
  });

  it('takes GEMM for tiny output maps on every ISA', () => {
    for (const isa of [AVX2, AVX512_CORE])
      for (const pass of PASSES) {
        expect(useGemm(conv(3, 512, 512), pass, isa)).toBe(true); // 3x3 maps of the seed's last stage
        expect(useGemm(conv(4, 64, 64), pass, isa)).toBe(true); // 4x4: 16 outputs
        expect(useGemm(conv(5, 32, 32), pass, isa)).toBe(false); // 25 outputs, 32 channels
      }
  });

  it('on AVX2, takes GEMM for wide, deep GEMMs and deep filter gradients, direct for the early stages', () => {
    for (const pass of PASSES) {
      expect(useGemm(conv(6, 256, 256), pass, AVX2), pass).toBe(true);
      expect(useGemm(conv(11, 128, 128), pass, AVX2), pass).toBe(true);
      expect(useGemm(conv(11, 128, 256, 1, 2), pass, AVX2), pass).toBe(true); // the 1x1/2 shortcut: K = 128
      expect(useGemm(conv(22, 64, 128, 3, 2), pass, AVX2), pass).toBe(true);
      expect(useGemm(conv(22, 64, 128, 1, 2), pass, AVX2), pass).toBe(false); // K = 64
      expect(useGemm(conv(22, 64, 64), pass, AVX2), pass).toBe(pass === 'backwardWeights'); // reduction 576
      expect(useGemm(conv(14, 32, 64), pass, AVX2), pass).toBe(false); // 64 channels, reduction 288
      expect(useGemm(conv(96, 1, 64, 7, 2), pass, AVX2), pass).toBe(false); // the stem, even backward data
    }
  });

  it('on AVX-512, keeps direct outside tiny maps but for single-channel backward data', () => {
    for (const pass of PASSES) {
      expect(useGemm(conv(6, 256, 256), pass, AVX512_CORE), pass).toBe(false);
      expect(useGemm(conv(22, 64, 64), pass, AVX512_CORE), pass).toBe(false);
    }
    expect(useGemm(conv(96, 1, 64, 7, 2), 'backwardData', AVX512_CORE)).toBe(true);
    expect(useGemm(conv(96, 1, 64, 7, 2), 'forward', AVX512_CORE)).toBe(false);
  });

  it('never for grouped or bf16 convolutions, and obeys a forced algorithm otherwise', () => {
    expect(useGemm({ ...conv(3, 512, 512), groups: 2 }, 'forward', AVX2)).toBe(false);
    expect(useGemm({ ...conv(3, 512, 512), precision: 1 }, 'forward', AVX2)).toBe(false);
    setConvAlgorithm('direct');
    expect(useGemm(conv(3, 512, 512), 'forward', AVX2)).toBe(false);
    setConvAlgorithm('gemm');
    expect(useGemm(conv(22, 64, 64), 'forward', AVX512_CORE)).toBe(true);
    expect(useGemm({ ...conv(22, 64, 64), precision: 2 }, 'forward', AVX2)).toBe(false);
  });
});
