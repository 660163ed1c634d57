// The one table from exceptions to what the runtime sees (cni::toCniError): every kind of each
// layer's error family gets its CNI code, the details its error carries, and an invalid input its
// field; what no family claims is an internal error (199).
#include <gtest/gtest.h>

#include <exception>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>

#include "cni/error.hpp"
#include "cni/plugin.hpp"
#include "ipam/lease_store.hpp"
#include "ipam/sixrd_math.hpp"
#include "tunnel/datapath.hpp"

namespace sixrd::cni {
namespace {

struct Mapping {
  const char* name;
  std::function<void()> raise;
  Code code;
  std::string details;
  std::optional<std::string> field;
};

std::ostream& operator<<(std::ostream& os, const Mapping& m) { return os << m.name; }

const Mapping kMappings[] = {
    {"CniErrorAsItIs", [] { throw Error(Code::kTryAgainLater, "busy", "d", "f"); },
     Code::kTryAgainLater, "d", "f"},
    {"IpamInvalidInput", [] { throw ipam::InvalidInput("prefix", "prefix \"x\" is not..."); },
     Code::kInvalidConfig, "prefix", "prefix"},
    {"IpamAddressesExhausted", [] { throw ipam::AddressesExhausted("no address"); },
     Code::kAddressesExhausted, "", std::nullopt},
    {"IpamStoreError", [] { throw ipam::StoreError("lease store: cannot create /x: EACCES"); },
     Code::kIoFailure, "lease store", std::nullopt},
    {"TunnelNetlinkError", [] { throw tunnel::NetlinkError("add route", "::/0", 3, "add route"); },
     Code::kKernel, "add route ::/0", std::nullopt},
    {"TunnelSysctlError", [] { throw tunnel::SysctlError(13, "sysctl x: Permission denied"); },
     Code::kKernel, "", std::nullopt},
    {"TunnelProbeError", [] { throw tunnel::ProbeError("open raw ICMPv6 socket: EPERM"); },
     Code::kKernel, "", std::nullopt},
    {"TunnelKernelKind",
     [] { throw tunnel::Error(tunnel::Error::Kind::kKernel, "injected", "SIXRD_TEST_FAULT"); },
     Code::kKernel, "SIXRD_TEST_FAULT", std::nullopt},
    {"TunnelSitUnavailable", [] { throw tunnel::SitUnavailable("no sit"); }, Code::kSitUnavailable,
     "", std::nullopt},
    {"TunnelNodeError", [] { throw tunnel::NodeError("no IPv4 address inside underlay"); },
     Code::kInvalidConfig, "", std::nullopt},
    {"TunnelNetnsMissing", [] { throw tunnel::NetnsError("netns /x: ENOENT", true); },
     Code::kContainerUnknown, "CNI_NETNS", std::nullopt},
    {"TunnelNetnsInvalid", [] { throw tunnel::NetnsError("netns /x: not a netns", false); },
     Code::kInvalidEnv, "CNI_NETNS", std::nullopt},
    {"TunnelConflict", [] { throw tunnel::Conflict("eth0 exists"); }, Code::kConflict, "",
     std::nullopt},
    {"Json", [] { [[maybe_unused]] const auto doc = nlohmann::json::parse("{"); },
     Code::kDecodeFailure, "", std::nullopt},
    {"StdException", [] { throw std::invalid_argument("a bug"); }, Code::kInternal, "",
     std::nullopt},
    {"NotAnException", [] { throw 42; }, Code::kInternal, "", std::nullopt},
};

class ToCniError : public ::testing::TestWithParam<Mapping> {};
INSTANTIATE_TEST_SUITE_P(EveryFamily, ToCniError, ::testing::ValuesIn(kMappings),
                         [](const auto& info) { return std::string(info.param.name); });

TEST_P(ToCniError, MapsTheKindToItsCodeWithItsDetailsAndField) {
  const Mapping& m = GetParam();
  std::exception_ptr thrown;
  try {
    m.raise();
  } catch (...) {
    thrown = std::current_exception();
  }
  ASSERT_TRUE(thrown) << "the case threw nothing";
  const Error e = toCniError(thrown);
  EXPECT_EQ(static_cast<unsigned>(e.code()), static_cast<unsigned>(m.code));
  EXPECT_EQ(e.details(), m.details);
  EXPECT_EQ(e.field(), m.field);
  EXPECT_FALSE(std::string(e.what()).empty());
}

TEST(ToCniError, EveryKindOfEachFamilyHasACodeOtherThanInternal) {
  for (const auto kind : {ipam::Error::Kind::kInvalidInput, ipam::Error::Kind::kAddressesExhausted,
                          ipam::Error::Kind::kStore}) {
    const Error e = toCniError(std::make_exception_ptr(ipam::Error(kind, "x")));
    EXPECT_NE(e.code(), Code::kInternal) << static_cast<int>(kind);
  }
  for (const auto kind : {tunnel::Error::Kind::kKernel, tunnel::Error::Kind::kSitUnavailable,
                          tunnel::Error::Kind::kNode, tunnel::Error::Kind::kNetnsMissing,
                          tunnel::Error::Kind::kNetnsInvalid, tunnel::Error::Kind::kConflict}) {
    const Error e = toCniError(std::make_exception_ptr(tunnel::Error(kind, "x")));
    EXPECT_NE(e.code(), Code::kInternal) << static_cast<int>(kind);
  }
}

TEST(ToCniError, TheLeaseStoresOwnInputChecksAreInvalidInputNotInternal) {
  try {
    ipam::LeaseStore("/tmp", "..");
    FAIL() << "LeaseStore accepted \"..\" as a network name";
  } catch (...) {
    const Error e = toCniError(std::current_exception());
    EXPECT_EQ(e.code(), Code::kInvalidConfig);
    EXPECT_EQ(e.field(), std::optional<std::string>("name"));
  }
}

}  // namespace
}  // namespace sixrd::cni
