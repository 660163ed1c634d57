// Fault injection for tests, through the kernel datapath's StepHook seam (tunnel/datapath.hpp):
// failAt(point) throws, at that step of addPod, what a kernel call failing there would (a
// tunnel::Error of kind kernel, so the plugin reports code 100), with details "SIXRD_TEST_FAULT".
// Points: "after-veth" (pair created), "after-pod-side" (pod configured), "after-host-side" (host
// veth configured, before ADD returns); any other name never fires. Nothing here is in the sixrd
// binary.
#pragma once

#include <string>
#include <string_view>

#include "tunnel/datapath.hpp"

namespace sixrd::test {

inline constexpr std::string_view kFaultVariable = "SIXRD_TEST_FAULT";

inline tunnel::StepHook failAt(std::string point) {
  return [point = std::move(point)](std::string_view step) {
    if (step == point) {
      throw tunnel::Error(tunnel::Error::Kind::kKernel,
                          "injected fault at " + point + " (" + std::string(kFaultVariable) + ")",
                          std::string(kFaultVariable));
    }
  };
}

}  // namespace sixrd::test
