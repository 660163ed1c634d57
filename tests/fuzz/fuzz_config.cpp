// Fuzz target: the plugin config parser (cni/config.cpp), driven through runPlugin as a runtime
// would. The input is stdin. A first byte 0x01..0x06 picks the verb and is not part of stdin
// (no JSON text starts with a control byte, so nothing is lost); without one the verb is ADD.
//   (none) ADD from a clean state, then DEL when ADD succeeded
//   0x01   ADD alone             0x02 DEL alone (nothing leased: DEL is idempotent)
//   0x03   ADD, then CHECK       0x04 VERSION
//   0x05   ADD, then GC          0x06 STATUS
//   0x07   deep nesting, structure-aware (see deepen() below)
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

// The verb selectors above, on `input` as stdin.
void drive(unsigned selector, std::string_view input) {
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
}

// Selector 0x07, deep nesting, structure-aware: a few bytes stand for a document nested hundreds of
// thousands of levels deep, which byte mutations would never grow to. After 0x07: three bytes,
// little-endian, give the depth (up to 2^24 - 1, cut to kMaxDepth), its low bit the kind (arrays
// "[[1]]" or objects {"a":{"a":1}}); a fourth byte picks the verb as above (modulo 7); the rest is
// stdin with its first '@' replaced by the nested value (no '@': the rest as it is).
constexpr std::size_t kMaxDepth = 600000;

std::string deepen(std::string_view rest, std::size_t depth, bool objects) {
  std::string nested;
  nested.reserve(depth * (objects ? 6 : 2) + 1);
  for (std::size_t i = 0; i < depth; ++i) nested += objects ? R"({"a":)" : "[";
  nested += "1";
  nested.append(depth, objects ? '}' : ']');
  const std::size_t at = rest.find('@');
  if (at == std::string_view::npos) return std::string(rest);
  return std::string(rest.substr(0, at)) + nested + std::string(rest.substr(at + 1));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  unsigned selector = 0;
  if (!input.empty() && input.front() >= 0x01 && input.front() <= 0x07) {
    selector = static_cast<unsigned>(input.front());
    input.remove_prefix(1);
  }
  if (selector == 7) {
    if (input.size() < 4) return 0;
    const std::size_t raw = static_cast<std::uint8_t>(input[0]) |
                            static_cast<std::size_t>(static_cast<std::uint8_t>(input[1])) << 8U |
                            static_cast<std::size_t>(static_cast<std::uint8_t>(input[2])) << 16U;
    const unsigned verb = static_cast<std::uint8_t>(input[3]) % 7U;
    const std::string stdinBytes = deepen(input.substr(4), raw % kMaxDepth, (raw & 1U) != 0);
    drive(verb, stdinBytes);
    return 0;
  }
  drive(selector, input);
  return 0;
}
