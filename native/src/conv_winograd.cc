// 3x3, stride-1 convolutions by Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray, "Fast Algorithms
// for Convolutional Neural Networks", 2016), for the shapes where oneDNN 2.6 has no Winograd kernel of its own
// (it has one for AVX-512 only). Same parameters and layouts as conv.cc (NHWC data, HWIO filters):
//   conv2dForwardWinograd(x, w, bias|null, y, p)   conv2dBackwardDataWinograd(dy, w, dx, p)
//   conv2dBackwardWeightsWinograd(x, dy, dw, p)
//
// Each 2x2 block of outputs ("tile") reads a 4x4 patch d of the input. With U = G g G^T (the 3x3 filter g
// transformed to 4x4) and V = B^T d B, the outputs are A^T (U .* V) A: 16 products per channel pair instead
// of 36. Summed over input channels, the 16 element-wise products become 16 GEMMs, one per position e of the
// 4x4 transform: M[e] (tiles x K) = V[e] (tiles x C) * U[e] (C x K). Tiles are processed in chunks of kChunk
// per thread (transform, 16 single-threaded GEMMs, inverse transform), so V and M stay in the core's cache.
//
// Backward data is the forward convolution of dy with the filter flipped and its channels swapped (stride 1).
// Backward weights differentiates the same algebra: dM = A dY A^T per tile, dU[e] = V[e]^T dM[e] summed over
// tiles, dg = G^T dU G. All three are exact rewritings of the convolution; only rounding differs from direct.
#include <cstring>
#include <vector>

#include "conv_params.h"

