// 2-D convolution, NHWC data and HWIO filters, on oneDNN (grouped when p.g > 1: filters [kh, kw, ic/g, oc],
// output channel o belongs to group o / (oc/g), which is oneDNN's 'hwigo' layout of {g, oc/g, ic/g, kh, kw}):
//   conv2dForward(x, w, bias|null, y, p)           y = act(conv(x, w) + bias)
//   conv2dBackwardData(dy, w, dx, p)               dx = conv^T(dy, w)
//   conv2dBackwardWeights(x, dy, dw, p)            dw = corr(x, dy)
//   convFilterConversions()                        filters converted for the bf16 precisions so far (tests)
//   convActivationConversions()                    inputs (x, dy) converted for the bf16 precisions so far (tests)
// p: ConvParams (conv_params.h), a JS object with named fields.
// Filters go to whatever blocked layout oneDNN prefers ('any') through a cached reorder.
//
// Precision (p.precision): arrays in and out are always float32. In bf16 the inputs of each pass (x, w, dy)
// are converted to bf16 and the primitive accumulates and writes float32 (like torch.autocast); in
// bf16-emulated they are rounded to bf16 but stay float32 for float32 primitives (same numerics on any CPU).
// Converted filters are cached per filter array and stamp (p.stamp) in the user's layout, one copy shared by
// every primitive that reads the filter, so a step converts each filter once although forward and
// backward-data both read it (each primitive keeps its own reorder of that copy into its blocked layout). Converted activations likewise, per array and stamp
// (p.srcStamp, p.diffDstStamp), within a byte budget: x is read by the forward pass of every convolution it
// feeds and by their filter gradients, dy by the data and the filter gradient; each is converted once.
#include <list>

#include "bf16.h"
#include "conv_params.h"

namespace rn {
namespace {

using namespace dnnl;

enum Pass { kForward = 0, kBackwardData = 1, kBackwardWeights = 2 };

bool nativeBf16(const ConvParams& p) { return p.precision == ConvPrecision::bf16; }
bool roundsInputs(const ConvParams& p) { return p.precision != ConvPrecision::f32; }

/**
 * The data types a pass's primitive reads and writes: bf16 for its inputs in native bf16, else float32. The
 * activation it writes (forward: y, backward-data: dx) is bf16 when native bf16 and the caller passed a bf16
 * array (`outBf16`); float32 otherwise (emulated bf16 rounds it afterwards).
 */
struct Types {
  dt src, wei, dst;
};
Types typesOf(const ConvParams& p, Pass pass, bool outBf16 = false) {
  if (!nativeBf16(p)) return {dt::f32, dt::f32, dt::f32};
  dt out = outBf16 ? dt::bf16 : dt::f32;
  switch (pass) {
    case kForward:
      return {dt::bf16, dt::bf16, out};
    case kBackwardData:
      return {out, dt::bf16, dt::bf16};  // writes diff_src, reads weights and diff_dst
    default:
      return {dt::bf16, dt::f32, dt::bf16};  // writes diff_weights, reads src and diff_dst
  }
}

std::string keyOf(const ConvParams& p, int kind, bool bias, bool outBf16 = false) {
  return key(kind, bias, p.n, p.ih, p.iw, p.ic, p.oh, p.ow, p.oc, p.kh, p.kw, p.sh, p.sw, p.dh, p.dw, p.pt, p.pl,
             p.pb, p.pr, p.relu, p.g, static_cast<int64_t>(p.precision), outBf16 && nativeBf16(p));
}

struct Descs {
  memory::desc src, dst, wAny, wUser, bias;
  memory::dims strides, dil, padL, padR;
};

Descs descs(const ConvParams& p, Types t) {
  bool grouped = p.g > 1;
  memory::dims w = grouped ? memory::dims{p.g, p.oc / p.g, p.ic / p.g, p.kh, p.kw} : memory::dims{p.oc, p.ic, p.kh, p.kw};
  return Descs{memory::desc({p.n, p.ic, p.ih, p.iw}, t.src, tag::nhwc),
               memory::desc({p.n, p.oc, p.oh, p.ow}, t.dst, tag::nhwc),
               memory::desc(w, t.wei, tag::any),
               memory::desc(w, t.wei, grouped ? tag::hwigo : tag::hwio),
               memory::desc({p.oc}, dt::f32, tag::x),
               {p.sh, p.sw},
               {p.dh - 1, p.dw - 1},
               {p.pt, p.pl},
               {p.pb, p.pr}};
}

convolution_forward::primitive_desc fwdPd(const Descs& d, bool bias, const primitive_attr& attr) {
  auto desc = bias ? convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, d.src,
                                               d.wAny, d.bias, d.dst, d.strides, d.dil, d.padL, d.padR)
                   : convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, d.src,
                                               d.wAny, d.dst, d.strides, d.dil, d.padL, d.padR);
  return convolution_forward::primitive_desc(desc, attr, engine());
}

