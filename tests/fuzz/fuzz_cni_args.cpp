// Fuzz target: CNI_ARGS ("K=V;K2=V2", cni/request.cpp parseArgs). The input is the whole
// variable (any bytes, NUL included); everything else is a valid ADD with a fixed config, from a
// clean state.
#include <cstddef>
#include <cstdint>
#include <string>

#include "harness.hpp"

using sixrd::fuzz::Harness;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  sixrd::fuzz::Vars env = Harness::containerEnv("ADD");
  env["CNI_ARGS"] = std::string(reinterpret_cast<const char*>(data), size);
  Harness::get().addFromClean(env, sixrd::fuzz::configPrefix("1.1.0") + "}");
  return 0;
}