namespace rn {
namespace {

constexpr int64_t kChunk = 64;  // tiles per chunk: V and M of 64 tiles x 256 channels are 1 MB each

/** One Winograd problem: input [n, ih, iw, c] -> output [n, oh, ow, k], 3x3 filter, stride 1, pads pt/pl. */
struct Wino {
  int64_t n, ih, iw, c, oh, ow, k, pt, pl;
  int64_t th() const { return (oh + 1) / 2; }
  int64_t tw() const { return (ow + 1) / 2; }
  int64_t tiles() const { return n * th() * tw(); }
};

/** Per-thread grow-only buffer (the transforms of one chunk). */
float* threadBuffer(int slot, size_t floats) {
  thread_local std::vector<float> bufs[3];
  if (bufs[slot].size() < floats) bufs[slot].resize(floats);
  return bufs[slot].data();
}

// The transforms are memory-bound loops over channels: built for AVX2 too, chosen at load time (the addon
// itself targets baseline x86-64).
#define RN_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))

/** The 4x4 input patches of tiles [t0, t1), transformed: V[e][t - t0][ch] = (B^T d B)[e], ld = c. */
RN_VECTOR_CLONES void inputTransform(const Wino& q, const float* x, int64_t t0, int64_t t1, float* V) {
  const int64_t per = t1 - t0, C = q.c;
  const float* zero = threadBuffer(2, C);  // zero-initialised, never written
  for (int64_t t = t0; t < t1; t++) {
    int64_t n = t / (q.th() * q.tw()), r = t % (q.th() * q.tw());
    int64_t y0 = 2 * (r / q.tw()) - q.pt, x0 = 2 * (r % q.tw()) - q.pl;
    const float* d[16];
    for (int i = 0; i < 4; i++)
      for (int j = 0; j < 4; j++) {
        int64_t y = y0 + i, xx = x0 + j;
        d[i * 4 + j] = (y < 0 || y >= q.ih || xx < 0 || xx >= q.iw) ? zero : x + ((n * q.ih + y) * q.iw + xx) * C;
      }
    float* v[16];
    for (int e = 0; e < 16; e++) v[e] = V + (e * per + (t - t0)) * C;
#pragma omp simd
    for (int64_t ch = 0; ch < C; ch++) {
      float m[4][4];  // B^T d, by columns
      for (int j = 0; j < 4; j++) {
        float d0 = d[j][ch], d1 = d[4 + j][ch], d2 = d[8 + j][ch], d3 = d[12 + j][ch];
        m[0][j] = d0 - d2;
        m[1][j] = d1 + d2;
        m[2][j] = d2 - d1;
        m[3][j] = d1 - d3;
      }
      for (int i = 0; i < 4; i++) {  // (B^T d) B
        v[i * 4 + 0][ch] = m[i][0] - m[i][2];
        v[i * 4 + 1][ch] = m[i][1] + m[i][2];
        v[i * 4 + 2][ch] = m[i][2] - m[i][1];
        v[i * 4 + 3][ch] = m[i][1] - m[i][3];
      }
    }
  }
}

/** Tiles [t0, t1) of the output from M[e][t - t0][k] (ld = k): y = A^T M A (+ bias, relu), inside the map. */
RN_VECTOR_CLONES void outputTransform(const Wino& q, const float* M, const float* bias, bool relu, int64_t t0, int64_t t1, float* y) {
  const int64_t per = t1 - t0, K = q.k;
  for (int64_t t = t0; t < t1; t++) {
    int64_t n = t / (q.th() * q.tw()), r = t % (q.th() * q.tw());
    int64_t oy = 2 * (r / q.tw()), ox = 2 * (r % q.tw());
    const float* m[16];
    for (int e = 0; e < 16; e++) m[e] = M + (e * per + (t - t0)) * K;
    float* out[4];
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 2; j++)
        out[i * 2 + j] = (oy + i < q.oh && ox + j < q.ow) ? y + ((n * q.oh + oy + i) * q.ow + ox + j) * K : nullptr;
#pragma omp simd
    for (int64_t kk = 0; kk < K; kk++) {
      float a[2][4];  // A^T M
      for (int j = 0; j < 4; j++) {
        a[0][j] = m[j][kk] + m[4 + j][kk] + m[8 + j][kk];
        a[1][j] = m[4 + j][kk] - m[8 + j][kk] - m[12 + j][kk];
      }
      float b = bias ? bias[kk] : 0.f;
      float r4[4] = {a[0][0] + a[0][1] + a[0][2] + b, a[0][1] - a[0][2] - a[0][3] + b,
                     a[1][0] + a[1][1] + a[1][2] + b, a[1][1] - a[1][2] - a[1][3] + b};
      for (int o = 0; o < 4; o++)
        if (out[o]) out[o][kk] = relu && r4[o] < 0.f ? 0.f : r4[o];
    }
  }
}

/**
 * U[e][ci][co] = (G g G^T)[e] for the filter g[ky][kx] of input channel ci and output channel co, read from
 * HWIO w [3][3][C][K]. For backward data (`flipped`): input channels are the forward's outputs and
 * g[ky][kx] = w[2 - ky][2 - kx][co][ci], so U is [16][K][C].
 */
void filterTransform(const float* w, int64_t C, int64_t K, bool flipped, float* U) {
  const int64_t inC = flipped ? K : C, outC = flipped ? C : K, CK = C * K;
#pragma omp parallel for num_threads(threadsFor(CK * 16)) schedule(static)
  for (int64_t ci = 0; ci < inC; ci++)
    for (int64_t co = 0; co < outC; co++) {
      float g[3][3];
      for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
          g[i][j] = flipped ? w[((2 - i) * 3 + (2 - j)) * CK + co * K + ci] : w[(i * 3 + j) * CK + ci * K + co];
      float m[4][3];  // G g
      for (int j = 0; j < 3; j++) {
        m[0][j] = g[0][j];
        m[1][j] = 0.5f * (g[0][j] + g[1][j] + g[2][j]);
        m[2][j] = 0.5f * (g[0][j] - g[1][j] + g[2][j]);
        m[3][j] = g[2][j];
      }
      float* u = U + ci * outC + co;
      for (int i = 0; i < 4; i++) {  // (G g) G^T
        u[(i * 4 + 0) * CK] = m[i][0];
        u[(i * 4 + 1) * CK] = 0.5f * (m[i][0] + m[i][1] + m[i][2]);
        u[(i * 4 + 2) * CK] = 0.5f * (m[i][0] - m[i][1] + m[i][2]);
        u[(i * 4 + 3) * CK] = m[i][2];
      }
    }
}

/** Grow-only shared buffer for U / dU (execution is serial). */
float* sharedBuffer(int slot, size_t floats) {
  static std::vector<float> bufs[2];
  if (bufs[slot].size() < floats) bufs[slot].resize(floats);
  return bufs[slot].data();
}

/** y = conv(x, filters transformed in U [16][c][k]) (+ bias, relu): chunks of tiles over the threads. */
void forwardTiles(const Wino& q, const float* x, const float* U, const float* bias, bool relu, float* y) {
  const int64_t T = q.tiles(), chunks = (T + kChunk - 1) / kChunk;
#pragma omp parallel for num_threads(threadsFor(T * q.c * q.k)) schedule(static)
  for (int64_t ch = 0; ch < chunks; ch++) {
    int64_t t0 = ch * kChunk, t1 = std::min(T, t0 + kChunk), m = t1 - t0;
    float* V = threadBuffer(0, 16 * kChunk * q.c);
    float* M = threadBuffer(1, 16 * kChunk * q.k);
    inputTransform(q, x, t0, t1, V);
    for (int e = 0; e < 16; e++)
      dnnl_sgemm('N', 'N', m, q.k, q.c, 1.f, V + e * m * q.c, q.c, U + e * q.c * q.k, q.k, 0.f, M + e * m * q.k, q.k);
    outputTransform(q, M, bias, relu, t0, t1, y);
  }
}

/** Throws unless p is a float32, ungrouped, undilated 3x3 stride-1 convolution. */
void requireWinogradCase(const ConvParams& p, Napi::Env env) {
  if (p.kh != 3 || p.kw != 3 || p.sh != 1 || p.sw != 1 || p.dh != 1 || p.dw != 1)
    throw Napi::Error::New(env, "conv winograd: only 3x3 filters, stride 1, no dilation");
  if (p.g != 1) throw Napi::Error::New(env, "conv winograd: grouped convolutions take the direct path");
  if (p.precision != ConvPrecision::f32)
    throw Napi::Error::New(env, "conv winograd: bf16 convolutions take the direct path");
  if (p.oh != p.ih + p.pt + p.pb - 2 || p.ow != p.iw + p.pl + p.pr - 2)
    throw Napi::Error::New(env, "conv winograd: output size does not match input size and pads");
}

Napi::Value Forward(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    float* x = f32(info[0]);
    float* w = f32(info[1]);
    float* b = f32OrNull(info[2]);
    float* y = f32(info[3]);
    ConvParams p = readConvParams(info[4]);
    requireWinogradCase(p, info.Env());
    float* U = sharedBuffer(0, 16 * p.ic * p.oc);
    filterTransform(w, p.ic, p.oc, false, U);
    forwardTiles(Wino{p.n, p.ih, p.iw, p.ic, p.oh, p.ow, p.oc, p.pt, p.pl}, x, U, b, p.relu, y);
    return info.Env().Undefined();
  });
}

