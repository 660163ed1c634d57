// Plugin configuration: the contract of DESIGN.md, one rule per test.
#include <gtest/gtest.h>

#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "cni/config.hpp"
#include "cni/error.hpp"
#include "cni/log.hpp"
#include "cni/version.hpp"
#include "ipam/sixrd_math.hpp"

namespace sixrd::cni {
namespace {

using nlohmann::json;

// One plugin element of DESIGN.md's conflist, as the runtime hands it over: name and cniVersion
// injected.
json fullExample(std::string_view version) {
  return {{"cniVersion", std::string(version)},
          {"name", "sixrd"},
          {"type", "sixrd"},
          {"prefix", "fd00:10::/48"},
          {"underlay", "10.20.0.0/16"},
          {"nodeIP", "10.20.3.7"},
          {"underlayInterface", "eth0"},
          {"tunnel", "sixrd0"},
          {"mtu", 1480},
          {"ttl", 64},
          {"tcpMTUProbing", false},
          {"dataDir", "/run/sixrd"},
          {"log", {{"file", "/var/log/sixrd.log"}, {"level", "info"}}},
          {"dns", {{"nameservers", json::array()}}}};
}

json minimal() {
  return {{"cniVersion", "1.1.0"},
          {"name", "k8s-pod-network"},
          {"type", "sixrd"},
          {"prefix", "fd00:10::/40"},
          {"underlay", "198.18.0.0/15"}};
}

json with(json raw, const std::string& field, json value) {
  raw[field] = std::move(value);
  return raw;
}

json without(json raw, const std::string& field) {
  raw.erase(field);
  return raw;
}

Error errorFrom(const json& raw) {
  try {
    static_cast<void>(parseConfig(raw));
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "parseConfig accepted " << raw.dump();
  return {Code::kInternal, "nothing thrown"};
}

void expectError(const json& raw, Code code, const std::string& fragment) {
  const Error e = errorFrom(raw);
  EXPECT_EQ(e.code(), code) << e.what();
  EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
      << "\"" << e.what() << "\" lacks \"" << fragment << "\"";
}

ipam::Ipv4Addr ipv4(std::uint32_t a, std::uint32_t b, std::uint32_t c, std::uint32_t d) {
  return (a << 24U) | (b << 16U) | (c << 8U) | d;
}

class CniConfigPerSpec : public ::testing::TestWithParam<std::string_view> {};
INSTANTIATE_TEST_SUITE_P(Cni, CniConfigPerSpec, ::testing::ValuesIn(kSupportedVersions));

TEST_P(CniConfigPerSpec, FullExampleParsesWithEveryField) {
  json raw = fullExample(GetParam());
  raw["prevResult"] = {{"cniVersion", std::string(GetParam())}, {"ips", json::array()}};
  raw["runtimeConfig"] = {{"portMappings", json::array()}};
  const PluginConfig c = parseConfig(raw);
  EXPECT_EQ(c.cniVersion, GetParam());
  EXPECT_EQ(c.name, "sixrd");
  EXPECT_EQ(c.type, "sixrd");
  EXPECT_EQ(ipam::formatPrefix(c.plan.prefix), "fd00:10::/48");
  EXPECT_EQ(ipam::formatSubnet(c.plan.underlay), "10.20.0.0/16");
  EXPECT_EQ(c.nodeIP, ipv4(10, 20, 3, 7));
  EXPECT_EQ(c.underlayInterface, "eth0");
  EXPECT_EQ(c.tunnel, "sixrd0");
  EXPECT_EQ(c.mtu, 1480);
  EXPECT_EQ(c.ttl, 64);
  EXPECT_FALSE(c.tcpMTUProbing);
  EXPECT_EQ(c.dataDir, "/run/sixrd");
  EXPECT_EQ(c.log.file, "/var/log/sixrd.log");
  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.dns, json({{"nameservers", json::array()}}));
  EXPECT_EQ(c.prevResult, raw["prevResult"]);
  EXPECT_EQ(c.runtimeConfig, raw["runtimeConfig"]);
}

// From stdin the parsed document is the parser's own, and the subtrees kept whole (dns,
// runtimeConfig, prevResult) are moved out of it: they must arrive whole all the same.
TEST_P(CniConfigPerSpec, ParsesFromStdinBytesLikeFromJson) {
  json raw = fullExample(GetParam());
  raw["prevResult"] = {{"cniVersion", std::string(GetParam())},
                       {"ips", {{{"address", "fd00:10:0:b::5/128"}}}}};
  raw["runtimeConfig"] = {{"portMappings", json::array()}};
  const PluginConfig c = parseConfig(raw.dump());
  EXPECT_EQ(c.cniVersion, GetParam());
  EXPECT_EQ(c.nodeIP, ipv4(10, 20, 3, 7));
  EXPECT_EQ(c.dns, raw["dns"]);
  EXPECT_EQ(c.prevResult, raw["prevResult"]);
  EXPECT_EQ(c.runtimeConfig, raw["runtimeConfig"]);
  EXPECT_EQ(c.warnings, parseConfig(raw).warnings);
}

TEST(CniConfig, NonDefaultValuesAreRead) {
  json raw = minimal();
  raw["tunnel"] = "6rd-overlay";
  raw["ttl"] = 32;
  raw["tcpMTUProbing"] = true;
  raw["dataDir"] = "/var/lib/sixrd";
  raw["log"] = {{"level", "debug"}};
  raw["dns"] = {{"nameservers", {"fd00:10::53"}}, {"search", {"cluster.local"}}};
  const PluginConfig c = parseConfig(raw);
  EXPECT_EQ(c.tunnel, "6rd-overlay");
  EXPECT_EQ(c.ttl, 32);
  EXPECT_TRUE(c.tcpMTUProbing);
  EXPECT_EQ(c.dataDir, "/var/lib/sixrd");
  EXPECT_EQ(c.log.level, "debug");
  EXPECT_EQ(c.log.file, "");
  EXPECT_EQ(c.dns["search"][0], "cluster.local");
}

TEST(CniConfig, OptionalFieldsDefault) {
  const PluginConfig c = parseConfig(minimal());
  EXPECT_EQ(c.nodeIP, std::nullopt);
  EXPECT_EQ(c.underlayInterface, "");
  EXPECT_EQ(c.tunnel, "sixrd0");
  EXPECT_EQ(c.mtu, std::nullopt);
  EXPECT_EQ(c.ttl, 64);
  EXPECT_FALSE(c.tcpMTUProbing);
  EXPECT_EQ(c.dataDir, "/run/sixrd");
  EXPECT_EQ(c.log.file, "");
  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.dns, json::object());
  EXPECT_TRUE(c.prevResult.is_null());
  EXPECT_EQ(c.runtimeConfig, json::object());
}

TEST(CniConfig, NullOptionalFieldsKeepTheirDefaults) {
  json raw = minimal();
  for (const char* field : {"nodeIP", "underlayInterface", "tunnel", "mtu", "ttl", "tcpMTUProbing",
                            "dataDir", "log", "dns", "prevResult", "runtimeConfig"}) {
    raw[field] = nullptr;
  }
  const PluginConfig c = parseConfig(raw);
  EXPECT_EQ(c.tunnel, "sixrd0");
  EXPECT_EQ(c.ttl, 64);
  EXPECT_EQ(c.mtu, std::nullopt);
}

class CniRequiredField : public ::testing::TestWithParam<std::string> {};
INSTANTIATE_TEST_SUITE_P(Cni, CniRequiredField,
                         ::testing::Values("cniVersion", "name", "type", "prefix", "underlay"));

TEST_P(CniRequiredField, MissingIsInvalidConfigNamingIt) {
  expectError(without(minimal(), GetParam()), Code::kInvalidConfig,
              GetParam() + " is missing from the network configuration");
}

TEST_P(CniRequiredField, WrongTypeIsDecodeFailureNamingIt) {
  expectError(with(minimal(), GetParam(), 48), Code::kDecodeFailure,
              GetParam() + " must be a string, not number 48");
}

// (field, a value of the wrong JSON type, expected type as the message words it)
class CniWrongType : public ::testing::TestWithParam<std::tuple<std::string, json, std::string>> {};
INSTANTIATE_TEST_SUITE_P(
    Cni, CniWrongType,
    ::testing::Values(std::make_tuple("nodeIP", json(167904007), "a string"),
                      std::make_tuple("underlayInterface", json::object(), "a string"),
                      std::make_tuple("tunnel", json(0), "a string"),
                      std::make_tuple("mtu", json("1480"), "an integer"),
                      std::make_tuple("mtu", json(1480.5), "an integer"),
                      std::make_tuple("ttl", json(true), "an integer"),
                      std::make_tuple("tcpMTUProbing", json("yes"), "a boolean"),
                      std::make_tuple("tcpMTUProbing", json(1), "a boolean"),
                      std::make_tuple("dataDir", json(5), "a string"),
                      std::make_tuple("log", json::array(), "an object"),
                      std::make_tuple("dns", json::array(), "an object"),
                      std::make_tuple("runtimeConfig", json("x"), "an object")));

TEST_P(CniWrongType, IsDecodeFailureNamingFieldAndExpectedType) {
  const auto& [field, value, expected] = GetParam();
  expectError(with(minimal(), field, value), Code::kDecodeFailure,
              field + " must be " + expected + ", not " + value.type_name());
}

TEST(CniConfig, WrongTypeInsideLogNamesTheNestedField) {
  expectError(with(minimal(), "log", {{"level", 3}}), Code::kDecodeFailure,
              "log.level must be a string");
  expectError(with(minimal(), "log", {{"file", false}}), Code::kDecodeFailure,
              "log.file must be a string");
}

TEST(CniConfig, NotAnObjectIsDecodeFailure) {
  expectError(json::array(), Code::kDecodeFailure, "must be a JSON object, not array");
  try {
    static_cast<void>(parseConfig("\"sixrd\""));
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kDecodeFailure);
  }
}

