// bfloat16 for the convolutions' mixed precision (ConvParams::precision):
//  - conversion of float32 arrays, rounding to nearest even like oneDNN and PyTorch (NaN stays NaN);
//  - whether oneDNN can run a bf16 convolution on this CPU.
#pragma once
#include <cstring>

#include "common.h"

namespace rn {

/** How a convolution treats its inputs (JS: the onednn back end's precision; 0 = float32). */
enum class ConvPrecision : int64_t {
  f32 = 0,
  bf16 = 1,          // oneDNN bf16 primitives: bf16 inputs, float32 accumulation and outputs
  bf16Emulated = 2,  // inputs rounded to bf16 but kept in float32, float32 primitives: bf16's numerics anywhere
};

inline uint16_t bf16Bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

/**
 * y[i] = bf16(x[i]) on the calling thread (inside parallel loops). On a CPU with avx512_bf16 the hardware
 * conversion, which also rounds to nearest even but turns subnormal values into zero; bf16Bits elsewhere.
 */
void toBf16Chunk(const float* x, uint16_t* y, int64_t n);
/** y[i] = float(b[i]): bf16 bits widened to float32 (exact), on the calling thread. */
void widenChunk(const uint16_t* b, float* y, int64_t n);
/** y[i] = float(b[i]) on every core for large arrays. */
void widen(const uint16_t* b, float* y, int64_t n);

/** A float32 scratch of at least n elements owned by the calling thread (OpenMP threads persist). */
float* threadScratch(int slot, int64_t n);

/** Element i of a float32 or a bf16 array as float32 (bf16: exact), for loops templated on the element type. */
inline float ld(const float* p, int64_t i) { return p[i]; }
inline float ld(const uint16_t* p, int64_t i) {
  uint32_t u = static_cast<uint32_t>(p[i]) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

/** f(p) with a's data as `const float*` or `const uint16_t*`: one instantiation of a loop per element type. */
template <typename F>
void withData(const Act& a, F f) {
  if (a.bf16) f(static_cast<const uint16_t*>(a.p));
  else f(static_cast<const float*>(a.p));
}

/** Elements [off, off + n) of activation a as float32: a's own memory, or its bf16 values widened into tmp. */
inline const float* readF32(const Act& a, int64_t off, int64_t n, float* tmp) {
  if (!a.bf16) return a.f() + off;
  widenChunk(a.h() + off, tmp, n);
  return tmp;
}
/** Where to compute elements [off, ...) of output y: y's own memory, or tmp when y is bf16 (then commitF32). */
inline float* writeF32(const Act& y, int64_t off, float* tmp) { return y.bf16 ? tmp : y.f() + off; }
/** Stores what writeF32 pointed at: rounds tmp into y's bf16 elements [off, off + n) (nothing for float32). */
inline void commitF32(const Act& y, int64_t off, int64_t n, const float* tmp) {
  if (y.bf16) toBf16Chunk(tmp, y.h() + off, n);
}

/** y[i] = bf16(x[i]) (toBf16Chunk's rounding), on every core for large arrays. */
void toBf16(const float* x, uint16_t* y, int64_t n);
/** y[i] = float(bf16(x[i])) (y may be x). */
void roundThroughBf16(const float* x, float* y, int64_t n);

/** True when oneDNN creates a bf16 convolution here; `impl` gets its implementation name, or the error. */
bool bf16ConvSupported(std::string* impl);

}  // namespace rn
