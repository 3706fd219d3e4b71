// Batched matrix product on oneDNN: matmul(a, b, bias|null, out, p)
// p = {batchA, batchB, m, k, n, transposeA, transposeB, relu} (MatMulParams in addon.ts, read by name);
// a is [batchA, M, K] ([batchA, K, M] when transposed), b is [batchB, K, N] ([batchB, N, K]); a batch of 1
// broadcasts; bias is [N].
#include "common.h"

namespace rn {
namespace {

using namespace dnnl;

struct MmP {
  int64_t ba, bb, m, k, n, ta, tb, relu;
};

struct Entry {
  matmul prim;
  memory::desc a, b, bias, c, scratch;
};

Cache<Entry> cache;

Entry make(const MmP& p, bool hasBias) {
  int64_t bo = std::max(p.ba, p.bb);
  memory::desc a({p.ba, p.m, p.k}, dt::f32, p.ta ? memory::dims{p.m * p.k, 1, p.m} : memory::dims{p.m * p.k, p.k, 1});
  memory::desc b({p.bb, p.k, p.n}, dt::f32, p.tb ? memory::dims{p.k * p.n, 1, p.k} : memory::dims{p.k * p.n, p.n, 1});
  memory::desc c({bo, p.m, p.n}, dt::f32, tag::abc);
  memory::desc bias({1, 1, p.n}, dt::f32, tag::abc);
  primitive_attr attr = baseAttr();
  if (p.relu) {
    post_ops po;
    po.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(po);
  }
  auto d = hasBias ? matmul::desc(a, b, bias, c) : matmul::desc(a, b, c);
  matmul::primitive_desc pd(d, attr, engine());
  return Entry{matmul(pd), a, b, bias, c, pd.scratchpad_desc()};
}

Napi::Value MatMul(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    float* a = f32(info[0]);
    float* b = f32(info[1]);
    float* bias = f32OrNull(info[2]);
    float* c = f32(info[3]);
    const char* what = "matmul params";
    Napi::Object o = paramObject(info[4], what);
    auto f = [&](const char* name) { return intField(o, what, name); };
    auto flag = [&](const char* name) { return boolField(o, what, name) ? int64_t{1} : int64_t{0}; };
    MmP p{f("batchA"), f("batchB"), f("m"), f("k"), f("n"), flag("transposeA"), flag("transposeB"), flag("relu")};
    // Arrays shorter than the shapes say would be read or written past their end: refuse them by name.
    auto need = [&](int arg, int64_t n, const char* name) {
      if (static_cast<int64_t>(f32len(info[arg])) != n)
        throw Napi::Error::New(info.Env(), std::string("matMul: ") + name + " has " +
                                               std::to_string(f32len(info[arg])) + " values, the shapes need " +
                                               std::to_string(n));
    };
    need(0, p.ba * p.m * p.k, "a");
    need(1, p.bb * p.k * p.n, "b");
    if (bias) need(2, p.n, "bias");
    need(3, std::max(p.ba, p.bb) * p.m * p.n, "out");
    Entry& e = cache.get(key(p.ba, p.bb, p.m, p.k, p.n, p.ta, p.tb, p.relu, bias != nullptr),
                         [&] { return make(p, bias != nullptr); });
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, memory(e.a, engine(), a)},
                                         {DNNL_ARG_WEIGHTS, memory(e.b, engine(), b)},
                                         {DNNL_ARG_DST, memory(e.c, engine(), c)},
                                         {DNNL_ARG_SCRATCHPAD, scratchpad(e.scratch)}};
    if (bias) args.emplace(DNNL_ARG_BIAS, memory(e.bias, engine(), bias));
    e.prim.execute(stream(), args);
    stream().wait();
    return info.Env().Undefined();
  });
}

}  // namespace

void initMatmul(Napi::Env env, Napi::Object exports) {
  exports.Set("matMul", Napi::Function::New(env, MatMul));
}

}  // namespace rn
