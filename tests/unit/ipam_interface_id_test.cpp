// Pod interface ids and host veth names: deterministic, stable, never reserved.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "ipam/interface_id.hpp"

namespace sixrd::ipam {
namespace {

TEST(InterfaceId, IsDeterministic) {
  EXPECT_EQ(interfaceIdCandidate("sixrd", "abc123", "eth0", 0),
            interfaceIdCandidate("sixrd", "abc123", "eth0", 0));
}

TEST(InterfaceId, IsStableAcrossReleasesAndMachines) {
  // Pinned values (FNV-1a 64 then splitmix64, computed independently): a change here moves every
  // pod of an upgraded node to a new address and renames its host veth.
  EXPECT_EQ(interfaceIdCandidate("sixrd", "abc123", "eth0", 0), 0x78429314a42e0e81ull);
  EXPECT_EQ(interfaceIdCandidate("sixrd", "abc123", "eth0", 1), 0x15609870a1d00750ull);
  EXPECT_EQ(attachmentHash("abc123", "eth0"), 0x42eaa60ed7f09000ull);
  EXPECT_EQ(hostVethName("abc123", "eth0"), "sxa60ed7f09000");
}

TEST(InterfaceId, DiffersByAttempt) {
  std::set<std::uint64_t> seen;
  for (unsigned attempt = 0; attempt < kMaxCandidates; ++attempt) {
    seen.insert(interfaceIdCandidate("sixrd", "abc123", "eth0", attempt));
  }
  EXPECT_EQ(seen.size(), kMaxCandidates);
}

TEST(InterfaceId, DiffersByNetworkContainerAndIfname) {
  const std::uint64_t base = interfaceIdCandidate("sixrd", "abc123", "eth0", 0);
  EXPECT_NE(interfaceIdCandidate("other", "abc123", "eth0", 0), base);
  EXPECT_NE(interfaceIdCandidate("sixrd", "abc124", "eth0", 0), base);
  EXPECT_NE(interfaceIdCandidate("sixrd", "abc123", "eth1", 0), base);
}

TEST(InterfaceId, FieldBoundariesMatter) {
  EXPECT_NE(interfaceIdCandidate("sixrd", "ab", "ceth0", 0),
            interfaceIdCandidate("sixrd", "abc", "eth0", 0));
  EXPECT_NE(interfaceIdCandidate("sixrdab", "", "eth0", 0),
            interfaceIdCandidate("sixrd", "ab", "eth0", 0));
}

TEST(InterfaceId, IsNeverReserved) {
  std::set<std::uint64_t> seen;
  for (int pod = 0; pod < 20000; ++pod) {
    for (unsigned attempt = 0; attempt < 4; ++attempt) {
      const std::uint64_t iid =
          interfaceIdCandidate("sixrd", "pod-" + std::to_string(pod), "eth0", attempt);
      ASSERT_FALSE(isReservedInterfaceId(iid)) << pod << " " << attempt;
      seen.insert(iid);
    }
  }
  EXPECT_EQ(seen.size(), 80000u);  // no collisions in this sample either
}

TEST(InterfaceId, ReservedAreZeroAndTheNode) {
  EXPECT_TRUE(isReservedInterfaceId(0));
  EXPECT_TRUE(isReservedInterfaceId(kNodeInterfaceId));
  EXPECT_EQ(kNodeInterfaceId, 1u);
  EXPECT_FALSE(isReservedInterfaceId(2));
  EXPECT_FALSE(isReservedInterfaceId(0xffffffffffffffffull));
}

TEST(InterfaceId, ReservedRfc5453EthernetRangeEdges) {
  EXPECT_FALSE(isReservedInterfaceId(0x02005efffdffffffull));
  EXPECT_TRUE(isReservedInterfaceId(0x02005efffe000000ull));
  EXPECT_TRUE(isReservedInterfaceId(0x02005efffe123456ull));
  EXPECT_TRUE(isReservedInterfaceId(0x02005efffeffffffull));
  EXPECT_FALSE(isReservedInterfaceId(0x02005effff000000ull));
}

TEST(InterfaceId, ReservedRfc5453SubnetAnycastRangeEdges) {
  EXPECT_FALSE(isReservedInterfaceId(0xfdffffffffffff7full));
  EXPECT_TRUE(isReservedInterfaceId(0xfdffffffffffff80ull));
  EXPECT_TRUE(isReservedInterfaceId(0xfdffffffffffffffull));
  EXPECT_FALSE(isReservedInterfaceId(0xfe00000000000000ull));
}

TEST(HostVeth, PrefixIsSx) { EXPECT_EQ(hostVethPrefix(), "sx"); }

TEST(HostVeth, AttachmentHashIsDeterministicAndDistinguishesAttachments) {
  EXPECT_EQ(attachmentHash("abc123", "eth0"), attachmentHash("abc123", "eth0"));
  EXPECT_NE(attachmentHash("abc123", "eth0"), attachmentHash("abc123", "eth1"));
  EXPECT_NE(attachmentHash("abc123", "eth0"), attachmentHash("abc124", "eth0"));
  EXPECT_NE(attachmentHash("ab", "ceth0"), attachmentHash("abc", "eth0"));
}

TEST(HostVeth, NameIsSxPlus12LowercaseHexDigitsOfTheHash) {
  const std::string name = hostVethName("abc123", "eth0");
  ASSERT_EQ(name.size(), 14u);  // < IFNAMSIZ (16, including the NUL)
  EXPECT_EQ(name.substr(0, 2), "sx");
  EXPECT_EQ(name.find_first_not_of("0123456789abcdef", 2), std::string::npos);
  EXPECT_EQ(std::stoull(name.substr(2), nullptr, 16),
            attachmentHash("abc123", "eth0") & 0xffffffffffffull);
}

// Candidate 0 is the name every release before the candidates had, so existing veths keep theirs;
// the others are distinct names of the same form.
TEST(HostVeth, CandidateNamesAreDistinctStableAndOfTheSameForm) {
  EXPECT_EQ(hostVethName("abc123", "eth0", 0), "sxa60ed7f09000");
  std::set<std::string> names;
  for (unsigned attempt = 0; attempt < kMaxHostVethCandidates; ++attempt) {
    const std::string name = hostVethName("abc123", "eth0", attempt);
    EXPECT_EQ(name.size(), 14u) << attempt;
    EXPECT_EQ(name.substr(0, 2), "sx") << attempt;
    EXPECT_EQ(name.find_first_not_of("0123456789abcdef", 2), std::string::npos) << attempt;
    EXPECT_EQ(name, hostVethName("abc123", "eth0", attempt)) << attempt;
    names.insert(name);
  }
  EXPECT_EQ(names.size(), kMaxHostVethCandidates);
  EXPECT_NE(hostVethName("abc123", "eth0", 1), hostVethName("abc123", "eth1", 1));
}

}  // namespace
}  // namespace sixrd::ipam
