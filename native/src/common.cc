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

void* workBuffer(int slot, size_t bytes) {
  static std::unique_ptr<uint8_t[]> bufs[4];
  static size_t caps[4] = {0, 0, 0, 0};
  if (bytes > caps[slot]) {
    caps[slot] = bytes + (bytes >> 2) + 4096;
    bufs[slot].reset(new (std::align_val_t(64)) uint8_t[caps[slot]]);
  }
  return bufs[slot].get();
}

}  // namespace rn
