// 2-D convolution as im2col + GEMM (oneDNN matmul). In float32 for the shapes where oneDNN 2.6's direct
// kernels are slow: tiny spatial sizes with many channels (3x3 maps of the last stage) and single-channel inputs
// (backward data of the 7x7 stem). In native bf16 (AMX, AVX512_BF16) for the same reason, more so: oneDNN 2.6's
// bf16 direct kernels pad narrow channel counts to the AMX tile (the stem's filter gradient, one input channel,
// takes 10x its float32 time) and run the filter gradients of small maps at a fraction of its bf16 matmul's speed.
// Same parameters and layouts as conv.cc:
//   conv2dForwardGemm(x, w, bias|null, y, p)   conv2dBackwardDataGemm(dy, w, dx, p)
//   conv2dBackwardWeightsGemm(x, dy, dw, p)
// Columns: cols[r, (ky*KW + kx)*IC + ic], r = (n*OH + oy)*OW + ox, so HWIO filters are a [KH*KW*IC, OC] matrix.
// Native bf16: bf16 columns and filter (converted once per step, shared with conv.cc), float32 accumulation;
// activation outputs bf16 or float32 as the arrays given (bias and ReLU applied in float32, rounded once), filter
// gradients float32. bf16-emulated and grouped convolutions take the direct path.
#include <algorithm>
#include <cstring>
#include <vector>

#include "conv_params.h"

namespace rn {
namespace {

using namespace dnnl;

/** Grow-only column buffer per element type, shared by all calls (execution is serial). */
template <typename T>
T* columns(size_t elements) {
  static std::unique_ptr<T[]> buf;
  static size_t cap = 0;
  if (elements > cap) {
    cap = elements + elements / 4;
    buf.reset(new (std::align_val_t(64)) T[cap]);
  }
  return buf.get();
}

/** Copies n elements; short runs (the stem's single channel) without a memcpy call. */
template <typename T>
inline void copyRun(const T* src, T* dst, int64_t n) {
  if (n < 16)
    for (int64_t c = 0; c < n; c++) dst[c] = src[c];
  else
    std::memcpy(dst, src, n * sizeof(T));
}

/**
 * Fills cols (one row per output pixel, kh*kw*ic taps). Undilated filters read a row's kw taps from kw
 * consecutive input pixels, so each filter row is one copy of its taps inside the image and zeros for the
 * padding on either side (the 7x7 stem, a single channel, copies 7 values at once instead of 1).
 */
template <typename T>
void im2col(const ConvParams& p, const T* x, T* cols) {
  const int64_t K = p.K(), rowTaps = p.kw * p.ic;
#pragma omp parallel for num_threads(threadsFor(p.M() * K)) schedule(static)
  for (int64_t r = 0; r < p.M(); r++) {
    int64_t n = r / (p.oh * p.ow), rem = r % (p.oh * p.ow), oy = rem / p.ow, ox = rem % p.ow;
    T* c = cols + r * K;
    int64_t ix0 = ox * p.sw - p.pl;
    for (int64_t ky = 0; ky < p.kh; ky++) {
      int64_t iy = oy * p.sh - p.pt + ky * p.dh;
      T* dst = c + ky * rowTaps;
      if (iy < 0 || iy >= p.ih) {
        std::memset(dst, 0, rowTaps * sizeof(T));
        continue;
      }
      const T* row = x + (n * p.ih + iy) * p.iw * p.ic;
      if (p.dw == 1) {
        // taps kx in [lo, hi) fall inside the image: ix0 + kx in [0, iw)
        int64_t lo = std::min(p.kw, std::max<int64_t>(0, -ix0)), hi = std::max(lo, std::min(p.kw, p.iw - ix0));
        if (lo > 0) std::memset(dst, 0, lo * p.ic * sizeof(T));
        copyRun(row + (ix0 + lo) * p.ic, dst + lo * p.ic, (hi - lo) * p.ic);
        if (hi < p.kw) std::memset(dst + hi * p.ic, 0, (p.kw - hi) * p.ic * sizeof(T));
        continue;
      }
      for (int64_t kx = 0; kx < p.kw; kx++) {
        int64_t ix = ix0 + kx * p.dw;
        T* d = dst + kx * p.ic;
        if (ix < 0 || ix >= p.iw)
          std::memset(d, 0, p.ic * sizeof(T));
        else
          copyRun(row + ix * p.ic, d, p.ic);
      }
    }
  }
}

RN_SIMD void addTo(const float* __restrict s, float* __restrict d, int64_t k) {
  for (int64_t j = 0; j < k; j++) d[j] += s[j];
}

/** dx = the columns' gradients summed back onto the input pixels, in float32; a bf16 dx is rounded once. */
void col2im(const ConvParams& p, const float* cols, const Act& dx) {
  const int64_t K = p.K(), img = p.ih * p.iw * p.ic;
#pragma omp parallel for num_threads(threadsFor(p.M() * K)) schedule(static)
  for (int64_t n = 0; n < p.n; n++) {
    float* d = dx.bf16 ? threadScratch(0, img) : dx.f() + n * img;
    std::memset(d, 0, img * sizeof(float));
    for (int64_t oy = 0; oy < p.oh; oy++)
      for (int64_t ox = 0; ox < p.ow; ox++) {
        const float* c = cols + ((n * p.oh + oy) * p.ow + ox) * K;
        for (int64_t ky = 0; ky < p.kh; ky++) {
          int64_t iy = oy * p.sh - p.pt + ky * p.dh;
          if (iy < 0 || iy >= p.ih) continue;
          for (int64_t kx = 0; kx < p.kw; kx++) {
            int64_t ix = ox * p.sw - p.pl + kx * p.dw;
            if (ix < 0 || ix >= p.iw) continue;
            addTo(c + (ky * p.kw + kx) * p.ic, d + (iy * p.iw + ix) * p.ic, p.ic);
          }
        }
      }
    if (dx.bf16) toBf16Chunk(d, dx.h() + n * img, img);
  }
}

struct Mm {
  matmul prim;
  memory::desc a, b, c, bias, scratch;
};

Cache<Mm> mmCache;

/**
 * C[m, n] = op(A) op(B) (+ bias) (relu); ta/tb: A stored [k, m] / B stored [n, k]. A and B of type `in`, C of
 * type `out`, the bias float32; oneDNN accumulates in float32 and adds bias and ReLU before rounding C.
 */
Mm& gemm(int64_t m, int64_t k, int64_t n, bool ta, bool tb, bool bias, bool relu, dt in = dt::f32, dt out = dt::f32) {
  return mmCache.get(key(m, k, n, ta, tb, bias, relu, static_cast<int>(in), static_cast<int>(out)), [&] {
    memory::desc a({m, k}, in, ta ? memory::dims{1, m} : memory::dims{k, 1});
    memory::desc b({k, n}, in, tb ? memory::dims{1, k} : memory::dims{n, 1});
    memory::desc c({m, n}, out, tag::ab);
    memory::desc bd({1, n}, dt::f32, tag::ab);
    primitive_attr attr = baseAttr();
    if (relu) {
      post_ops po;
      po.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
      attr.set_post_ops(po);
    }
    auto d = bias ? matmul::desc(a, b, bd, c) : matmul::desc(a, b, c);
    matmul::primitive_desc pd(d, attr, engine());
    return Mm{matmul(pd), a, b, c, bd, pd.scratchpad_desc()};
  });
}

void run(Mm& g, const void* a, const void* b, float* bias, void* c) {
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, memory(g.a, engine(), const_cast<void*>(a))},
                                       {DNNL_ARG_WEIGHTS, memory(g.b, engine(), const_cast<void*>(b))},
                                       {DNNL_ARG_DST, memory(g.c, engine(), c)},
                                       {DNNL_ARG_SCRATCHPAD, scratchpad(g.scratch)}};
  if (bias) args.emplace(DNNL_ARG_BIAS, memory(g.bias, engine(), bias));
  g.prim.execute(stream(), args);
  stream().wait();
}

