// Updates of variables in place, many variables per call, in tfjs's order of float32 operations (so
// the results equal tfjs's ops bit for bit; the build compiles with -ffp-contract=off so no
// multiply-add is fused).
//
// 1. The optimizer step for every variable of a model:
//   sgdUpdate(params[], grads[], accums[] | null, decays[], {learningRate, momentum, nesterov})
// per element, as tfjs's SGD and momentum optimizers compute it:
//   g = grad + param * decay                     (decay 0: g = grad)
//   plain SGD:  param = -lr * g + param
//   momentum:   acc = m * acc + g;  param = -lr * acc + param
//   Nesterov:   acc = m * acc + g;  param = -lr * (g + acc * m) + param
// tfjs needs ~6 kernels and 2 new tensors per variable for this; here it is one pass over memory.
//
// 2. Moving averages (batch norm's running mean and variance):
//   movingAverage(targets[], values[], momentum)      target = target * m + value * (1 - m)
#include "common.h"

namespace rn {
namespace {

struct Hyper {
  float negLr;  // tfjs keeps -lr as a float32 scalar
  float m;
  bool nesterov;
  bool momentum;
};

RN_SIMD void sgdLoop(float* __restrict w, const float* __restrict grad, float* __restrict acc, float decay,
                     Hyper h, int64_t n) {
  if (!h.momentum) {
    for (int64_t i = 0; i < n; i++) {
      float g = decay != 0.f ? grad[i] + w[i] * decay : grad[i];
      w[i] = h.negLr * g + w[i];
    }
  } else if (!h.nesterov) {
    for (int64_t i = 0; i < n; i++) {
      float g = decay != 0.f ? grad[i] + w[i] * decay : grad[i];
      float a = h.m * acc[i] + g;
      acc[i] = a;
      w[i] = h.negLr * a + w[i];
    }
  } else {
    for (int64_t i = 0; i < n; i++) {
      float g = decay != 0.f ? grad[i] + w[i] * decay : grad[i];
      float a = h.m * acc[i] + g;
      acc[i] = a;
      w[i] = h.negLr * (g + a * h.m) + w[i];
    }
  }
}

struct Var {
  float* w;
  const float* g;
  float* acc;
  float decay;
  int64_t n;
};

Napi::Value SgdUpdate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  require(info.Length() == 5, env, "sgdUpdate: expected (params, grads, accums, decays, hyper)");
  require(info[0].IsArray() && info[1].IsArray() && info[3].IsArray(), env,
          "sgdUpdate: params, grads and decays must be arrays");
  auto params = info[0].As<Napi::Array>(), grads = info[1].As<Napi::Array>(), decays = info[3].As<Napi::Array>();
  Napi::Object o = paramObject(info[4], "sgdUpdate");
  Napi::Value lrV = o.Get("learningRate"), mV = o.Get("momentum");
  require(lrV.IsNumber() && mV.IsNumber(), env, "sgdUpdate: 'learningRate' and 'momentum' must be numbers");
  Hyper h{static_cast<float>(-f64(lrV)), static_cast<float>(f64(mV)), boolField(o, "sgdUpdate", "nesterov"),
          !info[2].IsNull()};
  require(!h.nesterov || h.momentum, env, "sgdUpdate: nesterov needs momentum accumulators");
  uint32_t count = params.Length();
  require(grads.Length() == count && decays.Length() == count, env, "sgdUpdate: params, grads, decays differ in length");
  Napi::Array accs = h.momentum ? info[2].As<Napi::Array>() : Napi::Array();
  require(!h.momentum || accs.Length() == count, env, "sgdUpdate: accums and params differ in length");

  std::vector<Var> vars(count);
  int64_t total = 0;
  for (uint32_t k = 0; k < count; k++) {
    Napi::Value p = params.Get(k), g = grads.Get(k);
    Var& v = vars[k];
    v.w = f32(p);
    v.g = f32(g);
    v.n = static_cast<int64_t>(f32len(p));
    require(static_cast<int64_t>(f32len(g)) == v.n, env, "sgdUpdate: a gradient's length differs from its variable's");
    v.acc = nullptr;
    if (h.momentum) {
      Napi::Value a = accs.Get(k);
      v.acc = f32(a);
      require(static_cast<int64_t>(f32len(a)) == v.n, env, "sgdUpdate: an accumulator's length differs from its variable's");
    }
    v.decay = static_cast<float>(f64(decays.Get(k)));
    total += v.n;
  }
  // One parallel region; each thread takes its share of every variable (no barrier between them).
#pragma omp parallel num_threads(threadsFor(total))
  {
    int t = omp_get_thread_num(), T = omp_get_num_threads();
    for (const Var& v : vars) {
      int64_t i0 = v.n * t / T, i1 = v.n * (t + 1) / T;
      if (i1 > i0) sgdLoop(v.w + i0, v.g + i0, v.acc ? v.acc + i0 : nullptr, v.decay, h, i1 - i0);
    }
  }
  return env.Undefined();
}

Napi::Value MovingAverage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  require(info.Length() == 3 && info[0].IsArray() && info[1].IsArray() && info[2].IsNumber(), env,
          "movingAverage: expected (targets, values, momentum)");
  auto targets = info[0].As<Napi::Array>(), values = info[1].As<Napi::Array>();
  require(targets.Length() == values.Length(), env, "movingAverage: targets and values differ in length");
  double md = f64(info[2]);
  // tfjs: add(mul(target, m), mul(value, 1 - m)), each scalar a float32
  const float m = static_cast<float>(md), rest = static_cast<float>(1.0 - md);
  for (uint32_t k = 0; k < targets.Length(); k++) {
    float* t = f32(targets.Get(k));
    const float* v = f32(values.Get(k));
    size_t n = f32len(targets.Get(k));
    require(f32len(values.Get(k)) == n, env, "movingAverage: a value's length differs from its target's");
    for (size_t i = 0; i < n; i++) t[i] = t[i] * m + v[i] * rest;  // small (per-channel): one thread
  }
  return env.Undefined();
}

}  // namespace

void initInPlace(Napi::Env env, Napi::Object exports) {
  exports.Set("sgdUpdate", Napi::Function::New(env, SgdUpdate));
  exports.Set("movingAverage", Napi::Function::New(env, MovingAverage));
}

}  // namespace rn
