// The one description of a 2-D convolution (NHWC data, HWIO filters) shared by conv.cc and conv_gemm.cc.
// JS passes an object with named fields: ConvParams in src/backend/onednn/addon.ts (tfjs's Conv2DInfo names).
#pragma once
#include "bf16.h"
#include "common.h"

namespace rn {

struct ConvParams {
  int64_t n;       // batch
  int64_t ih, iw;  // inHeight, inWidth
  int64_t ic;      // inChannels
  int64_t oh, ow;  // outHeight, outWidth
  int64_t oc;      // outChannels
  int64_t kh, kw;  // filterHeight, filterWidth
  int64_t sh, sw;  // strideHeight, strideWidth
  int64_t dh, dw;  // dilationHeight, dilationWidth (1 = none)
  int64_t pt, pl, pb, pr;  // padTop, padLeft, padBottom, padRight
  bool relu;       // relu (forward only: fused activation)
  int64_t g;       // groups: ic and oc split into g independent convolutions (filters HWIO with I = ic / g)
  ConvPrecision precision;  // precision: float32, bf16, or bf16's rounding on float32 kernels
  int64_t stamp;   // weightsStamp: names the filter's current values (0: unknown); converted filters are
                   // cached per array under it (JS issues a new stamp when the values change)
  int64_t srcStamp = 0;      // srcStamp, diffDstStamp (optional): the same for the input x and the output
  int64_t diffDstStamp = 0;  // gradient dy, whose bf16 copies are shared by the passes that read them

  // GEMM view (conv_gemm.cc): rows = output pixels, depth = filter taps x input channels.
  int64_t M() const { return n * oh * ow; }
  int64_t K() const { return kh * kw * ic; }
};

/** Reads a ConvParams object; a missing or non-numeric field, or groups not dividing both channel counts,
 *  throws a TypeError naming it. */
ConvParams readConvParams(const Napi::Value& v);

// Native bf16 inputs for conv_gemm.cc, shared with the direct path (conv.cc), so an activation or a filter is
// converted once per step whichever method reads it:
/** Input x (dy when `isDy`) of a native-bf16 convolution as NHWC bf16 data: a bf16 array as it is, a float32
 *  one converted (once per array and stamp when the stamp is known). Valid until the next convolution call. */
const uint16_t* convInputBf16(const ConvParams& p, const Act& a, bool isDy);
/** Filter w (HWIO float32, i.e. a [kh*kw*ic, oc] matrix) converted to bf16 in the same layout (once per array
 *  and stamp; stamp 0 converts on every call). Valid until the next convolution call. */
const uint16_t* convFilterBf16(const ConvParams& p, float* w);

}  // namespace rn