bool is1x1(const ConvParams& p) {
  return p.kh == 1 && p.kw == 1 && p.sh == 1 && p.sw == 1 && p.pt == 0 && p.pl == 0 && p.oh == p.ih && p.ow == p.iw;
}

/** The GEMM path runs float32 and native bf16, ungrouped; the rest takes the direct path (conv.cc). */
void requireGemmCase(const ConvParams& p, Napi::Env env) {
  if (p.g != 1) throw Napi::Error::New(env, "conv gemm: grouped convolutions take the direct path");
  if (p.precision == ConvPrecision::bf16Emulated)
    throw Napi::Error::New(env, "conv gemm: bf16-emulated convolutions take the direct path");
}

/** An array's length against the shapes' (a wrong one would be read or written past its end). */
void requireLength(Napi::Env env, int64_t got, int64_t want, const char* what) {
  if (got != want)
    throw Napi::Error::New(env, std::string(what) + ": length " + std::to_string(got) +
                                    " does not match the convolution's " + std::to_string(want));
}
int64_t inputSize(const ConvParams& p) { return p.n * p.ih * p.iw * p.ic; }
int64_t outputSize(const ConvParams& p) { return p.n * p.oh * p.ow * p.oc; }
dt typeOf(const Act& a) { return a.bf16 ? dt::bf16 : dt::f32; }

/** Float32 convolutions read and write float32 arrays only (bf16 activations exist in the bf16 precisions). */
void requireF32(Napi::Env env, const ConvParams& p, std::initializer_list<const Act*> arrays, const char* what) {
  if (p.precision != ConvPrecision::f32) return;
  for (const Act* a : arrays)
    if (a->bf16) throw Napi::TypeError::New(env, std::string(what) + ": a float32 convolution got a bf16 array");
}

/**
 * The GEMM's A for x: its im2col columns (x itself for a 1x1 stride-1 convolution), float32 in float32, bf16 in
 * native bf16 (built from x's bf16 values). Valid until the next convolution call.
 */
