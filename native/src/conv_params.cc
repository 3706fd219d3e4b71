#include "conv_params.h"

#include <string>

namespace rn {
namespace {

int64_t intField(const Napi::Object& o, const char* name) {
  Napi::Value v = o.Get(name);
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("conv params: '") + name + "' must be a number");
  return v.As<Napi::Number>().Int64Value();
}

}  // namespace

ConvParams readConvParams(const Napi::Value& v) {
  if (!v.IsObject() || v.IsArray()) throw Napi::TypeError::New(v.Env(), "conv params: expected an object");
  Napi::Object o = v.As<Napi::Object>();
  Napi::Value relu = o.Get("relu");
  if (!relu.IsBoolean()) throw Napi::TypeError::New(v.Env(), "conv params: 'relu' must be a boolean");
  return ConvParams{intField(o, "batch"),         intField(o, "inHeight"),      intField(o, "inWidth"),
                    intField(o, "inChannels"),    intField(o, "outHeight"),     intField(o, "outWidth"),
                    intField(o, "outChannels"),   intField(o, "filterHeight"),  intField(o, "filterWidth"),
                    intField(o, "strideHeight"),  intField(o, "strideWidth"),   intField(o, "dilationHeight"),
                    intField(o, "dilationWidth"), intField(o, "padTop"),        intField(o, "padLeft"),
                    intField(o, "padBottom"),     intField(o, "padRight"),      relu.As<Napi::Boolean>().Value()};
}

}  // namespace rn
