#include "common.h"

namespace rn {

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dnnl::stream& stream() {
  static dnnl::stream s(engine());
  return s;
}

memory scratchpad(const memory::desc& md) {
  static std::unique_ptr<uint8_t[]> buf;
  static size_t cap = 0;
  size_t need = md.get_size();
  if (need > cap) {
    cap = need + (need >> 2) + 4096;
    buf.reset(new (std::align_val_t(64)) uint8_t[cap]);
  }
  return memory(md, engine(), buf.get());
}

}  // namespace rn
