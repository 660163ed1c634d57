// 6rd arithmetic: node /64 from prefix + underlay + node IPv4, and back.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "ipam/sixrd_math.hpp"

namespace sixrd::ipam {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

SixrdPlan plan(const char* prefix, const char* underlay) {
  return SixrdPlan::make(parseIpv6Prefix(prefix, "prefix"), parseIpv4Subnet(underlay, "underlay"));
}

std::string node64Of(const char* prefix, const char* underlay, const char* node) {
  return formatPrefix(nodePrefix(plan(prefix, underlay), parseIpv4(node, "nodeIP")).node64);
}

// Runs `fn`, expects InvalidInput, and returns it for the caller to inspect.
template <typename Fn>
InvalidInput invalid(Fn fn) {
  try {
    fn();
  } catch (const InvalidInput& e) {
    return e;
  }
  ADD_FAILURE() << "expected InvalidInput";
  return InvalidInput("", "");
}

// --- The worked examples -------------------------------------------------------------------------

TEST(SixrdMath, DesignExamplePrefix48Underlay16) {
  const NodePrefix node =
      nodePrefix(plan("fd00:10::/48", "10.20.0.0/16"), parseIpv4("10.20.3.7", "nodeIP"));
  EXPECT_EQ(formatPrefix(node.node64), "fd00:10:0:307::/64");
  EXPECT_EQ(formatIpv6(node.overlayAddr), "fd00:10:0:307::1");
  EXPECT_EQ(formatIpv4(node.nodeIp), "10.20.3.7");
}

TEST(SixrdMath, Prefix56Underlay24PutsTheHostByteInBits56To63) {
  EXPECT_EQ(node64Of("2001:db8:ab:cd00::/56", "192.168.1.0/24", "192.168.1.155"),
            "2001:db8:ab:cd9b::/64");
}

// --- Prefix and underlay lengths -----------------------------------------------------------------

TEST(SixrdMath, Prefix32Underlay16PutsHostBitsInBits32To47) {
  EXPECT_EQ(node64Of("2001:db8::/32", "10.20.0.0/16", "10.20.3.7"), "2001:db8:307::/64");
}

TEST(SixrdMath, Prefix32WithUnderlay0UsesExactly64Bits) {
  EXPECT_EQ(node64Of("2001:db8::/32", "0.0.0.0/0", "198.18.3.7"), "2001:db8:c612:307::/64");
}

TEST(SixrdMath, Underlay0EmbedsAll32BitsOfTheNode) {
  EXPECT_EQ(node64Of("fd00::/16", "0.0.0.0/0", "255.255.255.254"), "fd00:ffff:fffe::/64");
}

TEST(SixrdMath, Underlay32HasNoHostBitsSoTheNode64IsThePaddedPrefix) {
  EXPECT_EQ(node64Of("fd00:10::/48", "10.20.3.7/32", "10.20.3.7"), "fd00:10::/64");
  EXPECT_EQ(node64Of("fd00:10:0:abcd::/64", "10.20.3.7/32", "10.20.3.7"), "fd00:10:0:abcd::/64");
}

TEST(SixrdMath, HostBitsThatAreNotByteAlignedLandAtTheRightOffset) {
  // 198.18.26.5 in 198.18.16.0/20: host bits 0xa05 (12 bits) at bits 40..51.
  EXPECT_EQ(node64Of("fd12:3456:7800::/40", "198.18.16.0/20", "198.18.26.5"),
            "fd12:3456:78a0:5000::/64");
}

// --- Network and broadcast addresses -------------------------------------------------------------

TEST(SixrdMath, NetworkAddressIsRejectedForUnderlay30OrShorter) {
  for (const char* underlay : {"10.20.0.0/16", "198.18.0.4/30"}) {
    const SixrdPlan p = plan("fd00:10::/48", underlay);
    const InvalidInput e = invalid([&] { nodePrefix(p, p.underlay.addr); });
    EXPECT_EQ(e.field(), "nodeIP");
    EXPECT_THAT(e.what(), AllOf(HasSubstr("network address"), HasSubstr(underlay)));
  }
}

TEST(SixrdMath, BroadcastAddressIsRejectedForUnderlay30OrShorter) {
  for (const char* underlay : {"10.20.0.0/16", "198.18.0.4/30"}) {
    const SixrdPlan p = plan("fd00:10::/48", underlay);
    const Ipv4Addr broadcast = p.underlay.addr | ((1u << p.hostBits()) - 1);
    const InvalidInput e = invalid([&] { nodePrefix(p, broadcast); });
    EXPECT_EQ(e.field(), "nodeIP");
    EXPECT_THAT(e.what(), AllOf(HasSubstr("broadcast address"), HasSubstr(underlay)));
  }
}

TEST(SixrdMath, Underlay30HostsBetweenNetworkAndBroadcastAreFine) {
  EXPECT_EQ(node64Of("fd00:10::/48", "198.18.0.4/30", "198.18.0.5"), "fd00:10:0:4000::/64");
  EXPECT_EQ(node64Of("fd00:10::/48", "198.18.0.4/30", "198.18.0.6"), "fd00:10:0:8000::/64");
}

TEST(SixrdMath, Underlay31HasNoNetworkOrBroadcastAddress) {
  EXPECT_EQ(node64Of("fd00:10::/48", "198.18.0.0/31", "198.18.0.0"), "fd00:10::/64");
  EXPECT_EQ(node64Of("fd00:10::/48", "198.18.0.0/31", "198.18.0.1"), "fd00:10:0:8000::/64");
}

TEST(SixrdMath, Underlay32NodeIsTheOnlyAddressAndIsFine) {
  EXPECT_NO_THROW(node64Of("fd00:10::/48", "198.18.0.0/32", "198.18.0.0"));
}

TEST(SixrdMath, NodeOutsideTheUnderlayIsRejectedNamingBoth) {
  const InvalidInput e = invalid([] { node64Of("fd00:10::/48", "10.20.0.0/16", "10.21.3.7"); });
  EXPECT_EQ(e.field(), "nodeIP");
  EXPECT_THAT(e.what(), AllOf(HasSubstr("10.21.3.7"), HasSubstr("10.20.0.0/16")));
}

// --- The kernel's 6rd rule -----------------------------------------------------------------------

TEST(SixrdMath, SixrdRuleAcceptsExactly64Bits) {
  EXPECT_NO_THROW(plan("fd00:10::/48", "10.20.0.0/16"));
  EXPECT_NO_THROW(plan("fd00:10:0:8000::/49", "10.20.0.0/17"));
  EXPECT_NO_THROW(plan("fd00:10:0:abcd::/64", "10.20.3.7/32"));
}

TEST(SixrdMath, SixrdRuleRejects65BitsWithTheNumbers) {
  const InvalidInput e = invalid([] { plan("fd00:10::/49", "10.20.0.0/16"); });
  EXPECT_EQ(e.field(), "prefix");
  EXPECT_THAT(e.what(), AllOf(HasSubstr("49 + 16 = 65"), HasSubstr("fd00:10::/49"),
                              HasSubstr("10.20.0.0/16"), HasSubstr("/48 or shorter")));
}

TEST(SixrdMath, SixrdRuleMessageNamesTheFieldTheNumbersAndTheFix) {
  const InvalidInput e = invalid([] { plan("fd00:10::/60", "10.20.0.0/16"); });
  EXPECT_EQ(e.field(), "prefix");
  EXPECT_THAT(e.what(),
              HasSubstr("prefix fd00:10::/60 with underlay 10.20.0.0/16 needs 60 + 16 = 76 bits, "
                        "more than the 64 of a node /64: use a prefix of /48 or shorter, or a "
                        "longer underlay"));
}

TEST(SixrdMath, PrefixLongerThan64IsRejectedEvenWithUnderlay32) {
  const InvalidInput e = invalid([] { plan("fd00:10::/65", "10.20.3.7/32"); });
  EXPECT_EQ(e.field(), "prefix");
  EXPECT_THAT(e.what(), HasSubstr("65 + 0 = 65"));
}

TEST(SixrdMath, PrefixOfLength0IsRejected) {
  const InvalidInput e = invalid([] { plan("::/0", "10.20.3.7/32"); });
  EXPECT_EQ(e.field(), "prefix");
  EXPECT_THAT(e.what(), HasSubstr("::/0"));
}

TEST(SixrdMath, MakeRechecksHandBuiltPlans) {
  Ipv6Prefix prefix = parseIpv6Prefix("fd00:10::/48", "prefix");
  prefix.len = 24;  // fd00:10::/24 has bits set past /24
  const InvalidInput e = invalid([&] { SixrdPlan::make(prefix, {0x0a140000, 16}); });
  EXPECT_EQ(e.field(), "prefix");
  EXPECT_THAT(e.what(), HasSubstr("did you mean fd00::/24?"));

  const SixrdPlan bad{parseIpv6Prefix("fd00:10::/60", "prefix"), {0x0a140000, 16}};
  EXPECT_THROW(nodePrefix(bad, 0x0a140307), InvalidInput);
}

// --- Parsers -------------------------------------------------------------------------------------

TEST(SixrdParse, PrefixWithBitsPastItsLengthSuggestsTheMaskedValue) {
  const InvalidInput e = invalid([] { parseIpv6Prefix("fd00:10::1/48", "prefix"); });
  EXPECT_EQ(e.field(), "prefix");
  EXPECT_STREQ(e.what(),
               "prefix \"fd00:10::1/48\" has bits set past /48: did you mean fd00:10::/48?");
}

TEST(SixrdParse, UnderlayWithBitsPastItsLengthSuggestsTheMaskedValue) {
  const InvalidInput e = invalid([] { parseIpv4Subnet("10.20.3.7/16", "underlay"); });
  EXPECT_EQ(e.field(), "underlay");
  EXPECT_STREQ(e.what(),
               "underlay \"10.20.3.7/16\" has bits set past /16: did you mean 10.20.0.0/16?");
}

TEST(SixrdParse, ValidPrefixesAndSubnetsRoundTrip) {
  for (const char* text :
       {"fd00:10::/48", "2001:db8::/32", "::/0", "fd00:10:0:307::1/128", "2001:db8:ab:cd00::/56"}) {
    EXPECT_EQ(formatPrefix(parseIpv6Prefix(text, "prefix")), text);
  }
  for (const char* text : {"10.20.0.0/16", "0.0.0.0/0", "198.18.0.5/32", "192.168.1.0/24"}) {
    EXPECT_EQ(formatSubnet(parseIpv4Subnet(text, "underlay")), text);
  }
  EXPECT_EQ(formatPrefix(parseIpv6Prefix("FD00:0010:0000::/48", "prefix")), "fd00:10::/48");
}

TEST(SixrdParse, MalformedPrefixesAreRejectedNamingTheField) {
  for (const char* text :
       {"", "garbage", "fd00:10::", "fd00:10::/", "/48", "garbage/48", "fd00:10::/129",
        "fd00:10::/-1", "fd00:10::/+48", "fd00:10::/4 8", "fd00:10::/48 ", " fd00:10::/48",
        "fd00:10::/48/1", "fd00:10::/0x30", "fd00:10::/1000", "10.20.0.0/16", "fd00:10:::/48",
        "fd00:10::%eth0/48"}) {
    const InvalidInput e = invalid([&] { parseIpv6Prefix(text, "prefix"); });
    EXPECT_EQ(e.field(), "prefix") << text;
    EXPECT_THAT(e.what(), HasSubstr(std::string("\"") + text + "\"")) << text;
  }
}

TEST(SixrdParse, MalformedSubnetsAreRejectedNamingTheField) {
  for (const char* text :
       {"", "10.20.0.0", "10.20.0/16", "10.20.0.0/33", "10.20.0.0/", "/16", "010.20.0.0/16",
        "10.20.0.0/16 ", "10.20.0.256/32", "fd00::/16", "10.20.0.0/1e1", "0x0a.20.0.0/16"}) {
    const InvalidInput e = invalid([&] { parseIpv4Subnet(text, "underlay"); });
    EXPECT_EQ(e.field(), "underlay") << text;
    EXPECT_THAT(e.what(), HasSubstr(std::string("\"") + text + "\"")) << text;
  }
}

TEST(SixrdParse, MalformedAddressesAreRejectedNamingTheField) {
  for (const char* text :
       {"", "10.20.3", "10.20.3.7/32", "10.20.3.256", "fd00::1", " 10.20.3.7", "10.020.3.7"}) {
    EXPECT_EQ(invalid([&] { parseIpv4(text, "nodeIP"); }).field(), "nodeIP") << text;
  }
  for (const char* text : {"", "fd00::1/128", "fd00:::1", "10.20.3.7", "fd00::1 ", "fe80::1%eth0",
                           "1:2:3:4:5:6:7:8:9"}) {
    EXPECT_EQ(invalid([&] { parseIpv6(text, "address"); }).field(), "address") << text;
  }
  EXPECT_THROW(parseIpv6(std::string_view("::1\0junk", 8), "address"), InvalidInput);
}

TEST(SixrdParse, AddressesParse) {
  EXPECT_EQ(parseIpv4("10.20.3.7", "nodeIP"), 0x0a140307u);
  EXPECT_EQ(formatIpv6(parseIpv6("fd00:10:0:307::1", "address")), "fd00:10:0:307::1");
}

// --- Formatting ----------------------------------------------------------------------------------

TEST(SixrdFormat, Ipv6IsRfc5952Text) {
  const std::pair<const char*, const char*> cases[] = {
      {"2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},  // lowercase, no leading zeros
      {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},               // first of equal runs
      {"2001:db8:0:0:0:1:0:0", "2001:db8::1:0:0"},                 // longest run
      {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},            // no :: for one group
      {"0:0:0:0:0:0:0:0", "::"},
      {"0:0:0:0:0:0:0:1", "::1"},
      {"fd00:10:0:0:0:0:0:0", "fd00:10::"},
  };
  for (const auto& [in, out] : cases) EXPECT_EQ(formatIpv6(parseIpv6(in, "address")), out) << in;
}

TEST(SixrdFormat, Ipv4AndPrefixes) {
  EXPECT_EQ(formatIpv4(0xc6120307), "198.18.3.7");
  EXPECT_EQ(formatIpv4List({}), "");
  EXPECT_EQ(formatIpv4List({0xc6120307}), "198.18.3.7");
  EXPECT_EQ(formatIpv4List({0xc6120307, 0x0a140001}), "198.18.3.7, 10.20.0.1");
  EXPECT_EQ(formatSubnet({0x0a140000, 16}), "10.20.0.0/16");
  EXPECT_EQ(formatPrefix(parseIpv6Prefix("fd00:10::/48", "prefix")), "fd00:10::/48");
}

// --- contains / withInterfaceId ------------------------------------------------------------------

TEST(SixrdMath, ContainsComparesOnlyThePrefixBits) {
  const Ipv6Prefix p = parseIpv6Prefix("fd00:10::/48", "prefix");
  EXPECT_TRUE(contains(p, parseIpv6("fd00:10:0:ffff::1", "a")));
  EXPECT_FALSE(contains(p, parseIpv6("fd00:11::1", "a")));
  const Ipv4Subnet s = parseIpv4Subnet("10.20.0.0/16", "underlay");
  EXPECT_TRUE(contains(s, 0x0a14ffff));
  EXPECT_FALSE(contains(s, 0x0a150000));
  EXPECT_TRUE(contains(Ipv4Subnet{0, 0}, 0xffffffff));
}

TEST(SixrdMath, WithInterfaceIdFillsTheLow64Bits) {
  const Ipv6Prefix node64 = parseIpv6Prefix("fd00:10:0:307::/64", "prefix");
  EXPECT_EQ(formatIpv6(withInterfaceId(node64, 0x0123456789abcdefull)),
            "fd00:10:0:307:123:4567:89ab:cdef");
  EXPECT_EQ(formatIpv6(withInterfaceId(node64, 1)), "fd00:10:0:307::1");
}

// --- whois ---------------------------------------------------------------------------------------

TEST(SixrdWhois, FindsTheNodeAndInterfaceIdOfAnAddress) {
  const WhoIs who =
      whois(plan("fd00:10::/48", "10.20.0.0/16"), parseIpv6("fd00:10:0:307::abcd", "address"));
  EXPECT_EQ(formatIpv4(who.nodeIp), "10.20.3.7");
  EXPECT_EQ(formatPrefix(who.node64), "fd00:10:0:307::/64");
  EXPECT_EQ(who.interfaceId, 0xabcdu);
}

TEST(SixrdWhois, AddressOutsideThePrefixIsRejected) {
  const InvalidInput e = invalid([] {
    whois(plan("fd00:10::/48", "10.20.0.0/16"), parseIpv6("fd00:11:0:307::1", "address"));
  });
  EXPECT_EQ(e.field(), "address");
  EXPECT_THAT(e.what(), AllOf(HasSubstr("fd00:11:0:307::1"), HasSubstr("fd00:10::/48")));
}

TEST(SixrdWhois, AddressWithPaddingBitsSetBelongsToNoNode) {
  // /40 + 16 host bits leaves bits 56..63 zero in every node /64.
  const InvalidInput e = invalid([] {
    whois(plan("fd00:1000::/40", "10.20.0.0/16"), parseIpv6("fd00:1000:3:701::1", "address"));
  });
  EXPECT_EQ(e.field(), "address");
}

TEST(SixrdWhois, RoundTripsRandomNodes) {
  std::mt19937 rng(20240601);
  for (const auto& [prefix, underlay] : {std::pair{"fd00:10::/48", "10.20.0.0/16"},
                                         {"2001:db8::/32", "0.0.0.0/0"},
                                         {"2001:db8:ab:cd00::/56", "192.168.1.0/24"},
                                         {"fd12:3456:7800::/40", "198.18.16.0/20"},
                                         {"fd00:10::/48", "198.18.0.0/31"},
                                         {"fd00:10:0:abcd::/64", "198.18.0.9/32"}}) {
    const SixrdPlan p = plan(prefix, underlay);
    for (int i = 0; i < 500; ++i) {
      const std::uint32_t hostMask = p.hostBits() == 32 ? ~0u : (1u << p.hostBits()) - 1;
      const Ipv4Addr node = p.underlay.addr | (static_cast<std::uint32_t>(rng()) & hostMask);
      const std::uint32_t host = node & hostMask;
      if (p.underlay.len <= 30 && (host == 0 || host == hostMask)) continue;
      const std::uint64_t iid = (std::uint64_t{rng()} << 32) | rng();

      const NodePrefix np = nodePrefix(p, node);
      ASSERT_TRUE(contains(p.prefix, np.node64.addr)) << prefix << " " << formatIpv4(node);
      const WhoIs who = whois(p, withInterfaceId(np.node64, iid));
      ASSERT_EQ(who.nodeIp, node) << prefix << " " << underlay;
      ASSERT_EQ(who.node64, np.node64);
      ASSERT_EQ(who.interfaceId, iid);
    }
  }
}

// formatIpv6 writes what glibc's inet_ntop writes (RFC 5952), without it: checked against it on
// the shapes that have special cases (zero runs at either end, ties, single zero groups, the
// embedded IPv4 forms) and on random addresses with many zero groups.
TEST(SixrdFormat, Ipv6TextIsInetNtopsOnEdgeCasesAndRandomAddresses) {
  const auto viaNtop = [](const Ipv6Addr& addr) {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(AF_INET6, addr.data(), buf, sizeof buf);
    return std::string(buf);
  };
  std::vector<Ipv6Addr> cases;
  for (const char* text : {"::",
                           "::1",
                           "1::",
                           "fd00::",
                           "fd00::1",
                           "1:0:1:0:1:0:1:0",
                           "1:0:0:1:0:0:1:1",
                           "1:0:0:2:0:0:0:3",
                           "0:0:1::",
                           "1:2:3:4:5:6:7:8",
                           "::ffff:10.1.2.3",
                           "::10.1.2.3",
                           "::ffff:0:10.1.2.3",
                           "0:0:0:0:0:1:0:0",
                           "ffff::ffff",
                           "fd00:10:0:307::1",
                           "::fffe:1:2",
                           "0:0:0:0:0:ffff:0:0",
                           "abcd:ef01:2345:6789:abcd:ef01:2345:6789",
                           "1::1:0:0:0"}) {
    Ipv6Addr addr{};
    ASSERT_EQ(inet_pton(AF_INET6, text, addr.data()), 1) << text;
    cases.push_back(addr);
  }
  std::mt19937 rng(20261203);
  for (int n = 0; n < 20000; ++n) {
    Ipv6Addr addr{};
    for (std::size_t g = 0; g < 8; ++g) {
      // Zero groups half of the time, so that runs of every length and place come up.
      const unsigned value = (rng() % 2 == 0) ? 0 : (rng() % 3 == 0 ? rng() % 16 : rng() % 65536);
      addr[2 * g] = static_cast<unsigned char>(value >> 8);
      addr[2 * g + 1] = static_cast<unsigned char>(value & 0xff);
    }
    cases.push_back(addr);
  }
  for (const Ipv6Addr& addr : cases) {
    ASSERT_EQ(formatIpv6(addr), viaNtop(addr));
  }
}

TEST(SixrdFormat, Ipv4TextIsInetNtops) {
  std::mt19937 rng(3);
  for (int n = 0; n < 2000; ++n) {
    const Ipv4Addr addr = n < 4 ? std::array<Ipv4Addr, 4>{0, 0xffffffff, 0x0a000001, 0x7f000001}[n]
                                : static_cast<Ipv4Addr>(rng());
    in_addr raw{};
    raw.s_addr = htonl(addr);
    char buf[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &raw, buf, sizeof buf);
    ASSERT_EQ(formatIpv4(addr), buf);
  }
}

}  // namespace
}  // namespace sixrd::ipam
