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

/** y[i] = bf16(x[i]), on every core for large arrays. */
void toBf16(const float* x, uint16_t* y, int64_t n);
/** y[i] = float(bf16(x[i])) (y may be x). */
void roundThroughBf16(const float* x, float* y, int64_t n);

/** True when oneDNN creates a bf16 convolution here; `impl` gets its implementation name, or the error. */
bool bf16ConvSupported(std::string* impl);

}  // namespace rn