/** A filter converted for one primitive, and the stamp of the values it was converted from. */
struct ConvertedWeights {
  int64_t stamp = 0;
  memory buf;
};

/** Cached primitive plus the reorder between the user's HWIO filter and the primitive's layout. */
struct Entry {
  primitive prim;
  memory::desc scratch;
  memory::desc wPrim;  // the primitive's filter layout
  memory::desc wUser;  // the user's HWIO layout, in the primitive's filter data type
  bool needReorder = false;
  reorder wReorder;
  memory wBuf;  // filter in the primitive's layout (owned)
  // Converted filters by user array (bf16 precisions only; bounded: cleared past kMaxConverted arrays).
  std::unordered_map<const float*, ConvertedWeights> converted;
};
constexpr size_t kMaxConverted = 64;

Cache<Entry> fwdCache, bwdDataCache, bwdWeightsCache;
double filterConversions = 0;

// The primitive may want weights in a blocked layout: keep a buffer in that layout and the reorder
// between it and the user's HWIO array (into it for forward/backward-data, out of it for weight gradients).
void attachWeightsReorder(Entry& e, const memory::desc& wPrim, const memory::desc& wUser, bool toPrimitive) {
  e.wPrim = wPrim;
  e.wUser = wUser;
  e.needReorder = wPrim != wUser;
  if (!e.needReorder) return;
  e.wBuf = memory(wPrim, engine());
  e.wReorder = toPrimitive ? reorder(reorder::primitive_desc(engine(), wUser, engine(), wPrim))
                           : reorder(reorder::primitive_desc(engine(), wPrim, engine(), wUser));
}

Entry makeFwd(const ConvParams& p, bool bias, bool outBf16) {
  Descs d = descs(p, typesOf(p, kForward, outBf16));
  primitive_attr attr = baseAttr();
  if (p.relu) {
    post_ops po;
    po.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(po);
  }
  auto pd = fwdPd(d, bias, attr);
  Entry e;
  e.prim = convolution_forward(pd);
  e.scratch = pd.scratchpad_desc();
  attachWeightsReorder(e, pd.weights_desc(), d.wUser, /*toPrimitive=*/true);
  return e;
}

Entry makeBwdData(const ConvParams& p, bool outBf16) {
  Descs d = descs(p, typesOf(p, kBackwardData, outBf16));
  auto hint = fwdPd(descs(p, typesOf(p, kForward)), false, primitive_attr());
  auto desc = convolution_backward_data::desc(algorithm::convolution_direct, d.src, d.wAny, d.dst, d.strides, d.dil,
                                              d.padL, d.padR);
  auto pd = convolution_backward_data::primitive_desc(desc, baseAttr(), engine(), hint);
  Entry e;
  e.prim = convolution_backward_data(pd);
  e.scratch = pd.scratchpad_desc();
  attachWeightsReorder(e, pd.weights_desc(), d.wUser, /*toPrimitive=*/true);
  return e;
}

Entry makeBwdWeights(const ConvParams& p) {
  Descs d = descs(p, typesOf(p, kBackwardWeights));
  auto hint = fwdPd(descs(p, typesOf(p, kForward)), false, primitive_attr());
  auto desc = convolution_backward_weights::desc(algorithm::convolution_direct, d.src, d.wAny, d.dst, d.strides,
                                                 d.dil, d.padL, d.padR);
  auto pd = convolution_backward_weights::primitive_desc(desc, baseAttr(), engine(), hint);
  Entry e;
  e.prim = convolution_backward_weights(pd);
  e.scratch = pd.scratchpad_desc();
  attachWeightsReorder(e, pd.diff_weights_desc(), d.wUser, /*toPrimitive=*/false);
  return e;
}

/**
 * An input array (x or dy, NHWC float32 of dims `md`) as the primitive reads it: the array itself in
 * float32, else a bf16 or bf16-rounded copy in work buffer `slot`.
 */
