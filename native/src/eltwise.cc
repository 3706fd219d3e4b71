// Element-wise float32 kernels, OpenMP + multi-ISA loops.
//   binary(op, a, b, out, inner = 1)
//                           one operand is full (|out| values), the other s repeats: s[(i / inner) % |s|]. inner 1:
//                           same shape, scalar, or a trailing-axes operand such as a [C] bias over [..., C];
//                           inner > 1: an inner-axes broadcast such as [N, 1] over [N, C] (inner C). The caller
//                           checks shapes.
//   unary(op, x, out, alpha)
//   reluGrad(dy, x, out)    out = x > 0 ? dy : 0
//   addRelu(a, b, out)      out = max(a + b, 0): a residual block's add and ReLU in one pass (same-length operands)
// binary's same-length operands, unary's x and out, reluGrad's and addRelu's operands and outputs may be bf16
// activations (Uint16Array): read as such by loops templated on the element type, bf16 outputs written a block
// at a time through a float32 scratch.
#include <cmath>

#include "bf16.h"

namespace rn {
namespace {

enum Bin { kAdd = 0, kSub = 1, kMul = 2, kDiv = 3, kMax = 4, kMin = 5, kSqDiff = 6 };
enum Un { kRelu = 0, kStep = 1, kNeg = 2, kSquare = 3, kSqrt = 4, kRsqrt = 5, kExp = 6, kLog = 7, kAbs = 8 };

template <int OP>
inline float apply(float a, float b) {
  if constexpr (OP == kAdd) return a + b;
  if constexpr (OP == kSub) return a - b;
  if constexpr (OP == kMul) return a * b;
  if constexpr (OP == kDiv) return a / b;
  if constexpr (OP == kMax) return a > b ? a : b;
  if constexpr (OP == kMin) return a < b ? a : b;
  if constexpr (OP == kSqDiff) return (a - b) * (a - b);
  return 0;
}

// Same-length operands, a scalar operand, or a periodic (trailing-broadcast) operand.
template <int OP>
RN_SIMD void full(const float* __restrict a, const float* __restrict b, float* __restrict o, int64_t n) {
  for (int64_t i = 0; i < n; i++) o[i] = apply<OP>(a[i], b[i]);
}
template <int OP>
RN_SIMD void scalarB(const float* __restrict a, float b, float* __restrict o, int64_t n) {
  for (int64_t i = 0; i < n; i++) o[i] = apply<OP>(a[i], b);
}
template <int OP>
RN_SIMD void scalarA(float a, const float* __restrict b, float* __restrict o, int64_t n) {
  for (int64_t i = 0; i < n; i++) o[i] = apply<OP>(a, b[i]);
}

template <int OP>
void run(const float* a, int64_t na, const float* b, int64_t nb, float* o, int64_t n, int64_t inner) {
  if (inner > 1 && (na != n || nb != n)) {
    // inner-axes broadcast: the small operand holds one value per run of `inner` outputs
    bool bSmall = na == n;
    int64_t ns = bSmall ? nb : na;
    int64_t runs = n / inner;
#pragma omp parallel for num_threads(threadsFor(n)) schedule(static)
    for (int64_t r = 0; r < runs; r++) {
      if (bSmall)
        scalarB<OP>(a + r * inner, b[r % ns], o + r * inner, inner);
      else
        scalarA<OP>(a[r % ns], b + r * inner, o + r * inner, inner);
    }
  } else if (na == n && nb == n) {
    forChunks(n, [&](int64_t i0, int64_t k) { full<OP>(a + i0, b + i0, o + i0, k); });
  } else if (nb == 1 && na == n) {
    float bv = b[0];
    forChunks(n, [&](int64_t i0, int64_t k) { scalarB<OP>(a + i0, bv, o + i0, k); });
  } else if (na == 1 && nb == n) {
    float av = a[0];
    forChunks(n, [&](int64_t i0, int64_t k) { scalarA<OP>(av, b + i0, o + i0, k); });
  } else {
    // periodic: one operand repeats every p elements; rows of length p
    bool bPer = na == n;
    int64_t p = bPer ? nb : na;
    int64_t rows = n / p;
#pragma omp parallel for num_threads(threadsFor(n)) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
      if (bPer)
        full<OP>(a + r * p, b, o + r * p, p);
      else
        full<OP>(a, b + r * p, o + r * p, p);
    }
  }
}

constexpr int64_t kChunk = 4096;  // elements per block when an operand is bf16

/** Calls f(i, k) for consecutive blocks of at most kChunk elements of [i0, i0 + n). */
template <typename F>
void blocks(int64_t i0, int64_t n, F f) {
  for (int64_t i = i0; i < i0 + n; i += kChunk) f(i, std::min(kChunk, i0 + n - i));
}

// Same-length operands of which one or both are bf16 activations (e.g. gradients accumulated where a
// block's input feeds two branches): widened a block at a time, float32 out.
template <int OP, typename TA, typename TB>
RN_SIMD void fullMixed(const TA* __restrict a, const TB* __restrict b, float* __restrict o, int64_t n) {
  for (int64_t i = 0; i < n; i++) o[i] = apply<OP>(ld(a, i), ld(b, i));
}

template <int OP>
void runBf16(const Act& a, const Act& b, float* o, int64_t n) {
  forChunks(n, [&](int64_t i0, int64_t k) {
    withData(a, [&](auto ap) { withData(b, [&](auto bp) { fullMixed<OP>(ap + i0, bp + i0, o + i0, k); }); });
  });
}

Napi::Value BinaryBf16(const Napi::CallbackInfo& info, int op, const Act& a, const Act& b) {
  float* o = f32(info[3]);
  int64_t n = f32len(info[3]);
  bool inner1 = info.Length() <= 4 || info[4].IsUndefined() || i64(info[4]) == 1;
  require(a.n == n && b.n == n && inner1, info.Env(), "binary: a bf16 operand needs operands of the output's length");
  switch (op) {
    case kAdd: runBf16<kAdd>(a, b, o, n); break;
    case kSub: runBf16<kSub>(a, b, o, n); break;
    case kMul: runBf16<kMul>(a, b, o, n); break;
    case kDiv: runBf16<kDiv>(a, b, o, n); break;
    case kMax: runBf16<kMax>(a, b, o, n); break;
    case kMin: runBf16<kMin>(a, b, o, n); break;
    case kSqDiff: runBf16<kSqDiff>(a, b, o, n); break;
    default: throw Napi::Error::New(info.Env(), "binary: unknown op");
  }
  return info.Env().Undefined();
}

Napi::Value Binary(const Napi::CallbackInfo& info) {
  int op = static_cast<int>(i64(info[0]));
  Act aa = act(info[1], "binary a"), ba = act(info[2], "binary b");
  if (aa.bf16 || ba.bf16) return BinaryBf16(info, op, aa, ba);
  const float* a = aa.f();
  const float* b = ba.f();
  float* o = f32(info[3]);
  int64_t na = aa.n, nb = ba.n, n = f32len(info[3]);
  int64_t inner = info.Length() > 4 && !info[4].IsUndefined() ? i64(info[4]) : 1;
  require(na > 0 && nb > 0 && n % na == 0 && n % nb == 0 && (na == n || nb == n), info.Env(),
          "binary: unsupported broadcast");
  require(inner >= 1 && n % inner == 0 && (n / inner) % (na == n ? nb : na) == 0, info.Env(),
          "binary: inner must be >= 1 and divide |out| into runs that the small operand divides");
  switch (op) {
    case kAdd: run<kAdd>(a, na, b, nb, o, n, inner); break;
    case kSub: run<kSub>(a, na, b, nb, o, n, inner); break;
    case kMul: run<kMul>(a, na, b, nb, o, n, inner); break;
    case kDiv: run<kDiv>(a, na, b, nb, o, n, inner); break;
    case kMax: run<kMax>(a, na, b, nb, o, n, inner); break;
    case kMin: run<kMin>(a, na, b, nb, o, n, inner); break;
    case kSqDiff: run<kSqDiff>(a, na, b, nb, o, n, inner); break;
    default: throw Napi::Error::New(info.Env(), "binary: unknown op");
  }
  return info.Env().Undefined();
}

template <int OP, typename TX>
RN_SIMD void unaryLoop(const TX* __restrict x, float* __restrict o, int64_t n, float alpha) {
  for (int64_t i = 0; i < n; i++) {
    float v = ld(x, i);
    if constexpr (OP == kRelu) o[i] = v > 0.f ? v : (v != v ? v : 0.f);  // NaN stays NaN, like tfjs
    if constexpr (OP == kStep) o[i] = v > 0.f ? 1.f : (v != v ? v : alpha);
    if constexpr (OP == kNeg) o[i] = -v;
    if constexpr (OP == kSquare) o[i] = v * v;
    if constexpr (OP == kSqrt) o[i] = std::sqrt(v);
    if constexpr (OP == kRsqrt) o[i] = 1.f / std::sqrt(v);
    if constexpr (OP == kExp) o[i] = std::exp(v);
    if constexpr (OP == kLog) o[i] = std::log(v);
    if constexpr (OP == kAbs) o[i] = std::fabs(v);
  }
}

template <int OP>
void runUnary(const Act& x, const Act& o, int64_t n, float alpha) {
  if (!x.bf16 && !o.bf16) {
    forChunks(n, [&](int64_t i0, int64_t k) { unaryLoop<OP>(x.f() + i0, o.f() + i0, k, alpha); });
    return;
  }
  forChunks(n, [&](int64_t i0, int64_t k) {
    blocks(i0, k, [&](int64_t i, int64_t len) {
      float* oi = writeF32(o, i, threadScratch(1, kChunk));
      withData(x, [&](auto xp) { unaryLoop<OP>(xp + i, oi, len, alpha); });
      commitF32(o, i, len, oi);
    });
  });
}

Napi::Value Unary(const Napi::CallbackInfo& info) {
  int op = static_cast<int>(i64(info[0]));
  Act x = act(info[1], "unary x");
  Act o = act(info[2], "unary out");
  float alpha = info.Length() > 3 ? static_cast<float>(f64(info[3])) : 0.f;
  int64_t n = x.n;
  require(o.n == n, info.Env(), "unary: length mismatch");
  switch (op) {
    case kRelu: runUnary<kRelu>(x, o, n, alpha); break;
    case kStep: runUnary<kStep>(x, o, n, alpha); break;
    case kNeg: runUnary<kNeg>(x, o, n, alpha); break;
    case kSquare: runUnary<kSquare>(x, o, n, alpha); break;
    case kSqrt: runUnary<kSqrt>(x, o, n, alpha); break;
    case kRsqrt: runUnary<kRsqrt>(x, o, n, alpha); break;
    case kExp: runUnary<kExp>(x, o, n, alpha); break;
    case kLog: runUnary<kLog>(x, o, n, alpha); break;
    case kAbs: runUnary<kAbs>(x, o, n, alpha); break;
    default: throw Napi::Error::New(info.Env(), "unary: unknown op");
  }
  return info.Env().Undefined();
}

template <typename TG, typename TX>
RN_SIMD void reluGradLoop(const TG* __restrict dy, const TX* __restrict x, float* __restrict o, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    float g = ld(dy, i), v = ld(x, i);  // both loads unconditional: a bf16 load under the condition stays scalar
    o[i] = v > 0.f ? g : 0.f;
  }
}

