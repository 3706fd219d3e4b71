// 2-D convolution, NHWC data and HWIO filters, on oneDNN (grouped when p.g > 1: filters [kh, kw, ic/g, oc],
// output channel o belongs to group o / (oc/g), which is oneDNN's 'hwigo' layout of {g, oc/g, ic/g, kh, kw}):
//   conv2dForward(x, w, bias|null, y, p)           y = act(conv(x, w) + bias)
//   conv2dBackwardData(dy, w, dx, p)               dx = conv^T(dy, w)
//   conv2dBackwardWeights(x, dy, dw, p)            dw = corr(x, dy)
// p: ConvParams (conv_params.h), a JS object with named fields.
// Filters go to whatever blocked layout oneDNN prefers ('any') through a cached reorder.
#include "conv_params.h"

namespace rn {
namespace {

using namespace dnnl;

std::string keyOf(const ConvParams& p, int kind, bool bias) {
  return key(kind, bias, p.n, p.ih, p.iw, p.ic, p.oh, p.ow, p.oc, p.kh, p.kw, p.sh, p.sw, p.dh, p.dw, p.pt, p.pl,
             p.pb, p.pr, p.relu, p.g);
}

struct Descs {
  memory::desc src, dst, wAny, wUser, bias;
  memory::dims strides, dil, padL, padR;
};

Descs descs(const ConvParams& p) {
  bool grouped = p.g > 1;
  memory::dims w = grouped ? memory::dims{p.g, p.oc / p.g, p.ic / p.g, p.kh, p.kw} : memory::dims{p.oc, p.ic, p.kh, p.kw};
  return Descs{memory::desc({p.n, p.ic, p.ih, p.iw}, dt::f32, tag::nhwc),
               memory::desc({p.n, p.oc, p.oh, p.ow}, dt::f32, tag::nhwc),
               memory::desc(w, dt::f32, tag::any),
               memory::desc(w, dt::f32, grouped ? tag::hwigo : tag::hwio),
               memory::desc({p.oc}, dt::f32, tag::x),
               {p.sh, p.sw},
               {p.dh - 1, p.dw - 1},
               {p.pt, p.pl},
               {p.pb, p.pr}};
}

convolution_forward::primitive_desc fwdPd(const ConvParams& p, const Descs& d, bool bias, const primitive_attr& attr) {
  auto desc = bias ? convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, d.src,
                                               d.wAny, d.bias, d.dst, d.strides, d.dil, d.padL, d.padR)
                   : convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, d.src,
                                               d.wAny, d.dst, d.strides, d.dil, d.padL, d.padR);
  return convolution_forward::primitive_desc(desc, attr, engine());
}

/** Cached primitive plus the reorder between the user's HWIO filter and the primitive's layout. */
struct Entry {
  primitive prim;
  memory::desc scratch;
  memory::desc wPrim;  // the primitive's filter layout
  bool needReorder = false;
  reorder wReorder;
  memory wBuf;  // filter in the primitive's layout (owned)
};

Cache<Entry> fwdCache, bwdDataCache, bwdWeightsCache;

// The primitive may want weights in a blocked layout: keep a buffer in that layout and the reorder
// between it and the user's HWIO array (into it for forward/backward-data, out of it for weight gradients).
void attachWeightsReorder(Entry& e, const memory::desc& wPrim, const memory::desc& wUser, bool toPrimitive) {
  e.wPrim = wPrim;
  e.needReorder = wPrim != wUser;
  if (!e.needReorder) return;
  e.wBuf = memory(wPrim, engine());
  e.wReorder = toPrimitive ? reorder(reorder::primitive_desc(engine(), wUser, engine(), wPrim))
                           : reorder(reorder::primitive_desc(engine(), wPrim, engine(), wUser));
}

Entry makeFwd(const ConvParams& p, bool bias) {
  Descs d = descs(p);
  primitive_attr attr = baseAttr();
  if (p.relu) {
    post_ops po;
    po.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(po);
  }
  auto pd = fwdPd(p, d, bias, attr);
  Entry e;
  e.prim = convolution_forward(pd);
  e.scratch = pd.scratchpad_desc();
  attachWeightsReorder(e, pd.weights_desc(), d.wUser, /*toPrimitive=*/true);
  return e;
}

