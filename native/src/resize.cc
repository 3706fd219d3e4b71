// Bilinear resize of NHWC images with the exact arithmetic of tfjs's cpu kernel (double source coordinates):
//   resizeBilinear(x, y, p), p = ResizeParams of addon.ts (read by name)
#include <cmath>

#include "common.h"

namespace rn {
namespace {

Napi::Value ResizeBilinear(const Napi::CallbackInfo& info) {
  const float* x = f32(info[0]);
  float* y = f32(info[1]);
  const char* what = "resize params";
  Napi::Object o = paramObject(info[2], what);
  const int64_t n = intField(o, what, "batch"), h = intField(o, what, "inHeight"), w = intField(o, what, "inWidth"),
                c = intField(o, what, "channels"), nh = intField(o, what, "outHeight"),
                nw = intField(o, what, "outWidth");
  const bool align = boolField(o, what, "alignCorners"), half = boolField(o, what, "halfPixelCenters");
  const double rowRatio = static_cast<double>((align && nh > 1) ? h - 1 : h) / ((align && nh > 1) ? nh - 1 : nh);
  const double colRatio = static_cast<double>((align && nw > 1) ? w - 1 : w) / ((align && nw > 1) ? nw - 1 : nw);
  const int64_t rows = n * nh;
#pragma omp parallel for num_threads(threadsFor(rows * nw * c * 4)) schedule(static)
  for (int64_t rr = 0; rr < rows; rr++) {
    int64_t b = rr / nh, row = rr % nh;
    double fr = half ? rowRatio * (row + 0.5) - 0.5 : rowRatio * row;
    int64_t r0 = std::max<int64_t>(0, static_cast<int64_t>(std::floor(fr)));
    double rowFrac = fr - r0;
    int64_t r1 = std::min<int64_t>(h - 1, static_cast<int64_t>(std::ceil(fr)));
    const float* top = x + (b * h + r0) * w * c;
    const float* bot = x + (b * h + r1) * w * c;
    float* out = y + rr * nw * c;
    for (int64_t col = 0; col < nw; col++) {
      double fc = half ? colRatio * (col + 0.5) - 0.5 : colRatio * col;
      int64_t c0 = std::max<int64_t>(0, static_cast<int64_t>(std::floor(fc)));
      double colFrac = fc - c0;
      int64_t c1 = std::min<int64_t>(w - 1, static_cast<int64_t>(std::ceil(fc)));
      for (int64_t d = 0; d < c; d++) {
        double tl = top[c0 * c + d], tr = top[c1 * c + d], bl = bot[c0 * c + d], br = bot[c1 * c + d];
        double t = tl + (tr - tl) * colFrac;
        double bo = bl + (br - bl) * colFrac;
        out[col * c + d] = static_cast<float>(t + (bo - t) * rowFrac);
      }
    }
  }
  return info.Env().Undefined();
}

}  // namespace

void initResize(Napi::Env env, Napi::Object exports) {
  exports.Set("resizeBilinear", Napi::Function::New(env, ResizeBilinear));
}

}  // namespace rn
