#include "conv_params.h"

namespace rn {

ConvParams readConvParams(const Napi::Value& v) {
  const char* what = "conv params";
  Napi::Object o = paramObject(v, what);
  auto f = [&](const char* name) { return intField(o, what, name); };
  ConvParams p{f("batch"),         f("inHeight"),     f("inWidth"),        f("inChannels"),
               f("outHeight"),     f("outWidth"),     f("outChannels"),    f("filterHeight"),
               f("filterWidth"),   f("strideHeight"), f("strideWidth"),    f("dilationHeight"),
               f("dilationWidth"), f("padTop"),       f("padLeft"),        f("padBottom"),
               f("padRight"),      boolField(o, what, "relu"), f("groups"),
               static_cast<ConvPrecision>(f("precision")),
               f("weightsStamp")};
  p.srcStamp = o.Has("srcStamp") ? f("srcStamp") : 0;
  p.diffDstStamp = o.Has("diffDstStamp") ? f("diffDstStamp") : 0;
  if (p.g < 1 || p.ic % p.g != 0 || p.oc % p.g != 0)
    throw Napi::TypeError::New(v.Env(), "conv params: groups (" + std::to_string(p.g) + ") must divide inChannels (" +
                                            std::to_string(p.ic) + ") and outChannels (" + std::to_string(p.oc) + ")");
  if (p.precision < ConvPrecision::f32 || p.precision > ConvPrecision::bf16Emulated)
    throw Napi::TypeError::New(v.Env(), "conv params: precision must be 0 (float32), 1 (bf16) or 2 (bf16 emulated), not " +
                                            std::to_string(static_cast<int64_t>(p.precision)));
  return p;
}

}  // namespace rn