double activationConversions = 0;

void convertActivation(const ConvParams& p, const float* a, void* out, int64_t n) {
  activationConversions++;
  if (nativeBf16(p)) toBf16(a, static_cast<uint16_t*>(out), n);
  else roundThroughBf16(a, static_cast<float*>(out), n);
}

/** Converted activations by (array, stamp, bytes), least recently used first out past kActivationBudget. */
struct ConvertedActivation {
  const float* array;
  int64_t stamp;
  size_t bytes;
  memory buf;
};
constexpr size_t kActivationBudget = size_t(1) << 30;  // a seed step's conv inputs in bf16 are ~0.2 GiB
std::list<ConvertedActivation> convertedActivations;    // most recently used first
size_t convertedBytes = 0;

memory cachedActivation(const ConvParams& p, const memory::desc& md, const float* a, int64_t stamp, int64_t n) {
  size_t bytes = md.get_size();
  for (auto it = convertedActivations.begin(); it != convertedActivations.end(); ++it) {
    if (it->array != a || it->bytes != bytes) continue;
    if (it->stamp == stamp) {
      convertedActivations.splice(convertedActivations.begin(), convertedActivations, it);
      return memory(md, engine(), it->buf.get_data_handle());
    }
    convertedBytes -= it->bytes;  // the array holds new values: its old copy is stale
    convertedActivations.erase(it);
    break;
  }
  while (!convertedActivations.empty() && convertedBytes + bytes > kActivationBudget) {
    convertedBytes -= convertedActivations.back().bytes;
    convertedActivations.pop_back();
  }
  memory buf(md, engine());
  convertActivation(p, a, buf.get_data_handle(), n);
  convertedActivations.push_front({a, stamp, bytes, buf});
  convertedBytes += bytes;
  return buf;
}

// An activation as the primitive reads it. A bf16 array is already what native bf16 reads (no conversion);
// the float32 primitives get its values widened (exact). A float32 array is read as is in float32, else
// converted (once per array and stamp when the stamp is known).
memory activationIn(const ConvParams& p, const memory::desc& md, const Act& a, int slot, int64_t stamp) {
  if (a.bf16) {
    if (nativeBf16(p)) return memory(md, engine(), a.p);
    float* buf = static_cast<float*>(workBuffer(slot, md.get_size()));
    widen(a.h(), buf, a.n);
    return memory(md, engine(), buf);
  }
  if (!roundsInputs(p)) return memory(md, engine(), a.p);
  int64_t n = static_cast<int64_t>(md.get_size() / (nativeBf16(p) ? 2 : 4));
  if (stamp != 0) return cachedActivation(p, md, a.f(), stamp, n);
  void* buf = workBuffer(slot, md.get_size());
  convertActivation(p, a.f(), buf, n);
  return memory(md, engine(), buf);
}

// Where a pass writes its activation output `out` (dims of `md`, in the primitive's type): out itself, or,
// for a bf16 output that the primitive writes in float32 (emulated bf16), a work buffer that
// activationOut then rounds into out.
memory activationOut(const memory::desc& md, const Act& out, int slot) {
  if (out.bf16 && md.data_type() == dt::f32) return memory(md, engine(), workBuffer(slot, md.get_size()));
  return memory(md, engine(), out.p);
}
void activationOutDone(const Act& out, memory& m) {
  if (out.bf16 && m.get_desc().data_type() == dt::f32)
    toBf16(static_cast<const float*>(m.get_data_handle()), out.h(), out.n);
}

void requireLength(const Napi::Env& env, const Act& a, const memory::desc& md, const char* what) {
  int64_t n = static_cast<int64_t>(md.get_size() / (md.data_type() == dt::f32 ? 4 : 2));
  if (a.n != n) throw Napi::Error::New(env, std::string(what) + ": length " + std::to_string(a.n) +
                                                " does not match the convolution's " + std::to_string(n));
}

// The filter converted into `out` (primitive layout): to bf16, or rounded to bf16 values in float32.
// The filter's values into `out` (`bytes` long, user layout): bf16, or rounded to bf16 values in float32.
void convertFilter(const ConvParams& p, const float* w, void* out, size_t bytes) {
  filterConversions++;
  int64_t n = static_cast<int64_t>(bytes / (nativeBf16(p) ? 2 : 4));
  if (nativeBf16(p)) toBf16(w, static_cast<uint16_t*>(out), n);
  else roundThroughBf16(w, static_cast<float*>(out), n);
}