Napi::Value BackwardData(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    float* dy = f32(info[0]);
    float* w = f32(info[1]);
    float* dx = f32(info[2]);
    ConvParams p = readConvParams(info[3]);
    requireWinogradCase(p, info.Env());
    float* U = sharedBuffer(0, 16 * p.ic * p.oc);
    filterTransform(w, p.ic, p.oc, true, U);
    // dx[iy] = sum_ky dy[iy + pt - ky] w[ky] = sum_ky' dy[iy - (2 - pt) + ky'] w[2 - ky']: pads 2 - pt, 2 - pl.
    forwardTiles(Wino{p.n, p.oh, p.ow, p.oc, p.ih, p.iw, p.ic, 2 - p.pt, 2 - p.pl}, dy, U, nullptr, false, dx);
    return info.Env().Undefined();
  });
}

/** dM[e][t - t0][k] = (A dY A^T)[e] for the 2x2 output-gradient blocks of tiles [t0, t1) (zero outside). */
RN_VECTOR_CLONES void gradTransform(const Wino& q, const float* dy, int64_t t0, int64_t t1, float* dM) {
  const int64_t per = t1 - t0, K = q.k;
  const float* zero = threadBuffer(2, K);
  for (int64_t t = t0; t < t1; t++) {
    int64_t n = t / (q.th() * q.tw()), r = t % (q.th() * q.tw());
    int64_t oy = 2 * (r / q.tw()), ox = 2 * (r % q.tw());
    const float* g[4];
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 2; j++)
        g[i * 2 + j] = (oy + i < q.oh && ox + j < q.ow) ? dy + ((n * q.oh + oy + i) * q.ow + ox + j) * K : zero;
    float* out[16];
    for (int e = 0; e < 16; e++) out[e] = dM + (e * per + (t - t0)) * K;
#pragma omp simd
    for (int64_t kk = 0; kk < K; kk++) {
      float g00 = g[0][kk], g01 = g[1][kk], g10 = g[2][kk], g11 = g[3][kk];
      // A = [[1, 0], [1, 1], [1, -1], [0, -1]]: rows of A dY, then (A dY) A^T
      float a[4][2] = {{g00, g01}, {g00 + g10, g01 + g11}, {g00 - g10, g01 - g11}, {-g10, -g11}};
      for (int i = 0; i < 4; i++) {
        out[i * 4 + 0][kk] = a[i][0];
        out[i * 4 + 1][kk] = a[i][0] + a[i][1];
        out[i * 4 + 2][kk] = a[i][0] - a[i][1];
        out[i * 4 + 3][kk] = -a[i][1];
      }
    }
  }
}

