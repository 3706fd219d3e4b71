// 2-D convolution as im2col + GEMM (oneDNN matmul), for the shapes where oneDNN 2.6's direct kernels are
// slow: tiny spatial sizes with many channels (3x3 maps of the last stage) and single-channel inputs
// (backward data of the 7x7 stem). Same parameters and layouts as conv.cc:
//   conv2dForwardGemm(x, w, bias|null, y, p)   conv2dBackwardDataGemm(dy, w, dx, p)
//   conv2dBackwardWeightsGemm(x, dy, dw, p)
// Columns: cols[r, (ky*KW + kx)*IC + ic], r = (n*OH + oy)*OW + ox, so HWIO filters are a [KH*KW*IC, OC] matrix.
#include <cstring>
#include <vector>

#include "conv_params.h"

namespace rn {
namespace {

using namespace dnnl;

/** Grow-only column buffer shared by all calls (execution is serial). */
float* columns(size_t floats) {
  static std::unique_ptr<float[]> buf;
  static size_t cap = 0;
  if (floats > cap) {
    cap = floats + floats / 4;
    buf.reset(new (std::align_val_t(64)) float[cap]);
  }
  return buf.get();
}

void im2col(const ConvParams& p, const float* x, float* cols) {
  const int64_t K = p.K();
#pragma omp parallel for num_threads(threadsFor(p.M() * K)) schedule(static)
  for (int64_t r = 0; r < p.M(); r++) {
    int64_t n = r / (p.oh * p.ow), rem = r % (p.oh * p.ow), oy = rem / p.ow, ox = rem % p.ow;
    float* c = cols + r * K;
    for (int64_t ky = 0; ky < p.kh; ky++) {
      int64_t iy = oy * p.sh - p.pt + ky * p.dh;
      for (int64_t kx = 0; kx < p.kw; kx++) {
        int64_t ix = ox * p.sw - p.pl + kx * p.dw;
        float* dst = c + (ky * p.kw + kx) * p.ic;
        if (iy < 0 || iy >= p.ih || ix < 0 || ix >= p.iw)
          std::memset(dst, 0, p.ic * sizeof(float));
        else
          std::memcpy(dst, x + ((n * p.ih + iy) * p.iw + ix) * p.ic, p.ic * sizeof(float));
      }
    }
  }
}

RN_SIMD void addTo(const float* __restrict s, float* __restrict d, int64_t k) {
  for (int64_t j = 0; j < k; j++) d[j] += s[j];
}

void col2im(const ConvParams& p, const float* cols, float* dx) {
  const int64_t K = p.K(), img = p.ih * p.iw * p.ic;
#pragma omp parallel for num_threads(threadsFor(p.M() * K)) schedule(static)
  for (int64_t n = 0; n < p.n; n++) {
    float* d = dx + n * img;
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
  }
}

struct Mm {
  matmul prim;
  memory::desc a, b, c, bias, scratch;
};

Cache<Mm> mmCache;

/** C[m, n] = op(A) op(B) (+ bias) (relu); ta/tb: A stored [k, m] / B stored [n, k]. */
Mm& gemm(int64_t m, int64_t k, int64_t n, bool ta, bool tb, bool bias, bool relu) {
  return mmCache.get(key(m, k, n, ta, tb, bias, relu), [&] {
    memory::desc a({m, k}, dt::f32, ta ? memory::dims{1, m} : memory::dims{k, 1});
    memory::desc b({k, n}, dt::f32, tb ? memory::dims{1, k} : memory::dims{n, 1});
    memory::desc c({m, n}, dt::f32, tag::ab);
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

void run(Mm& g, float* a, float* b, float* bias, float* c) {
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, memory(g.a, engine(), a)},
                                       {DNNL_ARG_WEIGHTS, memory(g.b, engine(), b)},
                                       {DNNL_ARG_DST, memory(g.c, engine(), c)},
                                       {DNNL_ARG_SCRATCHPAD, scratchpad(g.scratch)}};
  if (bias) args.emplace(DNNL_ARG_BIAS, memory(g.bias, engine(), bias));
  g.prim.execute(stream(), args);
  stream().wait();
}

bool is1x1(const ConvParams& p) {
  return p.kh == 1 && p.kw == 1 && p.sh == 1 && p.sw == 1 && p.pt == 0 && p.pl == 0 && p.oh == p.ih && p.ow == p.iw;
}

/** The GEMM path is float32 and ungrouped; grouped and bf16 convolutions take the direct path (conv.cc). */
void requireGemmCase(const ConvParams& p, Napi::Env env) {
  if (p.g != 1) throw Napi::Error::New(env, "conv gemm: grouped convolutions take the direct path");
  if (p.precision != ConvPrecision::f32) throw Napi::Error::New(env, "conv gemm: bf16 convolutions take the direct path");
}

Napi::Value Forward(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    float* x = f32(info[0]);
    float* w = f32(info[1]);
    float* b = f32OrNull(info[2]);
    float* y = f32(info[3]);
    ConvParams p = readConvParams(info[4]);
    requireGemmCase(p, info.Env());
    float* cols = x;
    if (!is1x1(p)) {
      cols = columns(p.M() * p.K());
      im2col(p, x, cols);
    }
    run(gemm(p.M(), p.K(), p.oc, false, false, b != nullptr, p.relu), cols, w, b, y);
    return info.Env().Undefined();
  });
}

Napi::Value BackwardData(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    float* dy = f32(info[0]);
    float* w = f32(info[1]);
    float* dx = f32(info[2]);
    ConvParams p = readConvParams(info[3]);
    requireGemmCase(p, info.Env());
    if (is1x1(p)) {
      run(gemm(p.M(), p.oc, p.K(), false, true, false, false), dy, w, nullptr, dx);
    } else {
      float* cols = columns(p.M() * p.K());
      run(gemm(p.M(), p.oc, p.K(), false, true, false, false), dy, w, nullptr, cols);
      col2im(p, cols, dx);
    }
    return info.Env().Undefined();
  });
}

Napi::Value BackwardWeights(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    float* x = f32(info[0]);
    float* dy = f32(info[1]);
    float* dw = f32(info[2]);
    ConvParams p = readConvParams(info[3]);
    requireGemmCase(p, info.Env());
    float* cols = x;
    if (!is1x1(p)) {
      cols = columns(p.M() * p.K());
      im2col(p, x, cols);
    }
    run(gemm(p.K(), p.M(), p.oc, true, false, false, false), cols, dy, nullptr, dw);
    return info.Env().Undefined();
  });
}

}  // namespace

void initConvGemm(Napi::Env env, Napi::Object exports) {
  exports.Set("conv2dForwardGemm", Napi::Function::New(env, Forward));
  exports.Set("conv2dBackwardDataGemm", Napi::Function::New(env, BackwardData));
  exports.Set("conv2dBackwardWeightsGemm", Napi::Function::New(env, BackwardWeights));
}

}  // namespace rn