void convertWeights(const ConvParams& p, Entry& e, float* w, memory& out, dnnl::stream& s) {
  void* plain = e.needReorder ? workBuffer(2, e.wUser.get_size()) : out.get_data_handle();
  convertFilter(p, w, plain, e.wUser.get_size());
  if (!e.needReorder) return;
  memory src(e.wUser, engine(), plain);
  e.wReorder.execute(s, src, out);
}

/** A filter converted in the user's layout (HWIO or HWIGO), shared by every pass and shape that reads it. */
struct PlainFilter {
  int64_t stamp;
  ConvPrecision precision;
  size_t bytes;
  memory buf;
};
constexpr size_t kPlainFilterBudget = size_t(1) << 29;  // ResNet-152's filters in float32 are ~0.24 GiB
std::unordered_map<const float*, PlainFilter> plainFilters;
size_t plainFilterBytes = 0;

memory plainConverted(const ConvParams& p, const memory::desc& wUser, float* w) {
  size_t bytes = wUser.get_size();
  auto it = plainFilters.find(w);
  if (it != plainFilters.end()) {
    const PlainFilter& f = it->second;
    if (f.stamp == p.stamp && f.precision == p.precision && f.bytes == bytes) return f.buf;
    plainFilterBytes -= f.bytes;  // new values (or another precision): the old copy is stale
    plainFilters.erase(it);
  }
  if (plainFilterBytes + bytes > kPlainFilterBudget) {
    plainFilters.clear();
    plainFilterBytes = 0;
  }
  memory buf(wUser, engine());
  convertFilter(p, w, buf.get_data_handle(), bytes);
  plainFilters.emplace(w, PlainFilter{p.stamp, p.precision, bytes, buf});
  plainFilterBytes += bytes;
  return buf;
}

// The user's HWIO weights as the primitive wants them. Float32: reordered into the entry's buffer if
// needed. bf16: converted once per (array, stamp) for all primitives (plainConverted), then reordered
// once per primitive into its layout and kept; stamp 0 converts on every call.
memory weightsIn(const ConvParams& p, Entry& e, float* w, dnnl::stream& s) {
  if (!roundsInputs(p)) {
    memory wUser(e.wUser, engine(), w);
    if (!e.needReorder) return wUser;
    e.wReorder.execute(s, wUser, e.wBuf);
    return e.wBuf;
  }
  if (p.stamp == 0) {
    if (!e.wBuf) e.wBuf = memory(e.wPrim, engine());
    convertWeights(p, e, w, e.wBuf, s);
    return e.wBuf;
  }
  if (!e.needReorder) return plainConverted(p, e.wUser, w);
  if (e.converted.size() >= kMaxConverted && !e.converted.count(w)) e.converted.clear();
  ConvertedWeights& c = e.converted[w];
  if (!c.buf) c.buf = memory(e.wPrim, engine());
  if (c.stamp != p.stamp) {
    memory plain = plainConverted(p, e.wUser, w);
    e.wReorder.execute(s, plain, c.buf);
    c.stamp = p.stamp;
  }
  return c.buf;
}

Napi::Value Forward(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Act x = act(info[0], "conv2dForward x");
    float* w = f32(info[1]);
    float* b = f32OrNull(info[2]);
    Act y = act(info[3], "conv2dForward y");
    ConvParams p = readConvParams(info[4]);
    Entry& e = fwdCache.get(keyOf(p, kForward, b != nullptr, y.bf16), [&] { return makeFwd(p, b != nullptr, y.bf16); });
    Descs d = descs(p, typesOf(p, kForward, y.bf16));
    requireLength(info.Env(), x, d.src, "conv2dForward x");
    requireLength(info.Env(), y, d.dst, "conv2dForward y");
    auto& s = stream();
    memory dst = activationOut(d.dst, y, 3);
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, activationIn(p, d.src, x, 0, p.srcStamp)},
                                         {DNNL_ARG_WEIGHTS, weightsIn(p, e, w, s)},
                                         {DNNL_ARG_DST, dst},
                                         {DNNL_ARG_SCRATCHPAD, scratchpad(e.scratch)}};
    if (b) args.emplace(DNNL_ARG_BIAS, memory(d.bias, engine(), b));
    e.prim.execute(s, args);
    s.wait();
    activationOutDone(y, dst);
    return info.Env().Undefined();
  });
}

