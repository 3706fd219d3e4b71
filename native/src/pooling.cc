// 2-D pooling, NHWC, own OpenMP loops with the semantics of tfjs's cpu kernels:
//   maxPool(x, y, p)            window max (strict '>' so the first maximum wins; -inf for empty windows)
//   maxPoolGrad(dy, x, dx, p)   dy scattered to the first maximum of each window
//   avgPool(x, y, p)            mean over the in-bounds part of the window
//   avgPoolGrad(dy, dx, p)      dy / (KH*KW) spread over the in-bounds part (as tfjs cpu does)
// p: PoolParams of src/backend/onednn/addon.ts, an object read by field name (readP).
// x may be a bf16 activation (widened a window's rows at a time), and so may maxPool's y (the max of bf16
// values is one: exact).
#include <cstring>
#include <limits>
#include <vector>

#include "bf16.h"

namespace rn {
namespace {

struct PoolP {
  int64_t n;       // batch
  int64_t ih, iw;  // inHeight, inWidth
  int64_t c;       // channels
  int64_t oh, ow;  // outHeight, outWidth
  int64_t kh, kw;  // filterHeight, filterWidth
  int64_t sh, sw;  // strideHeight, strideWidth
  int64_t pt, pl;  // padTop, padLeft
};

PoolP readP(const Napi::Value& v) {
  const char* what = "pool params";
  Napi::Object o = paramObject(v, what);
  auto f = [&](const char* name) { return intField(o, what, name); };
  return PoolP{f("batch"),       f("inHeight"),    f("inWidth"),      f("channels"),
               f("outHeight"),   f("outWidth"),    f("filterHeight"), f("filterWidth"),
               f("strideHeight"), f("strideWidth"), f("padTop"),       f("padLeft")};
}

inline void window(const PoolP& p, int64_t oy, int64_t ox, int64_t& y0, int64_t& y1, int64_t& x0, int64_t& x1) {
  int64_t ys = oy * p.sh - p.pt, xs = ox * p.sw - p.pl;
  y0 = std::max<int64_t>(ys, 0);
  y1 = std::min<int64_t>(ys + p.kh, p.ih);
  x0 = std::max<int64_t>(xs, 0);
  x1 = std::min<int64_t>(xs + p.kw, p.iw);
}

RN_SIMD void maxInto(const float* __restrict x, float* __restrict y, int64_t c) {
  for (int64_t j = 0; j < c; j++) y[j] = x[j] > y[j] ? x[j] : y[j];
}
RN_SIMD void addInto(const float* __restrict x, float* __restrict y, int64_t c) {
  for (int64_t j = 0; j < c; j++) y[j] += x[j];
}
RN_SIMD void scaleInto(const float* __restrict x, float s, float* __restrict y, int64_t c) {
  for (int64_t j = 0; j < c; j++) y[j] += x[j] * s;
}

// The window loop both forward pools share: `init` prepares an output pixel, `accumulate` folds one
// input pixel into it, `finish` completes it given how many input pixels the window covered.
template <typename Init, typename Accumulate, typename Finish>
void poolForward(const Act& x, const Act& y, const PoolP& p, Init init, Accumulate accumulate, Finish finish) {
  int64_t rows = p.n * p.oh;
  const int64_t rowLen = p.iw * p.c, outLen = p.ow * p.c;
#pragma omp parallel for num_threads(threadsFor(rows * p.ow * p.c * p.kh * p.kw)) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    int64_t b = r / p.oh, oy = r % p.oh;
    // the input rows every window of this output row reads, [ry0, ry1) of image b, as float32
    int64_t ry0, ry1, unused0, unused1;
    window(p, oy, 0, ry0, ry1, unused0, unused1);
    int64_t span = std::max<int64_t>(ry1 - ry0, 0) * rowLen;
    const float* in = readF32(x, (b * p.ih + ry0) * rowLen, span, threadScratch(0, span));
    float* outRow = writeF32(y, r * outLen, threadScratch(1, outLen));
    for (int64_t ox = 0; ox < p.ow; ox++) {
      float* out = outRow + ox * p.c;
      init(out);
      int64_t y0, y1, x0, x1;
      window(p, oy, ox, y0, y1, x0, x1);
      for (int64_t iy = y0; iy < y1; iy++)
        for (int64_t ix = x0; ix < x1; ix++) accumulate(in + ((iy - ry0) * p.iw + ix) * p.c, out);
      finish(out, (y1 - y0) * (x1 - x0));
    }
    commitF32(y, r * outLen, outLen, outRow);
  }
}

Napi::Value MaxPool(const Napi::CallbackInfo& info) {
  PoolP p = readP(info[2]);
  poolForward(
      act(info[0], "maxPool x"), act(info[1], "maxPool y"), p,
      [&](float* out) { std::fill(out, out + p.c, -std::numeric_limits<float>::infinity()); },
      [&](const float* in, float* out) { maxInto(in, out, p.c); }, [](float*, int64_t) {});
  return info.Env().Undefined();
}

RN_SIMD void argmaxStep(const float* __restrict x, int64_t off, float* __restrict best, int64_t* __restrict arg,
                       int64_t c) {
  for (int64_t j = 0; j < c; j++) {
    float v = x[j];
    bool gt = v > best[j];
    best[j] = gt ? v : best[j];
    arg[j] = gt ? off : arg[j];
  }
}

Napi::Value MaxPoolGrad(const Napi::CallbackInfo& info) {
  const float* dy = f32(info[0]);
  Act x = act(info[1], "maxPoolGrad x");
  float* dx = f32(info[2]);
  PoolP p = readP(info[3]);
  const int64_t imgIn = p.ih * p.iw * p.c;
  // One image per task: scatters never cross images. Per output pixel, the first maximum of every channel
  // (strict '>' in window order), then dy added at that position.
#pragma omp parallel num_threads(threadsFor(p.n * imgIn))
  {
    std::vector<float> best(p.c);
    std::vector<int64_t> arg(p.c);
#pragma omp for schedule(static)
    for (int64_t b = 0; b < p.n; b++) {
      float* dxb = dx + b * imgIn;
      const float* xb = readF32(x, b * imgIn, imgIn, threadScratch(0, imgIn));
      std::memset(dxb, 0, imgIn * sizeof(float));
      for (int64_t oy = 0; oy < p.oh; oy++)
        for (int64_t ox = 0; ox < p.ow; ox++) {
          int64_t y0, y1, x0, x1;
          window(p, oy, ox, y0, y1, x0, x1);
          std::fill(best.begin(), best.end(), -std::numeric_limits<float>::infinity());
          std::fill(arg.begin(), arg.end(), int64_t(-1));
          for (int64_t iy = y0; iy < y1; iy++)
            for (int64_t ix = x0; ix < x1; ix++) {
              int64_t off = (iy * p.iw + ix) * p.c;
              argmaxStep(xb + off, off, best.data(), arg.data(), p.c);
            }
          const float* g = dy + ((b * p.oh + oy) * p.ow + ox) * p.c;
          for (int64_t j = 0; j < p.c; j++)
            if (arg[j] >= 0) dxb[arg[j] + j] += g[j];
        }
    }
  }
  return info.Env().Undefined();
}

Napi::Value AvgPool(const Napi::CallbackInfo& info) {
  PoolP p = readP(info[2]);
  poolForward(
      act(info[0], "avgPool x"), Act{f32(info[1]), false, static_cast<int64_t>(f32len(info[1]))}, p,
      [&](float* out) { std::fill(out, out + p.c, 0.f); },
      [&](const float* in, float* out) { addInto(in, out, p.c); },
      [&](float* out, int64_t count) {
        float inv = count > 0 ? 1.f / static_cast<float>(count) : std::numeric_limits<float>::quiet_NaN();
        for (int64_t j = 0; j < p.c; j++) out[j] *= inv;
      });
  return info.Env().Undefined();
}

Napi::Value AvgPoolGrad(const Napi::CallbackInfo& info) {
  const float* dy = f32(info[0]);
  float* dx = f32(info[1]);
  PoolP p = readP(info[2]);
  const int64_t imgIn = p.ih * p.iw * p.c;
  const float mult = 1.f / static_cast<float>(p.kh * p.kw);
#pragma omp parallel for num_threads(threadsFor(p.n * imgIn)) schedule(static)
  for (int64_t b = 0; b < p.n; b++) {
    float* dxb = dx + b * imgIn;
    std::memset(dxb, 0, imgIn * sizeof(float));
    for (int64_t oy = 0; oy < p.oh; oy++)
      for (int64_t ox = 0; ox < p.ow; ox++) {
        int64_t y0, y1, x0, x1;
        window(p, oy, ox, y0, y1, x0, x1);
        const float* g = dy + ((b * p.oh + oy) * p.ow + ox) * p.c;
        for (int64_t iy = y0; iy < y1; iy++)
          for (int64_t ix = x0; ix < x1; ix++) scaleInto(g, mult, dxb + (iy * p.iw + ix) * p.c, p.c);
      }
  }
  return info.Env().Undefined();
}

}  // namespace

void initPooling(Napi::Env env, Napi::Object exports) {
  exports.Set("maxPool", Napi::Function::New(env, MaxPool));
  exports.Set("maxPoolGrad", Napi::Function::New(env, MaxPoolGrad));
  exports.Set("avgPool", Napi::Function::New(env, AvgPool));
  exports.Set("avgPoolGrad", Napi::Function::New(env, AvgPoolGrad));
}

}  // namespace rn
