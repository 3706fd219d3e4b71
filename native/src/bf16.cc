// bfloat16 conversion loops and the support probe (see bf16.h). JS entry points:
//   bf16Round(x, y)     y = float(bf16(x)): the rounding every bf16 path uses, for tests
//   bf16Support()       { conv: boolean, impl: string }: a bf16 convolution primitive created, or why not
//   bf16Widen(b, y)     y = float(b): a bf16 activation (Uint16Array) read as float32, exact
#include "bf16.h"

#include <immintrin.h>

#include <vector>

namespace rn {

RN_SIMD static void toBf16Software(const float* x, uint16_t* y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = bf16Bits(x[i]);
}

// AVX512_BF16's VCVTNEPS2BF16: 16 values per instruction, the same round to nearest even and quiet NaN as
// bf16Bits, but subnormal inputs become zero (as in oneDNN's own bf16 outputs, which use it too). Storing
// activations is memory-bound with it (software rounding is not: ~2x slower for an add + ReLU).
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) static void toBf16Hardware(const float* x,
                                                                                            uint16_t* y,
                                                                                            int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i),
                        reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(_mm512_loadu_ps(x + i))));
  if (i < n) {
    __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    __m256bh b = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, x + i));
    _mm256_mask_storeu_epi16(y + i, m, reinterpret_cast<__m256i>(b));
  }
}

using ToBf16Fn = void (*)(const float*, uint16_t*, int64_t);
static const ToBf16Fn toBf16Impl = __builtin_cpu_supports("avx512bf16") ? toBf16Hardware : toBf16Software;

void toBf16Chunk(const float* x, uint16_t* y, int64_t n) { toBf16Impl(x, y, n); }

RN_SIMD void widenChunk(const uint16_t* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    uint32_t u = static_cast<uint32_t>(b[i]) << 16;
    std::memcpy(&y[i], &u, 4);
  }
}

void widen(const uint16_t* b, float* y, int64_t n) {
  forChunks(n, [&](int64_t i0, int64_t k) { widenChunk(b + i0, y + i0, k); });
}

float* threadScratch(int slot, int64_t n) {
  thread_local std::vector<float> bufs[4];
  auto& v = bufs[slot];
  if (static_cast<int64_t>(v.size()) < n) v.resize(static_cast<size_t>(n));
  return v.data();
}

RN_SIMD static void roundChunk(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    uint32_t u = static_cast<uint32_t>(bf16Bits(x[i])) << 16;
    std::memcpy(&y[i], &u, 4);
  }
}

void toBf16(const float* x, uint16_t* y, int64_t n) {
  forChunks(n, [&](int64_t i0, int64_t k) { toBf16Chunk(x + i0, y + i0, k); });
}

void roundThroughBf16(const float* x, float* y, int64_t n) {
  forChunks(n, [&](int64_t i0, int64_t k) { roundChunk(x + i0, y + i0, k); });
}

bool bf16ConvSupported(std::string* impl) {
  using namespace dnnl;
  try {
    memory::desc src({2, 16, 8, 8}, dt::bf16, tag::nhwc), dst({2, 16, 8, 8}, dt::f32, tag::nhwc);
    memory::desc w({16, 16, 3, 3}, dt::bf16, tag::any);
    convolution_forward::desc d(prop_kind::forward_training, algorithm::convolution_direct, src, w, dst, {1, 1},
                                {0, 0}, {1, 1}, {1, 1});
    convolution_forward::primitive_desc pd(d, engine());
    *impl = pd.impl_info_str();
    return true;
  } catch (const dnnl::error& e) {
    *impl = e.what();
    return false;
  }
}

namespace {

Napi::Value Round(const Napi::CallbackInfo& info) {
  float* x = f32(info[0]);
  float* y = f32(info[1]);
  require(f32len(info[0]) == f32len(info[1]), info.Env(), "bf16Round: x and y differ in length");
  roundThroughBf16(x, y, static_cast<int64_t>(f32len(info[0])));
  return info.Env().Undefined();
}

Napi::Value Widen(const Napi::CallbackInfo& info) {
  Act b = act(info[0], "bf16Widen");
  float* y = f32(info[1]);
  require(b.bf16 && static_cast<int64_t>(f32len(info[1])) == b.n, info.Env(),
          "bf16Widen: b must be a Uint16Array as long as the Float32Array y");
  widen(b.h(), y, b.n);
  return info.Env().Undefined();
}

Napi::Value Support(const Napi::CallbackInfo& info) {
  std::string impl;
  bool ok = bf16ConvSupported(&impl);
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("conv", ok);
  o.Set("impl", impl);
  return o;
}

}  // namespace

void initBf16(Napi::Env env, Napi::Object exports) {
  exports.Set("bf16Round", Napi::Function::New(env, Round));
  exports.Set("bf16Support", Napi::Function::New(env, Support));
  exports.Set("bf16Widen", Napi::Function::New(env, Widen));
}

}  // namespace rn