Napi::Value ReluGrad(const Napi::CallbackInfo& info) {
  Act dy = act(info[0], "reluGrad dy");
  Act x = act(info[1], "reluGrad x");
  Act o = act(info[2], "reluGrad out");
  int64_t n = dy.n;
  require(x.n == n && o.n == n, info.Env(), "reluGrad: dy, x and out differ in length");
  forChunks(n, [&](int64_t i0, int64_t k) {
    blocks(i0, k, [&](int64_t i, int64_t len) {
      float* oi = writeF32(o, i, threadScratch(2, kChunk));
      withData(dy, [&](auto gp) { withData(x, [&](auto xp) { reluGradLoop(gp + i, xp + i, oi, len); }); });
      commitF32(o, i, len, oi);
    });
  });
  return info.Env().Undefined();
}

template <typename TA, typename TB>
RN_SIMD void addReluLoop(const TA* __restrict a, const TB* __restrict b, float* __restrict o, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    float v = ld(a, i) + ld(b, i);
    o[i] = v > 0.f ? v : (v != v ? v : 0.f);  // NaN stays NaN, like tfjs's Relu
  }
}

Napi::Value AddRelu(const Napi::CallbackInfo& info) {
  Act a = act(info[0], "addRelu a");
  Act b = act(info[1], "addRelu b");
  Act o = act(info[2], "addRelu out");
  int64_t n = o.n;
  require(a.n == n && b.n == n, info.Env(), "addRelu: operands and output differ in length");
  forChunks(n, [&](int64_t i0, int64_t k) {
    blocks(i0, k, [&](int64_t i, int64_t len) {
      float* oi = writeF32(o, i, threadScratch(2, kChunk));
      withData(a, [&](auto ap) { withData(b, [&](auto bp) { addReluLoop(ap + i, bp + i, oi, len); }); });
      commitF32(o, i, len, oi);
    });
  });
  return info.Env().Undefined();
}

}  // namespace

void initEltwise(Napi::Env env, Napi::Object exports) {
  exports.Set("binary", Napi::Function::New(env, Binary));
  exports.Set("unary", Napi::Function::New(env, Unary));
  exports.Set("reluGrad", Napi::Function::New(env, ReluGrad));
  exports.Set("addRelu", Napi::Function::New(env, AddRelu));
}

}  // namespace rn