TEST(CniConfig, MalformedJsonIsDecodeFailureWithParserPosition) {
  try {
    static_cast<void>(parseConfig(R"({"cniVersion": "1.1.0",)"));
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kDecodeFailure);
    EXPECT_NE(std::string(e.what()).find("not valid JSON"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("line 1, column"), std::string::npos) << e.what();
  }
}

TEST(CniConfig, UnsupportedCniVersionIsIncompatibleNamingTheSupportedOnes) {
  for (const char* version : {"0.2.0", "1.2.0", "2.0.0", "1.0", "latest"}) {
    expectError(with(minimal(), "cniVersion", version), Code::kIncompatibleVersion,
                std::string("cniVersion \"") + version +
                    "\" is not supported: sixrd speaks 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0");
  }
}

TEST(CniConfig, SixrdRuleViolationIsInvalidConfigExplainingTheSixtyFourBits) {
  json raw = with(with(minimal(), "prefix", "fd00:10::/60"), "underlay", "10.20.0.0/16");
  const Error e = errorFrom(raw);
  EXPECT_EQ(e.code(), Code::kInvalidConfig);
  EXPECT_NE(std::string(e.what()).find("64"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("prefix"), std::string::npos) << e.what();
}

TEST(CniConfig, PrefixWithBitsPastItsLengthIsInvalidConfig) {
  expectError(with(minimal(), "prefix", "fd00:10::1/48"), Code::kInvalidConfig, "prefix");
}

TEST(CniConfig, UnderlayWithBitsPastItsLengthIsInvalidConfig) {
  expectError(with(minimal(), "underlay", "198.18.0.1/15"), Code::kInvalidConfig, "underlay");
}

TEST(CniConfig, UnparsablePrefixAndUnderlayAreInvalidConfig) {
  expectError(with(minimal(), "prefix", "not-a-prefix"), Code::kInvalidConfig, "prefix");
  expectError(with(minimal(), "prefix", "10.0.0.0/8"), Code::kInvalidConfig, "prefix");
  expectError(with(minimal(), "underlay", "fd00::/8"), Code::kInvalidConfig, "underlay");
  expectError(with(minimal(), "underlay", "198.18.0.0"), Code::kInvalidConfig, "underlay");
}

TEST(CniConfig, NodeIpOutsideUnderlayIsInvalidConfig) {
  expectError(with(minimal(), "nodeIP", "10.20.3.7"), Code::kInvalidConfig,
              "nodeIP 10.20.3.7 is outside underlay 198.18.0.0/15");
}

TEST(CniConfig, NodeIpThatIsNotIpv4IsInvalidConfig) {
  expectError(with(minimal(), "nodeIP", "fd00::1"), Code::kInvalidConfig, "nodeIP");
  expectError(with(minimal(), "nodeIP", "198.18.0"), Code::kInvalidConfig, "nodeIP");
}

TEST(CniConfig, NodeIpInsideUnderlayIsRead) {
  EXPECT_EQ(parseConfig(with(minimal(), "nodeIP", "198.19.1.2")).nodeIP, ipv4(198, 19, 1, 2));
}

TEST(CniConfig, MtuOutsideRangeIsInvalidConfig) {
  expectError(with(minimal(), "mtu", 1279), Code::kInvalidConfig,
              "mtu 1279 is out of range: it must be between 1280 and 65515");
  expectError(with(minimal(), "mtu", 65516), Code::kInvalidConfig, "mtu 65516 is out of range");
  expectError(with(minimal(), "mtu", -1), Code::kInvalidConfig, "mtu -1 is out of range");
  expectError(with(minimal(), "mtu", 1ULL << 40U), Code::kInvalidConfig, "mtu");
}

TEST(CniConfig, MtuAtTheBoundsIsAccepted) {
  EXPECT_EQ(parseConfig(with(minimal(), "mtu", 1280)).mtu, 1280);
  EXPECT_EQ(parseConfig(with(minimal(), "mtu", 65515)).mtu, 65515);
}

TEST(CniConfig, TtlOutsideRangeIsInvalidConfig) {
  expectError(with(minimal(), "ttl", 0), Code::kInvalidConfig,
              "ttl 0 is out of range: it must be between 1 and 255");
  expectError(with(minimal(), "ttl", 256), Code::kInvalidConfig, "ttl 256 is out of range");
}

TEST(CniConfig, TtlAtTheBoundsIsAccepted) {
  EXPECT_EQ(parseConfig(with(minimal(), "ttl", 1)).ttl, 1);
  EXPECT_EQ(parseConfig(with(minimal(), "ttl", 255)).ttl, 255);
}

TEST(CniConfig, InvalidLogLevelIsInvalidConfig) {
  expectError(with(minimal(), "log", {{"level", "verbose"}}), Code::kInvalidConfig,
              "log.level \"verbose\" is not a log level");
  expectError(with(minimal(), "log", {{"level", "INFO"}}), Code::kInvalidConfig, "log.level");
}

TEST(CniConfig, EveryLogLevelIsAccepted) {
  for (const std::string_view level : kLogLevels) {
    EXPECT_EQ(parseConfig(with(minimal(), "log", {{"level", level}})).log.level, level);
  }
}

TEST(CniConfig, RelativeLogFileIsInvalidConfig) {
  expectError(with(minimal(), "log", {{"file", "sixrd.log"}}), Code::kInvalidConfig,
              "log.file \"sixrd.log\" is not an absolute path");
}

TEST(CniConfig, EmptyLogFileMeansNoFile) {
  EXPECT_EQ(parseConfig(with(minimal(), "log", {{"file", ""}})).log.file, "");
}

TEST(CniConfig, RelativeOrEmptyDataDirIsInvalidConfig) {
  expectError(with(minimal(), "dataDir", "run/sixrd"), Code::kInvalidConfig,
              "dataDir \"run/sixrd\" is not an absolute path");
  expectError(with(minimal(), "dataDir", ""), Code::kInvalidConfig, "dataDir");
}

TEST(CniConfig, NameMustBeASafePathComponent) {
  expectError(with(minimal(), "name", ""), Code::kInvalidConfig, "name is empty");
  expectError(with(minimal(), "name", ".hidden"), Code::kInvalidConfig,
              "name \".hidden\" starts with '.'");
  expectError(with(minimal(), "name", ".."), Code::kInvalidConfig, "starts with '.'");
  expectError(with(minimal(), "name", "a/b"), Code::kInvalidConfig, "at position 1");
  expectError(with(minimal(), "name", "my net"), Code::kInvalidConfig, "at position 2");
  expectError(with(minimal(), "name", std::string(129, 'n')), Code::kInvalidConfig,
              "is 129 characters long");
}

TEST(CniConfig, NameMayHoldLettersDigitsUnderscoreDotDash) {
  EXPECT_EQ(parseConfig(with(minimal(), "name", "k8s_Pod-net.1")).name, "k8s_Pod-net.1");
  EXPECT_EQ(parseConfig(with(minimal(), "name", std::string(128, 'n'))).name.size(), 128U);
}

TEST(CniConfig, EmptyTypeIsInvalidConfig) {
  expectError(with(minimal(), "type", ""), Code::kInvalidConfig, "type is empty");
}

TEST(CniConfig, TunnelMustBeAnInterfaceName) {
  expectError(with(minimal(), "tunnel", "sixrd-tunnel-dev"), Code::kInvalidConfig,
              "tunnel \"sixrd-tunnel-dev\" is 16 characters long");
  expectError(with(minimal(), "tunnel", "a/b"), Code::kInvalidConfig,
              "tunnel \"a/b\" has '/' at position 1");
  expectError(with(minimal(), "tunnel", ""), Code::kInvalidConfig, "tunnel \"\" is empty");
}

TEST(CniConfig, UnderlayInterfaceMustBeAnInterfaceNameOrEmpty) {
  expectError(with(minimal(), "underlayInterface", "eth0:1"), Code::kInvalidConfig,
              "underlayInterface \"eth0:1\" has ':'");
  EXPECT_EQ(parseConfig(with(minimal(), "underlayInterface", "")).underlayInterface, "");
  EXPECT_EQ(parseConfig(with(minimal(), "underlayInterface", "bond0.100")).underlayInterface,
            "bond0.100");
}

TEST(CniConfig, UnknownFieldsAreTolerated) {
  json raw = minimal();
  raw["capabilities"] = {{"portMappings", true}};
  raw["ipam"] = {{"type", "host-local"}};
  raw["args"] = {{"cni", {{"labels", json::array()}}}};
  raw["someFutureField"] = 42;
  EXPECT_NO_THROW(static_cast<void>(parseConfig(raw)));
}

TEST(CniConfig, PrevResultIsKeptRaw) {
  const json prev = {{"cniVersion", "0.3.1"}, {"whatever", {1, 2, 3}}};
  EXPECT_EQ(parseConfig(with(minimal(), "prevResult", prev)).prevResult, prev);
}

TEST(CniConfig, PodMtuDefaultsToUnderlayMinusTwenty) {
  const PluginConfig c = parseConfig(minimal());
  EXPECT_EQ(podMtu(c, 1500), 1480);
  EXPECT_EQ(podMtu(c, 9000), 8980);
}

TEST(CniConfig, PodMtuLargerThanUnderlayMinusTwentyIsInvalidConfig) {
  const PluginConfig c = parseConfig(with(minimal(), "mtu", 1500));
  try {
    static_cast<void>(podMtu(c, 1500));
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kInvalidConfig);
    EXPECT_EQ(std::string(e.what()).rfind("mtu 1500 is larger than the underlay MTU 1500 minus "
                                          "the 20-byte 6rd encapsulation header (1480)",
                                          0),
              0U)
        << e.what();
  }
}