const void* columnsOf(const ConvParams& p, const Act& x) {
  if (p.precision == ConvPrecision::f32) {
    if (is1x1(p)) return x.p;
    float* cols = columns<float>(p.M() * p.K());
    im2col(p, x.f(), cols);
    return cols;
  }
  const uint16_t* xb = convInputBf16(p, x, false);
  if (is1x1(p)) return xb;
  uint16_t* cols = columns<uint16_t>(p.M() * p.K());
  im2col(p, xb, cols);
  return cols;
}

Napi::Value Forward(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    Act x = act(info[0], "conv2dForwardGemm x");
    float* w = f32(info[1]);
    float* b = f32OrNull(info[2]);
    Act y = act(info[3], "conv2dForwardGemm y");
    ConvParams p = readConvParams(info[4]);
    requireGemmCase(p, env);
    requireF32(env, p, {&x, &y}, "conv2dForwardGemm");
    requireLength(env, x.n, inputSize(p), "conv2dForwardGemm x");
    requireLength(env, static_cast<int64_t>(f32len(info[1])), p.K() * p.oc, "conv2dForwardGemm w");
    requireLength(env, y.n, outputSize(p), "conv2dForwardGemm y");
    if (b) requireLength(env, static_cast<int64_t>(f32len(info[2])), p.oc, "conv2dForwardGemm bias");
    bool bf16 = p.precision == ConvPrecision::bf16;
    const void* wIn = bf16 ? static_cast<const void*>(convFilterBf16(p, w)) : w;
    dt in = bf16 ? dt::bf16 : dt::f32, out = bf16 ? typeOf(y) : dt::f32;
    run(gemm(p.M(), p.K(), p.oc, false, false, b != nullptr, p.relu, in, out), columnsOf(p, x), wIn, b, y.p);
    return env.Undefined();
  });
}

Napi::Value BackwardData(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    Act dy = act(info[0], "conv2dBackwardDataGemm dy");
    float* w = f32(info[1]);
    Act dx = act(info[2], "conv2dBackwardDataGemm dx");
    ConvParams p = readConvParams(info[3]);
    requireGemmCase(p, env);
    requireF32(env, p, {&dy, &dx}, "conv2dBackwardDataGemm");
    requireLength(env, dy.n, outputSize(p), "conv2dBackwardDataGemm dy");
    requireLength(env, static_cast<int64_t>(f32len(info[1])), p.K() * p.oc, "conv2dBackwardDataGemm w");
    requireLength(env, dx.n, inputSize(p), "conv2dBackwardDataGemm dx");
    bool bf16 = p.precision == ConvPrecision::bf16;
    const void* dyIn = bf16 ? static_cast<const void*>(convInputBf16(p, dy, true)) : dy.p;
    const void* wIn = bf16 ? static_cast<const void*>(convFilterBf16(p, w)) : w;
    dt in = bf16 ? dt::bf16 : dt::f32;
    if (is1x1(p)) {
      run(gemm(p.M(), p.oc, p.K(), false, true, false, false, in, typeOf(dx)), dyIn, wIn, nullptr, dx.p);
    } else {
      float* cols = columns<float>(p.M() * p.K());
      run(gemm(p.M(), p.oc, p.K(), false, true, false, false, in, dt::f32), dyIn, wIn, nullptr, cols);
      col2im(p, cols, dx);
    }
    return env.Undefined();
  });
}

Napi::Value BackwardWeights(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    Act x = act(info[0], "conv2dBackwardWeightsGemm x");
    Act dy = act(info[1], "conv2dBackwardWeightsGemm dy");
    float* dw = f32(info[2]);
    ConvParams p = readConvParams(info[3]);
    requireGemmCase(p, env);
    requireF32(env, p, {&x, &dy}, "conv2dBackwardWeightsGemm");
    requireLength(env, x.n, inputSize(p), "conv2dBackwardWeightsGemm x");
    requireLength(env, dy.n, outputSize(p), "conv2dBackwardWeightsGemm dy");
    requireLength(env, static_cast<int64_t>(f32len(info[2])), p.K() * p.oc, "conv2dBackwardWeightsGemm dw");
    bool bf16 = p.precision == ConvPrecision::bf16;
    const void* cols = columnsOf(p, x);
    const void* dyIn = bf16 ? static_cast<const void*>(convInputBf16(p, dy, true)) : dy.p;
    run(gemm(p.K(), p.M(), p.oc, true, false, false, false, bf16 ? dt::bf16 : dt::f32, dt::f32), cols, dyIn, nullptr,
        dw);
    return env.Undefined();
  });
}

}  // namespace

void initConvGemm(Napi::Env env, Napi::Object exports) {
  exports.Set("conv2dForwardGemm", Napi::Function::New(env, Forward));
  exports.Set("conv2dBackwardDataGemm", Napi::Function::New(env, BackwardData));
  exports.Set("conv2dBackwardWeightsGemm", Napi::Function::New(env, BackwardWeights));
}

}  // namespace rn
