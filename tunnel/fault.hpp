// Fault points for rollback tests: when the environment variable SIXRD_TEST_FAULT names a point,
// reaching it throws InjectedFault, exactly as a failing kernel call would part-way through ADD.
// Points: "after-veth" (pair created), "after-pod-side" (pod configured), "after-host-side"
// (host veth configured, before ADD returns).
#pragma once

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

namespace sixrd::tunnel {

class InjectedFault : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline void faultPoint(std::string_view name) {
  const char* want = std::getenv("SIXRD_TEST_FAULT");
  if (want != nullptr && name == want) {
    throw InjectedFault("injected fault at " + std::string(name) + " (SIXRD_TEST_FAULT)");
  }
}

}  // namespace sixrd::tunnel