TEST(CniConfig, PodMtuSmallerOrEqualIsHonoured) {
  EXPECT_EQ(podMtu(parseConfig(with(minimal(), "mtu", 1400)), 1500), 1400);
  EXPECT_EQ(podMtu(parseConfig(with(minimal(), "mtu", 1480)), 1500), 1480);
}

TEST(CniConfig, UnderlayTooSmallForIpv6IsInvalidConfig) {
  try {
    static_cast<void>(podMtu(parseConfig(minimal()), 1280));
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kInvalidConfig);
    EXPECT_NE(std::string(e.what()).find("below the IPv6 minimum of 1280"), std::string::npos);
  }
}

}  // namespace
}  // namespace sixrd::cni

namespace sixrd::cni {
namespace {

// "relay": border relays for egress, one IPv4 or a list, each a node inside the underlay.
TEST(CniConfigRelay, OneAddressOrAList) {
  EXPECT_TRUE(parseConfig(minimal()).relays.empty());
  EXPECT_EQ(parseConfig(with(minimal(), "relay", "198.18.9.1")).relays,
            std::vector<ipam::Ipv4Addr>{ipam::parseIpv4("198.18.9.1", "t")});
  const auto two = parseConfig(with(minimal(), "relay", json::array({"198.18.9.1", "198.18.9.2"})));
  ASSERT_EQ(two.relays.size(), 2U);
  EXPECT_EQ(two.relays[1], ipam::parseIpv4("198.18.9.2", "t"));
  EXPECT_TRUE(parseConfig(with(minimal(), "relay", nullptr)).relays.empty());
}

TEST(CniConfigRelay, RefusesWhatCannotBeARelay) {
  expectError(with(minimal(), "relay", 7), Code::kDecodeFailure, "relay");
  expectError(with(minimal(), "relay", json::array({"198.18.9.1", 3})), Code::kDecodeFailure,
              "relay[1]");
  expectError(with(minimal(), "relay", json::array()), Code::kInvalidConfig, "empty list");
  expectError(with(minimal(), "relay", "192.0.2.1"), Code::kInvalidConfig, "relay");
  expectError(with(minimal(), "relay", "198.18.9"), Code::kInvalidConfig, "relay");
  expectError(with(minimal(), "relay", json::array({"198.18.9.1", "198.18.9.1"})),
              Code::kInvalidConfig, "listed twice");
}

TEST(CniConfigRelay, IsAKnownKey) {
  EXPECT_TRUE(parseConfig(with(minimal(), "relay", "198.18.9.1")).warnings.empty());
}

}  // namespace
}  // namespace sixrd::cni
