// Training-mode batch normalisation over every axis but the last (x viewed as [M, C]):
//   batchNormTrain(x, scale, offset, y, mean, variance, C, eps, relu)
//   batchNormTrainGrad(dy, x, scale, mean, variance, dx, dScale, dOffset, C, eps, y|null)
//   channelAffine(x, a, b, y, C, relu)   y = x * a + b per channel (inference batch norm, statistics folded into a, b)
// relu: y = max(x * a + b, 0) in the same pass (BN followed by ReLU, as every block but the last BN has it).
// The gradient of that fused op gets the forward output y and treats dy as 0 where y <= 0, again in the
// same passes: no ReLU output, no ReLU-gradient tensor, two fewer sweeps over the activation each way.
// Statistics: one pass (sums shifted by the first row against cancellation, float partials per block of rows
// flushed into double per-thread totals); output: one pass. Backward: one pass for the two sums, one for dx.
// Activations (x, y, dy, dx) may be bf16 (Uint16Array): read as such (widened in registers), written a block of
// rows at a time through a per-thread float32 scratch; the arithmetic is the float32 code's, the bytes halve.
#include <cmath>
#include <vector>

#include "bf16.h"

namespace rn {
namespace {

constexpr int64_t kBlock = 64;  // rows accumulated in float before flushing to double

// The loops are templated on the activations' element types (float or bf16 bits, read through ld()) so a
// bf16 input is widened in registers, not in a separate pass; outputs are float32 (the caller rounds them
// into a bf16 output, writeF32 / commitF32).
template <typename TX>
RN_SIMD void statsBlock(const TX* __restrict x, const float* __restrict k, int64_t rows, int64_t c,
                        float* __restrict s1, float* __restrict s2) {
  for (int64_t r = 0; r < rows; r++) {
    const TX* xr = x + r * c;
    for (int64_t j = 0; j < c; j++) {
      float v = ld(xr, j) - k[j];
      s1[j] += v;
      s2[j] += v * v;
    }
  }
}

template <typename TG, typename TX>
RN_SIMD void gradSumsBlock(const TG* __restrict dy, const TX* __restrict x, const float* __restrict mean,
                           int64_t rows, int64_t c, float* __restrict s1, float* __restrict s2) {
  for (int64_t r = 0; r < rows; r++) {
    const TX* xr = x + r * c;
    const TG* gr = dy + r * c;
    for (int64_t j = 0; j < c; j++) {
      float g = ld(gr, j);
      s1[j] += g;
      s2[j] += g * (ld(xr, j) - mean[j]);
    }
  }
}

template <typename TG, typename TX, typename TY>
RN_SIMD void gradSumsBlockMasked(const TG* __restrict dy, const TX* __restrict x, const TY* __restrict y,
                                 const float* __restrict mean, int64_t rows, int64_t c, float* __restrict s1,
                                 float* __restrict s2) {
  for (int64_t r = 0; r < rows; r++) {
    const TX* xr = x + r * c;
    const TG* gr = dy + r * c;
    const TY* yr = y + r * c;
    for (int64_t j = 0; j < c; j++) {
      // both loads unconditional: a bf16 load under the condition keeps GCC from vectorizing the loop
      float g = ld(gr, j), yv = ld(yr, j);
      g = yv > 0.f ? g : 0.f;
      s1[j] += g;
      s2[j] += g * (ld(xr, j) - mean[j]);
    }
  }
}

template <bool RELU, typename TX>
RN_SIMD void affineRows(const TX* __restrict x, const float* __restrict a, const float* __restrict b, int64_t rows,
                        int64_t c, float* __restrict y) {
  for (int64_t r = 0; r < rows; r++) {
    const TX* xr = x + r * c;
    float* yr = y + r * c;
    for (int64_t j = 0; j < c; j++) {
      float v = ld(xr, j) * a[j] + b[j];
      if constexpr (RELU) v = v > 0.f ? v : (v != v ? v : 0.f);  // NaN stays NaN, like tfjs's Relu
      yr[j] = v;
    }
  }
}

template <typename TG, typename TX>
RN_SIMD void gradRows(const TG* __restrict dy, const TX* __restrict x, const float* __restrict k1,
                      const float* __restrict k2, const float* __restrict k3, int64_t rows, int64_t c,
                      float* __restrict dx) {
  for (int64_t r = 0; r < rows; r++) {
    const TX* xr = x + r * c;
    const TG* gr = dy + r * c;
    float* dr = dx + r * c;
    for (int64_t j = 0; j < c; j++) dr[j] = k1[j] * ld(gr, j) + k2[j] * ld(xr, j) + k3[j];
  }
}

template <typename TG, typename TX, typename TY>
RN_SIMD void gradRowsMasked(const TG* __restrict dy, const TX* __restrict x, const TY* __restrict y,
                            const float* __restrict k1, const float* __restrict k2, const float* __restrict k3,
                            int64_t rows, int64_t c, float* __restrict dx) {
  for (int64_t r = 0; r < rows; r++) {
    const TX* xr = x + r * c;
    const TG* gr = dy + r * c;
    const TY* yr = y + r * c;
    float* dr = dx + r * c;
    for (int64_t j = 0; j < c; j++) {
      float g = ld(gr, j), yv = ld(yr, j);  // unconditional loads, as above
      dr[j] = k1[j] * (yv > 0.f ? g : 0.f) + k2[j] * ld(xr, j) + k3[j];
    }
  }
}

/** Per-channel sums of f(block) over all rows, reduced across threads in double. */
template <typename F>
void channelSums(int64_t m, int64_t c, std::vector<double>& t1, std::vector<double>& t2, F block) {
  int nt = threadsFor(m * c);
  std::vector<double> part(static_cast<size_t>(nt) * 2 * c, 0.0);
#pragma omp parallel num_threads(nt)
  {
    int t = omp_get_thread_num(), T = omp_get_num_threads();
    int64_t r0 = m * t / T, r1 = m * (t + 1) / T;
    std::vector<float> s1(c), s2(c);
    double* d1 = &part[static_cast<size_t>(t) * 2 * c];
    double* d2 = d1 + c;
    for (int64_t r = r0; r < r1; r += kBlock) {
      int64_t rows = std::min(kBlock, r1 - r);
      std::fill(s1.begin(), s1.end(), 0.f);
      std::fill(s2.begin(), s2.end(), 0.f);
      block(r, rows, s1.data(), s2.data());
      for (int64_t j = 0; j < c; j++) {
        d1[j] += s1[j];
        d2[j] += s2[j];
      }
    }
  }
  t1.assign(c, 0.0);
  t2.assign(c, 0.0);
  for (int t = 0; t < nt; t++)
    for (int64_t j = 0; j < c; j++) {
      t1[j] += part[static_cast<size_t>(t) * 2 * c + j];
      t2[j] += part[static_cast<size_t>(t) * 2 * c + c + j];
    }
}

/** Calls f(r, rows) for consecutive blocks of at most kBlock rows of [r0, r0 + n). */
template <typename F>
void rowBlocks(int64_t r0, int64_t n, F f) {
  for (int64_t r = r0; r < r0 + n; r += kBlock) f(r, std::min(kBlock, r0 + n - r));
}

void affine(const Act& x, const float* a, const float* b, int64_t m, int64_t c, const Act& y, bool relu) {
  forChunks(m, m * c, [&](int64_t r0, int64_t n) {
    float* ty = threadScratch(1, kBlock * c);
    rowBlocks(r0, n, [&](int64_t r, int64_t rows) {
      float* yr = writeF32(y, r * c, ty);
      withData(x, [&](auto xp) {
        if (relu)
          affineRows<true>(xp + r * c, a, b, rows, c, yr);
        else
          affineRows<false>(xp + r * c, a, b, rows, c, yr);
      });
      commitF32(y, r * c, rows * c, yr);
    });
  });
}

Napi::Value Forward(const Napi::CallbackInfo& info) {
  Act x = act(info[0], "batchNormTrain x");
  const float* scale = f32(info[1]);
  const float* offset = f32(info[2]);
  Act y = act(info[3], "batchNormTrain y");
  float* mean = f32(info[4]);
  float* var = f32(info[5]);
  int64_t c = i64(info[6]);
  double eps = f64(info[7]);
  bool relu = info.Length() > 8 && info[8].ToBoolean().Value();
  require(c > 0 && x.n >= c, info.Env(), "batchNormTrain: empty input");
  require(y.n == x.n, info.Env(), "batchNormTrain: x and y differ in length");
  int64_t m = x.n / c;
  std::vector<float> k(c);  // shift: the first row
  if (x.bf16) widenChunk(x.h(), k.data(), c);
  else std::copy_n(x.f(), c, k.data());
  std::vector<double> t1, t2;
  channelSums(m, c, t1, t2, [&](int64_t r, int64_t rows, float* s1, float* s2) {
    withData(x, [&](auto xp) { statsBlock(xp + r * c, k.data(), rows, c, s1, s2); });
  });
  std::vector<float> a(c), b(c);
  for (int64_t j = 0; j < c; j++) {
    double d = t1[j] / m;
    double mu = k[j] + d;
    double v = std::max(t2[j] / m - d * d, 0.0);
    mean[j] = static_cast<float>(mu);
    var[j] = static_cast<float>(v);
    double aj = scale[j] / std::sqrt(v + eps);
    a[j] = static_cast<float>(aj);
    b[j] = static_cast<float>(offset[j] - mu * aj);
  }
  affine(x, a.data(), b.data(), m, c, y, relu);
  return info.Env().Undefined();
}

Napi::Value Backward(const Napi::CallbackInfo& info) {
  Act dy = act(info[0], "batchNormTrainGrad dy");
  Act x = act(info[1], "batchNormTrainGrad x");
  const float* scale = f32(info[2]);
  const float* mean = f32(info[3]);
  const float* var = f32(info[4]);
  Act dx = act(info[5], "batchNormTrainGrad dx");
  float* dScale = f32(info[6]);
  float* dOffset = f32(info[7]);
  int64_t c = i64(info[8]);
  double eps = f64(info[9]);
  // set: the forward fused a ReLU, and y is its output
  bool masked = info.Length() > 10 && !info[10].IsNull() && !info[10].IsUndefined();
  Act y = masked ? act(info[10], "batchNormTrainGrad y") : Act{};
  require(c > 0 && x.n >= c, info.Env(), "batchNormTrainGrad: empty input");
  require(!masked || y.n == x.n, info.Env(), "batchNormTrainGrad: y and x differ in length");
  require(dy.n == x.n && dx.n == x.n, info.Env(), "batchNormTrainGrad: dy, x and dx differ in length");
  int64_t m = x.n / c;
  std::vector<double> t1, t2;
  channelSums(m, c, t1, t2, [&](int64_t r, int64_t rows, float* s1, float* s2) {
    int64_t off = r * c;
    withData(dy, [&](auto gp) {
      withData(x, [&](auto xp) {
        if (masked)
          withData(y, [&](auto yp) { gradSumsBlockMasked(gp + off, xp + off, yp + off, mean, rows, c, s1, s2); });
        else
          gradSumsBlock(gp + off, xp + off, mean, rows, c, s1, s2);
      });
    });
  });
  std::vector<float> k1(c), k2(c), k3(c);
  for (int64_t j = 0; j < c; j++) {
    double inv = 1.0 / std::sqrt(static_cast<double>(var[j]) + eps);
    double dOff = t1[j];
    double dSc = t2[j] * inv;
    dOffset[j] = static_cast<float>(dOff);
    dScale[j] = static_cast<float>(dSc);
    // dx = scale*inv/m * (m*dy - dOff - xhat*dSc), xhat = (x-mean)*inv
    double g = scale[j] * inv;
    double kk2 = -g * inv * dSc / m;
    k1[j] = static_cast<float>(g);
    k2[j] = static_cast<float>(kk2);
    k3[j] = static_cast<float>(-g * dOff / m - kk2 * mean[j]);
  }
  forChunks(m, m * c, [&](int64_t r0, int64_t n) {
    rowBlocks(r0, n, [&](int64_t r, int64_t rows) {
      int64_t off = r * c, len = rows * c;
      float* dr = writeF32(dx, off, threadScratch(3, kBlock * c));
      withData(dy, [&](auto gp) {
        withData(x, [&](auto xp) {
          if (masked)
            withData(y, [&](auto yp) {
              gradRowsMasked(gp + off, xp + off, yp + off, k1.data(), k2.data(), k3.data(), rows, c, dr);
            });
          else
            gradRows(gp + off, xp + off, k1.data(), k2.data(), k3.data(), rows, c, dr);
        });
      });
      commitF32(dx, off, len, dr);
    });
  });
  return info.Env().Undefined();
}

/** y = x * a[c] + b[c] over rows of C channels (inference batch norm with folded statistics). */
Napi::Value ChannelAffine(const Napi::CallbackInfo& info) {
  Act x = act(info[0], "channelAffine x");
  const float* a = f32(info[1]);
  const float* b = f32(info[2]);
  Act y = act(info[3], "channelAffine y");
  int64_t c = i64(info[4]);
  bool relu = info.Length() > 5 && info[5].ToBoolean().Value();
  int64_t n = x.n;
  require(c > 0 && n % c == 0 && static_cast<int64_t>(f32len(info[1])) == c &&
              static_cast<int64_t>(f32len(info[2])) == c && y.n == n,
          info.Env(), "channelAffine: bad shapes");
  affine(x, a, b, n / c, c, y, relu);
  return info.Env().Undefined();
}

}  // namespace

void initBatchNorm(Napi::Env env, Napi::Object exports) {
  exports.Set("batchNormTrain", Napi::Function::New(env, Forward));
  exports.Set("batchNormTrainGrad", Napi::Function::New(env, Backward));
  exports.Set("channelAffine", Napi::Function::New(env, ChannelAffine));
}

}  // namespace rn
