// Capabilities. The expected state is read independently from /proc/self/status, not from libcap.
// Tests that change capabilities run in a forked child (EXPECT_EXIT) so the test process keeps its
// own.
#include <gtest/gtest.h>
#include <sys/capability.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "cni/caps.hpp"
#include "cni/error.hpp"

namespace sixrd::cni {
namespace {

constexpr std::uint64_t kNetAdmin = std::uint64_t{1} << 12U;  // CAP_NET_ADMIN
constexpr std::uint64_t kSysAdmin = std::uint64_t{1} << 21U;  // CAP_SYS_ADMIN
constexpr std::uint64_t kKernelCaps = kNetAdmin | kSysAdmin;

// "CapEff", "CapPrm", "CapInh" from /proc/self/status.
std::uint64_t procCaps(const std::string& which) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(which + ":", 0) == 0) {
      return std::stoull(line.substr(which.size() + 1), nullptr, 16);
    }
  }
  ADD_FAILURE() << which << " not in /proc/self/status";
  return 0;
}

std::vector<std::string> expectedMissing(std::uint64_t effective) {
  std::vector<std::string> missing;
  if ((effective & kNetAdmin) == 0) missing.emplace_back("CAP_NET_ADMIN");
  if ((effective & kSysAdmin) == 0) missing.emplace_back("CAP_SYS_ADMIN");
  return missing;
}

[[noreturn]] void exitWith(bool ok, const std::string& why) {
  if (!ok) {
    std::fprintf(stderr, "%s\n", why.c_str());
  }
  std::exit(ok ? 0 : 1);
}

// Calls `call`, which must refuse with code 103 naming both capabilities; exits with 0 when it
// does and `holds(message)` is true as well.
template <class Call, class Holds>
[[noreturn]] void exitOnRefusal(Call call, Holds holds) {
  try {
    call();
  } catch (const Error& e) {
    const std::string msg = e.what();
    exitWith(e.code() == Code::kMissingCapability &&
                 msg.find("CAP_NET_ADMIN and CAP_SYS_ADMIN") != std::string::npos && holds(msg),
             msg);
  }
  exitWith(false, "nothing thrown");
}

void dropAll() {
  cap_t none = cap_init();
  if (none == nullptr || cap_set_proc(none) != 0) {
    exitWith(false, "cap_set_proc failed");
  }
  cap_free(none);
}

TEST(CniCaps, MissingCapabilitiesMatchesTheKernelsView) {
  EXPECT_EQ(missingCapabilities(), expectedMissing(procCaps("CapEff")));
}

TEST(CniCaps, AsRootBothArePresent) {
  if (geteuid() != 0 || (procCaps("CapEff") & kKernelCaps) != kKernelCaps) {
    GTEST_SKIP() << "not running as a privileged root";
  }
  EXPECT_TRUE(missingCapabilities().empty());
  EXPECT_NO_THROW(requireKernelCapabilities());
}

TEST(CniCaps, WithoutCapabilitiesBothAreReportedMissing) {
  EXPECT_EXIT(
      {
        dropAll();
        const std::vector<std::string> missing = missingCapabilities();
        exitWith(missing == std::vector<std::string>{"CAP_NET_ADMIN", "CAP_SYS_ADMIN"} &&
                     procCaps("CapEff") == 0,
                 "missingCapabilities() did not report both");
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(CniCaps, RequireKernelCapabilitiesNamesTheMissingOnesAndTheFix) {
  EXPECT_EXIT(
      {
        dropAll();
        exitOnRefusal(requireKernelCapabilities, [](const std::string& msg) {
          return msg.find("run sixrd as root or grant CAP_NET_ADMIN and CAP_SYS_ADMIN") !=
                 std::string::npos;
        });
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(CniCaps, DropKeepsOnlyNetAdminAndSysAdmin) {
  const std::uint64_t permittedBefore = procCaps("CapPrm");
  const std::uint64_t inheritableBefore = procCaps("CapInh");
  EXPECT_EXIT(
      {
        dropToKernelCapabilities();
        const std::uint64_t kept = permittedBefore & kKernelCaps;
        exitWith(procCaps("CapEff") == kept && procCaps("CapPrm") == kept &&
                     procCaps("CapInh") == (inheritableBefore & kKernelCaps) &&
                     procCaps("CapAmb") == 0,
                 "unexpected sets after drop");
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(CniCaps, AfterDropTheKernelCapabilitiesStillSuffice) {
  if ((procCaps("CapPrm") & kKernelCaps) != kKernelCaps) {
    GTEST_SKIP() << "CAP_NET_ADMIN and CAP_SYS_ADMIN are not permitted here";
  }
  EXPECT_EXIT(
      {
        dropToKernelCapabilities();
        requireKernelCapabilities();
        exitWith(missingCapabilities().empty(), "a kernel capability went missing");
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(CniCaps, DropWithoutCapabilitiesIsNotAnError) {
  EXPECT_EXIT(
      {
        dropAll();
        dropToKernelCapabilities();
        exitWith(procCaps("CapEff") == 0 && procCaps("CapPrm") == 0, "caps appeared");
      },
      ::testing::ExitedWithCode(0), "");
}

// What a CNI call runs: one read of the sets, then the check, then the drop.
TEST(CniCaps, RequireAndDropKeepsOnlyNetAdminAndSysAdmin) {
  if ((procCaps("CapEff") & kKernelCaps) != kKernelCaps) {
    GTEST_SKIP() << "CAP_NET_ADMIN and CAP_SYS_ADMIN are not effective here";
  }
  const std::uint64_t permittedBefore = procCaps("CapPrm");
  EXPECT_EXIT(
      {
        requireAndDropToKernelCapabilities();
        const std::uint64_t kept = permittedBefore & kKernelCaps;
        exitWith(procCaps("CapEff") == kept && procCaps("CapPrm") == kept &&
                     missingCapabilities().empty(),
                 "unexpected sets after requireAndDropToKernelCapabilities");
      },
      ::testing::ExitedWithCode(0), "");
}

// Without the two, it refuses as requireKernelCapabilities does and drops nothing more.
TEST(CniCaps, RequireAndDropWithoutCapabilitiesRefusesWithCode103) {
  EXPECT_EXIT(
      {
        // CAP_CHOWN alone when it is permitted (as root), to see that a refusal drops nothing.
        cap_t only = cap_init();
        const cap_value_t chown[] = {CAP_CHOWN};
        if ((procCaps("CapPrm") & (std::uint64_t{1} << CAP_CHOWN)) != 0 &&
            (only == nullptr || cap_set_flag(only, CAP_PERMITTED, 1, chown, CAP_SET) != 0 ||
             cap_set_flag(only, CAP_EFFECTIVE, 1, chown, CAP_SET) != 0)) {
          exitWith(false, "cap_set_flag failed");
        }
        if (cap_set_proc(only) != 0) exitWith(false, "cap_set_proc failed");
        cap_free(only);
        const std::uint64_t effectiveBefore = procCaps("CapEff");
        exitOnRefusal(requireAndDropToKernelCapabilities, [effectiveBefore](const std::string&) {
          return procCaps("CapEff") == effectiveBefore;
        });
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace sixrd::cni
