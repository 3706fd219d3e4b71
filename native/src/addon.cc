// Module entry: registers every kernel family and info().
#include "common.h"

namespace rn {

static Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  const dnnl_version_t* v = dnnl_version();
  o.Set("onednn", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
  o.Set("threads", omp_get_max_threads());
  o.Set("isa", static_cast<int>(dnnl::get_effective_cpu_isa()));
  return o;
}

}  // namespace rn

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, rn::Info));
  rn::initConv(env, exports);
  rn::initConvGemm(env, exports);
  rn::initConvWinograd(env, exports);
  rn::initBatchNorm(env, exports);
  rn::initPooling(env, exports);
  rn::initEltwise(env, exports);
  rn::initReduce(env, exports);
  rn::initMatmul(env, exports);
  rn::initResize(env, exports);
  rn::initInPlace(env, exports);
  rn::initBf16(env, exports);
  return exports;
}

NODE_API_MODULE(resnet_onednn, Init)
