// Everything tunnel/ throws: one family under tunnel::Error (util/layer_error.hpp). details() names
// the netlink operation and object, or CNI_NETNS.
#pragma once

#include <string>
#include <utility>

#include "util/layer_error.hpp"

namespace sixrd::tunnel {

enum class ErrorKind {
  kKernel,          // a kernel operation failed (netlink, a sysctl, a probe socket)
  kSitUnavailable,  // the kernel cannot create sit devices
  kNode,            // the node cannot be resolved from the config
  kNetnsMissing,    // a namespace path that does not exist (a vanished pod)
  kNetnsInvalid,    // a namespace path that is not a network namespace, or cannot be entered
  kConflict,        // the state asked for collides with what is there
};
class Error : public util::LayerError<ErrorKind> {
 public:
  using LayerError::LayerError;
};

// A netlink operation failed. what() reads "<op> <object>: <nl_geterror>"; details() "<op>
// <object>".
class NetlinkError : public Error {
 public:
  NetlinkError(std::string op, std::string object, int nlError, const std::string& message)
      : Error(Kind::kKernel, message, op + " " + object),
        op_(std::move(op)),
        object_(std::move(object)),
        nlError_(nlError) {}
  [[nodiscard]] const std::string& op() const noexcept { return op_; }
  [[nodiscard]] const std::string& object() const noexcept { return object_; }
  [[nodiscard]] int nlError() const noexcept { return nlError_; }  // positive NLE_* code

 private:
  std::string op_;
  std::string object_;
  int nlError_;
};

// Reading or writing /proc/sys failed. what() reads "sysctl <key>[=<value>]: <strerror>".
class SysctlError : public Error {
 public:
  SysctlError(int err, const std::string& message) : Error(Kind::kKernel, message), errno_(err) {}
  [[nodiscard]] int error() const noexcept { return errno_; }  // the errno

 private:
  int errno_;
};

// The kernel cannot create sit devices (CONFIG_IPV6_SIT / the sit module is missing).
class SitUnavailable : public Error {
 public:
  explicit SitUnavailable(const std::string& message) : Error(Kind::kSitUnavailable, message) {}
};

// The node cannot be resolved from the config (no IPv4 inside the underlay, interface missing...).
// what() names the config field to set.
class NodeError : public Error {
 public:
  explicit NodeError(const std::string& message) : Error(Kind::kNode, message) {}
};

// A namespace path that cannot be opened or is not a network namespace. details() "CNI_NETNS".
class NetnsError : public Error {
 public:
  NetnsError(const std::string& message, bool missing)
      : Error(missing ? Kind::kNetnsMissing : Kind::kNetnsInvalid, message, "CNI_NETNS") {}
  // True when the path does not exist (a vanished pod: DEL treats that as done).
  [[nodiscard]] bool missing() const noexcept { return kind() == Kind::kNetnsMissing; }
};

// The state asked for conflicts with what is there (an interface name already taken, a device of
// another kind under the tunnel's name, ...).
class Conflict : public Error {
 public:
  explicit Conflict(const std::string& message) : Error(Kind::kConflict, message) {}
};

// A probe socket could not be opened (typically: no CAP_NET_RAW). what() names the socket.
class ProbeError : public Error {
 public:
  explicit ProbeError(const std::string& message) : Error(Kind::kKernel, message) {}
};

}  // namespace sixrd::tunnel