Napi::Value BackwardWeights(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    float* x = f32(info[0]);
    float* dy = f32(info[1]);
    float* dw = f32(info[2]);
    ConvParams p = readConvParams(info[3]);
    requireWinogradCase(p, info.Env());
    const Wino q{p.n, p.ih, p.iw, p.ic, p.oh, p.ow, p.oc, p.pt, p.pl};
    const int64_t T = q.tiles(), chunks = (T + kChunk - 1) / kChunk, CK = q.c * q.k;
    const int nt = threadsFor(T * CK);
    // Each thread sums dU over its chunks (static schedule: the same order every call); the threads' sums are
    // added in thread order as the filter transform reads them.
    float* dU = sharedBuffer(1, static_cast<size_t>(nt) * 16 * CK);
    std::memset(dU, 0, sizeof(float) * nt * 16 * CK);
#pragma omp parallel num_threads(nt)
    {
      float* mine = dU + omp_get_thread_num() * 16 * CK;
#pragma omp for schedule(static)
      for (int64_t ch = 0; ch < chunks; ch++) {
        int64_t t0 = ch * kChunk, t1 = std::min(T, t0 + kChunk), m = t1 - t0;
        float* V = threadBuffer(0, 16 * kChunk * q.c);
        float* dM = threadBuffer(1, 16 * kChunk * q.k);
        inputTransform(q, x, t0, t1, V);
        gradTransform(q, dy, t0, t1, dM);
        for (int e = 0; e < 16; e++)
          dnnl_sgemm('T', 'N', q.c, q.k, m, 1.f, V + e * m * q.c, q.c, dM + e * m * q.k, q.k, 1.f, mine + e * CK, q.k);
      }
    }
    // dg = G^T dU G, G = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]
#pragma omp parallel for num_threads(threadsFor(CK * 16)) schedule(static)
    for (int64_t ck = 0; ck < CK; ck++) {
      float u[4][4], m[3][4];
      for (int e = 0; e < 16; e++) {
        float sum = dU[e * CK + ck];
        for (int th = 1; th < nt; th++) sum += dU[(th * 16 + e) * CK + ck];
        u[e / 4][e % 4] = sum;
      }
      for (int j = 0; j < 4; j++) {  // G^T dU
        m[0][j] = u[0][j] + 0.5f * (u[1][j] + u[2][j]);
        m[1][j] = 0.5f * (u[1][j] - u[2][j]);
        m[2][j] = 0.5f * (u[1][j] + u[2][j]) + u[3][j];
      }
      for (int i = 0; i < 3; i++) {  // (G^T dU) G
        dw[(i * 3 + 0) * CK + ck] = m[i][0] + 0.5f * (m[i][1] + m[i][2]);
        dw[(i * 3 + 1) * CK + ck] = 0.5f * (m[i][1] - m[i][2]);
        dw[(i * 3 + 2) * CK + ck] = 0.5f * (m[i][1] + m[i][2]) + m[i][3];
      }
    }
    return info.Env().Undefined();
  });
}

}  // namespace

void initConvWinograd(Napi::Env env, Napi::Object exports) {
  exports.Set("conv2dForwardWinograd", Napi::Function::New(env, Forward));
  exports.Set("conv2dBackwardDataWinograd", Napi::Function::New(env, BackwardData));
  exports.Set("conv2dBackwardWeightsWinograd", Napi::Function::New(env, BackwardWeights));
}

}  // namespace rn
