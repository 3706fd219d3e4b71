// Shared helpers: one oneDNN engine/stream, a user-managed scratchpad, a primitive cache,
// and small argument-unpacking helpers for the N-API entry points.
#pragma once
#include <napi.h>
#include <omp.h>

#include <cstdint>
#include <dnnl.hpp>
#include <list>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace rn {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

dnnl::engine& engine();
dnnl::stream& stream();

/** One growing scratchpad shared by every primitive (execution is serial on the JS thread). */
memory scratchpad(const memory::desc& md);

/** A growing, 64-byte aligned buffer per slot for converted inputs (execution is serial on the JS thread). */
void* workBuffer(int slot, size_t bytes);

/** Primitive attributes every cached primitive uses (user scratchpad). */
inline dnnl::primitive_attr baseAttr() {
  dnnl::primitive_attr a;
  a.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return a;
}

/** String key from integers, for the primitive caches. */
template <typename... A>
std::string key(A... a) {
  std::ostringstream s;
  ((s << a << ','), ...);
  return s.str();
}

/** Bounded LRU-free cache: cleared when it grows past `cap` entries (shapes in training repeat). */
template <typename T>
class Cache {
 public:
  explicit Cache(size_t cap = 512) : cap_(cap) {}
  template <typename F>
  T& get(const std::string& k, F make) {
    auto it = m_.find(k);
    if (it != m_.end()) return *it->second;
    if (m_.size() >= cap_) m_.clear();
    auto p = std::make_unique<T>(make());
    T& r = *p;
    m_.emplace(k, std::move(p));
    return r;
  }
  void clear() { m_.clear(); }

 private:
  size_t cap_;
  std::unordered_map<std::string, std::unique_ptr<T>> m_;
};

/**
 * An activation array: float32, or bf16 bits in a Uint16Array (the bf16 precisions keep convolution, batch
 * norm and residual outputs in bf16 between layers). `n` is its element count.
 */
struct Act {
  void* p = nullptr;
  bool bf16 = false;
  int64_t n = 0;
  float* f() const { return static_cast<float*>(p); }
  uint16_t* h() const { return static_cast<uint16_t*>(p); }
};

inline Act act(const Napi::Value& v, const char* what) {
  if (v.IsTypedArray()) {
    auto t = v.As<Napi::TypedArray>();
    if (t.TypedArrayType() == napi_float32_array)
      return Act{v.As<Napi::Float32Array>().Data(), false, static_cast<int64_t>(t.ElementLength())};
    if (t.TypedArrayType() == napi_uint16_array)
      return Act{v.As<Napi::Uint16Array>().Data(), true, static_cast<int64_t>(t.ElementLength())};
  }
  throw Napi::TypeError::New(v.Env(), std::string(what) + ": expected a Float32Array or a Uint16Array of bf16 bits");
}

inline float* f32(const Napi::Value& v) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(v.Env(), "expected Float32Array");
  return v.As<Napi::Float32Array>().Data();
}
inline size_t f32len(const Napi::Value& v) { return v.As<Napi::Float32Array>().ElementLength(); }
inline float* f32OrNull(const Napi::Value& v) { return (v.IsNull() || v.IsUndefined()) ? nullptr : f32(v); }
inline int64_t i64(const Napi::Value& v) { return v.As<Napi::Number>().Int64Value(); }
inline double f64(const Napi::Value& v) { return v.As<Napi::Number>().DoubleValue(); }
inline bool boolean(const Napi::Value& v) { return v.ToBoolean().Value(); }

/** A named integer field of a parameter object; missing or non-numeric throws a TypeError naming it. */
inline int64_t intField(const Napi::Object& o, const char* what, const char* name) {
  Napi::Value v = o.Get(name);
  if (!v.IsNumber())
    throw Napi::TypeError::New(o.Env(), std::string(what) + ": '" + name + "' must be a number");
  return v.As<Napi::Number>().Int64Value();
}

/** A named boolean field of a parameter object; anything but a boolean throws a TypeError naming it. */
inline bool boolField(const Napi::Object& o, const char* what, const char* name) {
  Napi::Value v = o.Get(name);
  if (!v.IsBoolean())
    throw Napi::TypeError::New(o.Env(), std::string(what) + ": '" + name + "' must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

/** The value as a parameter object (not an array: the contract is by name, not by position). */
inline Napi::Object paramObject(const Napi::Value& v, const char* what) {
  if (!v.IsObject() || v.IsArray()) throw Napi::TypeError::New(v.Env(), std::string(what) + ": expected an object");
  return v.As<Napi::Object>();
}

inline void require(bool cond, Napi::Env env, const char* msg) {
  if (!cond) throw Napi::Error::New(env, msg);
}

/** Elements below which our own loops stay single-threaded (fork/join costs more). */
constexpr int64_t kParallelMin = 1 << 17;
inline int threadsFor(int64_t work) { return work < kParallelMin ? 1 : omp_get_max_threads(); }

/**
 * Splits [0, n) into one contiguous chunk per OpenMP thread and calls f(begin, count) for each
 * non-empty chunk. `work` (elements touched, e.g. rows x channels) decides whether to use threads.
 */
template <typename F>
void forChunks(int64_t n, int64_t work, F f) {
#pragma omp parallel num_threads(threadsFor(work))
  {
    int t = omp_get_thread_num(), T = omp_get_num_threads();
    int64_t i0 = n * t / T, i1 = n * (t + 1) / T;
    if (i1 > i0) f(i0, i1 - i0);
  }
}
template <typename F>
void forChunks(int64_t n, F f) {
  forChunks(n, n, f);
}

/** Runs f and converts oneDNN errors into JS exceptions. */
template <typename F>
Napi::Value guarded(const Napi::CallbackInfo& info, F f) {
  try {
    return f();
  } catch (const dnnl::error& e) {
    throw Napi::Error::New(info.Env(), std::string("oneDNN: ") + e.what());
  }
}

void initConv(Napi::Env env, Napi::Object exports);
void initConvGemm(Napi::Env env, Napi::Object exports);
void initConvWinograd(Napi::Env env, Napi::Object exports);
void initBatchNorm(Napi::Env env, Napi::Object exports);
void initPooling(Napi::Env env, Napi::Object exports);
void initEltwise(Napi::Env env, Napi::Object exports);
void initReduce(Napi::Env env, Napi::Object exports);
void initMatmul(Napi::Env env, Napi::Object exports);
void initResize(Napi::Env env, Napi::Object exports);
void initInPlace(Napi::Env env, Napi::Object exports);
void initBf16(Napi::Env env, Napi::Object exports);

}  // namespace rn

// Hot loops are compiled for several ISAs and dispatched at load time (portable, unlike -march=native).
#define RN_SIMD __attribute__((target_clones("avx512f", "avx2", "default")))