Entry makeBwdData(const ConvParams& p) {
  Descs d = descs(p);
  auto hint = fwdPd(p, d, false, primitive_attr());
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
  Descs d = descs(p);
  auto hint = fwdPd(p, d, false, primitive_attr());
  auto desc = convolution_backward_weights::desc(algorithm::convolution_direct, d.src, d.wAny, d.dst, d.strides,
                                                 d.dil, d.padL, d.padR);
  auto pd = convolution_backward_weights::primitive_desc(desc, baseAttr(), engine(), hint);
  Entry e;
  e.prim = convolution_backward_weights(pd);
  e.scratch = pd.scratchpad_desc();
  attachWeightsReorder(e, pd.diff_weights_desc(), d.wUser, /*toPrimitive=*/false);
  return e;
}

// The user's HWIO weights as the primitive wants them (reordered into the entry's buffer if needed).
memory weightsIn(Entry& e, const Descs& d, float* w, dnnl::stream& s) {
  memory wUser(d.wUser, engine(), w);
  if (!e.needReorder) return wUser;
  e.wReorder.execute(s, wUser, e.wBuf);
  return e.wBuf;
}

Napi::Value Forward(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    float* x = f32(info[0]);
    float* w = f32(info[1]);
    float* b = f32OrNull(info[2]);
    float* y = f32(info[3]);
    ConvParams p = readConvParams(info[4]);
    Entry& e = fwdCache.get(keyOf(p, 0, b != nullptr), [&] { return makeFwd(p, b != nullptr); });
    Descs d = descs(p);
    auto& s = stream();
    memory wArg = weightsIn(e, d, w, s);
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, memory(d.src, engine(), x)},
                                         {DNNL_ARG_WEIGHTS, wArg},
                                         {DNNL_ARG_DST, memory(d.dst, engine(), y)},
                                         {DNNL_ARG_SCRATCHPAD, scratchpad(e.scratch)}};
    if (b) args.emplace(DNNL_ARG_BIAS, memory(d.bias, engine(), b));
    e.prim.execute(s, args);
    s.wait();
    return info.Env().Undefined();
  });
}

Napi::Value BackwardData(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    float* dy = f32(info[0]);
    float* w = f32(info[1]);
    float* dx = f32(info[2]);
    ConvParams p = readConvParams(info[3]);
    Entry& e = bwdDataCache.get(keyOf(p, 1, false), [&] { return makeBwdData(p); });
    Descs d = descs(p);
    auto& s = stream();
    memory wArg = weightsIn(e, d, w, s);
    e.prim.execute(s, {{DNNL_ARG_DIFF_DST, memory(d.dst, engine(), dy)},
                       {DNNL_ARG_WEIGHTS, wArg},
                       {DNNL_ARG_DIFF_SRC, memory(d.src, engine(), dx)},
                       {DNNL_ARG_SCRATCHPAD, scratchpad(e.scratch)}});
    s.wait();
    return info.Env().Undefined();
  });
}

Napi::Value BackwardWeights(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    float* x = f32(info[0]);
    float* dy = f32(info[1]);
    float* dw = f32(info[2]);
    ConvParams p = readConvParams(info[3]);
    Entry& e = bwdWeightsCache.get(keyOf(p, 2, false), [&] { return makeBwdWeights(p); });
    Descs d = descs(p);
    auto& s = stream();
    memory wUser(d.wUser, engine(), dw);
    memory wArg = e.needReorder ? e.wBuf : wUser;
    e.prim.execute(s, {{DNNL_ARG_SRC, memory(d.src, engine(), x)},
                       {DNNL_ARG_DIFF_DST, memory(d.dst, engine(), dy)},
                       {DNNL_ARG_DIFF_WEIGHTS, wArg},
                       {DNNL_ARG_SCRATCHPAD, scratchpad(e.scratch)}});
    if (e.needReorder) e.wReorder.execute(s, e.wBuf, wUser);
    s.wait();
    return info.Env().Undefined();
  });
}

}  // namespace

void initConv(Napi::Env env, Napi::Object exports) {
  exports.Set("conv2dForward", Napi::Function::New(env, Forward));
  exports.Set("conv2dBackwardData", Napi::Function::New(env, BackwardData));
  exports.Set("conv2dBackwardWeights", Napi::Function::New(env, BackwardWeights));
}

}  // namespace rn