Napi::Value BackwardData(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Act dy = act(info[0], "conv2dBackwardData dy");
    float* w = f32(info[1]);
    Act dx = act(info[2], "conv2dBackwardData dx");
    ConvParams p = readConvParams(info[3]);
    Entry& e = bwdDataCache.get(keyOf(p, kBackwardData, false, dx.bf16), [&] { return makeBwdData(p, dx.bf16); });
    Descs d = descs(p, typesOf(p, kBackwardData, dx.bf16));
    requireLength(info.Env(), dy, d.dst, "conv2dBackwardData dy");
    requireLength(info.Env(), dx, d.src, "conv2dBackwardData dx");
    auto& s = stream();
    memory diffSrc = activationOut(d.src, dx, 3);
    e.prim.execute(s, {{DNNL_ARG_DIFF_DST, activationIn(p, d.dst, dy, 1, p.diffDstStamp)},
                       {DNNL_ARG_WEIGHTS, weightsIn(p, e, w, s)},
                       {DNNL_ARG_DIFF_SRC, diffSrc},
                       {DNNL_ARG_SCRATCHPAD, scratchpad(e.scratch)}});
    s.wait();
    activationOutDone(dx, diffSrc);
    return info.Env().Undefined();
  });
}

Napi::Value BackwardWeights(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    Act x = act(info[0], "conv2dBackwardWeights x");
    Act dy = act(info[1], "conv2dBackwardWeights dy");
    float* dw = f32(info[2]);
    ConvParams p = readConvParams(info[3]);
    Entry& e = bwdWeightsCache.get(keyOf(p, kBackwardWeights, false), [&] { return makeBwdWeights(p); });
    Descs d = descs(p, typesOf(p, kBackwardWeights));
    requireLength(info.Env(), x, d.src, "conv2dBackwardWeights x");
    requireLength(info.Env(), dy, d.dst, "conv2dBackwardWeights dy");
    auto& s = stream();
    memory wUser(d.wUser, engine(), dw);
    memory wArg = e.needReorder ? e.wBuf : wUser;
    e.prim.execute(s, {{DNNL_ARG_SRC, activationIn(p, d.src, x, 0, p.srcStamp)},
                       {DNNL_ARG_DIFF_DST, activationIn(p, d.dst, dy, 1, p.diffDstStamp)},
                       {DNNL_ARG_DIFF_WEIGHTS, wArg},
                       {DNNL_ARG_SCRATCHPAD, scratchpad(e.scratch)}});
    if (e.needReorder) e.wReorder.execute(s, e.wBuf, wUser);
    s.wait();
    return info.Env().Undefined();
  });
}

Napi::Value FilterConversions(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), filterConversions);
}

Napi::Value ActivationConversions(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), activationConversions);
}

}  // namespace

const uint16_t* convInputBf16(const ConvParams& p, const Act& a, bool isDy) {
  memory::desc md = isDy ? memory::desc({p.n, p.oc, p.oh, p.ow}, dt::bf16, tag::nhwc)
                         : memory::desc({p.n, p.ic, p.ih, p.iw}, dt::bf16, tag::nhwc);
  memory m = activationIn(p, md, a, isDy ? 1 : 0, isDy ? p.diffDstStamp : p.srcStamp);
  return static_cast<const uint16_t*>(m.get_data_handle());
}

const uint16_t* convFilterBf16(const ConvParams& p, float* w) {
  memory::desc wUser = descs(p, typesOf(p, kForward)).wUser;
  if (p.stamp != 0) return static_cast<const uint16_t*>(plainConverted(p, wUser, w).get_data_handle());
  void* buf = workBuffer(2, wUser.get_size());
  convertFilter(p, w, buf, wUser.get_size());
  return static_cast<const uint16_t*>(buf);
}

void initConv(Napi::Env env, Napi::Object exports) {
  exports.Set("conv2dForward", Napi::Function::New(env, Forward));
  exports.Set("conv2dBackwardData", Napi::Function::New(env, BackwardData));
  exports.Set("conv2dBackwardWeights", Napi::Function::New(env, BackwardWeights));
  exports.Set("convFilterConversions", Napi::Function::New(env, FilterConversions));
  exports.Set("convActivationConversions", Napi::Function::New(env, ActivationConversions));
}

}  // namespace rn
