#include "conv_params.h"

namespace rn {

ConvParams readConvParams(const Napi::Value& v) {
  const char* what = "conv params";
  Napi::Object o = paramObject(v, what);
  auto f = [&](const char* name) { return intField(o, what, name); };
  return ConvParams{f("batch"),         f("inHeight"),     f("inWidth"),        f("inChannels"),
                    f("outHeight"),     f("outWidth"),     f("outChannels"),    f("filterHeight"),
                    f("filterWidth"),   f("strideHeight"), f("strideWidth"),    f("dilationHeight"),
                    f("dilationWidth"), f("padTop"),       f("padLeft"),        f("padBottom"),
                    f("padRight"),      boolField(o, what, "relu")};
}

}  // namespace rn
