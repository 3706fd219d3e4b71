// Sums over a contiguous block of axes of a float32 tensor viewed as [outer, inner]:
//   sumLeading(x, out, inner)    out[j] = sum_r x[r, j]   (e.g. bias gradients: NHWC summed over N, H, W)
//   sumTrailing(x, out, inner)   out[r] = sum_j x[r, j]
// Float partials per block of rows, per-thread double totals. sumLeading's x may be a bf16 activation (the bias
// gradients of the bf16 precisions sum the bf16 output gradient), widened a block of rows at a time.
#include <vector>

#include "bf16.h"

namespace rn {
namespace {

RN_SIMD void addRows(const float* __restrict x, int64_t rows, int64_t inner, float* __restrict acc) {
  for (int64_t r = 0; r < rows; r++)
    for (int64_t j = 0; j < inner; j++) acc[j] += x[r * inner + j];
}

RN_SIMD double rowSum(const float* __restrict x, int64_t n) {
  // 16 float lanes, flushed to double every 1024 elements
  double total = 0;
  for (int64_t i0 = 0; i0 < n; i0 += 1024) {
    int64_t i1 = std::min(n, i0 + 1024);
    float s = 0.f;
    for (int64_t i = i0; i < i1; i++) s += x[i];
    total += s;
  }
  return total;
}

Napi::Value SumLeading(const Napi::CallbackInfo& info) {
  Act x = act(info[0], "sumLeading x");
  float* out = f32(info[1]);
  int64_t inner = i64(info[2]);
  int64_t n = x.n;
  require(inner > 0 && n % inner == 0, info.Env(), "sumLeading: bad shape");
  int64_t rows = n / inner;
  int nt = threadsFor(n);
  std::vector<double> part(static_cast<size_t>(nt) * inner, 0.0);
#pragma omp parallel num_threads(nt)
  {
    int t = omp_get_thread_num(), T = omp_get_num_threads();
    int64_t r0 = rows * t / T, r1 = rows * (t + 1) / T;
    std::vector<float> acc(inner);
    double* d = &part[static_cast<size_t>(t) * inner];
    for (int64_t r = r0; r < r1; r += 64) {
      int64_t k = std::min<int64_t>(64, r1 - r);
      std::fill(acc.begin(), acc.end(), 0.f);
      addRows(readF32(x, r * inner, k * inner, threadScratch(0, 64 * inner)), k, inner, acc.data());
      for (int64_t j = 0; j < inner; j++) d[j] += acc[j];
    }
  }
  for (int64_t j = 0; j < inner; j++) {
    double s = 0;
    for (int t = 0; t < nt; t++) s += part[static_cast<size_t>(t) * inner + j];
    out[j] = static_cast<float>(s);
  }
  return info.Env().Undefined();
}

Napi::Value SumTrailing(const Napi::CallbackInfo& info) {
  const float* x = f32(info[0]);
  float* out = f32(info[1]);
  int64_t inner = i64(info[2]);
  int64_t n = f32len(info[0]);
  require(inner > 0 && n % inner == 0, info.Env(), "sumTrailing: bad shape");
  int64_t rows = n / inner;
#pragma omp parallel for num_threads(threadsFor(n)) schedule(static)
  for (int64_t r = 0; r < rows; r++) out[r] = static_cast<float>(rowSum(x + r * inner, inner));
  return info.Env().Undefined();
}

}  // namespace

void initReduce(Napi::Env env, Napi::Object exports) {
  exports.Set("sumLeading", Napi::Function::New(env, SumLeading));
  exports.Set("sumTrailing", Napi::Function::New(env, SumTrailing));
}

}  // namespace rn
