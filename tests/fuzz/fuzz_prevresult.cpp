// Fuzz target: the prevResult parser (cni/result.cpp parseResult), through CHECK. Each input runs
// ADD with a fixed valid config (cniVersion 1.0.0) from a clean state, so a lease and a pod exist,
// then CHECK with the same config and the input as its "prevResult" member, spliced in as text:
//   {"cniVersion":"1.0.0", ..., "prevResult": <input>}
// Input that is not one JSON value makes the whole stdin invalid, which is fine (the decode error
// path is fuzzed too); input that closes the object early and adds members of its own is confined
// like any config (harness.hpp), so it cannot move dataDir.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "harness.hpp"

using sixrd::fuzz::Harness;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  Harness& h = Harness::get();
  const std::string base = sixrd::fuzz::configPrefix("1.0.0");
  h.addFromClean(Harness::containerEnv("ADD"), base + "}");
  std::string stdinBytes = base;
  stdinBytes += R"(,"prevResult":)";
  stdinBytes += input;
  stdinBytes += "}";
  h.run(Harness::containerEnv("CHECK"), stdinBytes);
  return 0;
}
