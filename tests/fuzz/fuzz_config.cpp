// Fuzz target: the plugin config parser (cni/config.cpp), driven through runPlugin as a runtime
// would. The input is stdin. A first byte 0x01..0x06 picks the verb and is not part of stdin
// (no JSON text starts with a control byte, so nothing is lost); without one the verb is ADD.
//   (none) ADD from a clean state, then DEL when ADD succeeded
//   0x01   ADD alone             0x02 DEL alone (nothing leased: DEL is idempotent)
//   0x03   ADD, then CHECK       0x04 VERSION
//   0x05   ADD, then GC          0x06 STATUS
// dataDir and log.file are forced into the harness's temp dir (harness.hpp).
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "harness.hpp"

using sixrd::fuzz::Harness;

namespace {

sixrd::fuzz::Vars nodeEnv(const std::string& verb) {
  return {{"CNI_COMMAND", verb}, {"CNI_PATH", "/opt/cni/bin"}};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  unsigned selector = 0;
  if (!input.empty() && input.front() >= 0x01 && input.front() <= 0x06) {
    selector = static_cast<unsigned>(input.front());
    input.remove_prefix(1);
  }
  Harness& h = Harness::get();
  switch (selector) {
    case 0:
      h.addFromClean(Harness::containerEnv("ADD"), input, /*thenDel=*/true);
      break;
    case 1:
      h.addFromClean(Harness::containerEnv("ADD"), input);
      break;
    case 2:
      h.reset();
      h.run(Harness::containerEnv("DEL"), input);
      break;
    case 3:
      h.addFromClean(Harness::containerEnv("ADD"), input);
      h.run(Harness::containerEnv("CHECK"), input);
      break;
    case 4:
      h.reset();
      h.run(nodeEnv("VERSION"), input);
      break;
    case 5:
      h.addFromClean(Harness::containerEnv("ADD"), input);
      h.run(nodeEnv("GC"), input);
      break;
    default:
      h.reset();
      h.run(nodeEnv("STATUS"), input);
      break;
  }
  return 0;
}
