// The names of sixrd's sit probe devices (sxprobe<pid>): only those are ever taken for a dead
// process's leftover. Removing them needs sit, so that part runs in the VM (tests/install).
#include <gtest/gtest.h>

#include <optional>

#include "tunnel/probe_name.hpp"

namespace sixrd::tunnel {
namespace {

TEST(ProbeDevice, NameCarriesThePid) {
  EXPECT_EQ(probeDevicePid("sxprobe1"), 1);
  EXPECT_EQ(probeDevicePid("sxprobe4194304"), 4194304);
  EXPECT_EQ(probeDevicePid("sxprobe31337"), 31337);
}

TEST(ProbeDevice, AnyOtherNameIsNotAProbe) {
  for (const char* name :
       {"sxprobe", "sxprobe0", "sxprobe012", "sxprobe12345678", "sxprobe12a", "sxprobe-1",
        "sxprobe 1", "xprobe12", "sixrd0", "sx0123456789ab", "SXPROBE12", "sxprobe1.2"}) {
    EXPECT_EQ(probeDevicePid(name), std::nullopt) << name;
  }
}

}  // namespace
}  // namespace sixrd::tunnel
