// The error the runtime sees. Thrown anywhere below main(); main's one catch ladder prints it as
// the CNI error JSON on stdout and exits 1.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>

namespace sixrd::cni {

// CNI spec error codes (SPEC.md "Error") and sixrd's own (100+).
enum class Code : unsigned {
  kIncompatibleVersion = 1,
  kUnsupportedField = 2,
  kContainerUnknown = 3,
  kInvalidEnv = 4,
  kIoFailure = 5,
  kDecodeFailure = 6,
  kInvalidConfig = 7,
  kTryAgainLater = 11,
  kNotAvailable = 50,         // STATUS: the plugin cannot serve ADD now
  kNotAvailableDamaged = 51,  // STATUS: and existing pods may be affected
  kKernel = 100,              // a netlink / kernel operation failed
  kSitUnavailable = 101,      // the kernel has no sit/6rd
  kAddressesExhausted = 102,  // no free pod address candidate
  kMissingCapability = 103,   // the process lacks CAP_NET_ADMIN / CAP_SYS_ADMIN
  kCheckFailed = 104,         // CHECK found state that differs from the config
  kConflict = 105,            // the state asked for collides with what is there (name taken)
  kInternal = 199,            // a bug: an exception sixrd did not expect
};

// code() and what() are the error JSON's "code" and "msg", details() its "details". field() is the
// configuration field the error is about ("prefix", "log.level"), when there is one: not printed,
// it lets a caller that wrote the configuration (the installer) point at its own flag for it.
class Error : public std::runtime_error {
 public:
  Error(Code code, const std::string& msg, std::string details = {},
        std::optional<std::string> field = std::nullopt)
      : std::runtime_error(msg),
        code_(code),
        details_(std::move(details)),
        field_(std::move(field)) {}
  [[nodiscard]] Code code() const noexcept { return code_; }
  [[nodiscard]] const std::string& details() const noexcept { return details_; }
  [[nodiscard]] const std::optional<std::string>& field() const noexcept { return field_; }

 private:
  Code code_;
  std::string details_;
  std::optional<std::string> field_;
};

}  // namespace sixrd::cni
