// Results, errors and VERSION output in every spec version sixrd speaks.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cni/error.hpp"
#include "cni/result.hpp"
#include "cni/version.hpp"

namespace sixrd::cni {
namespace {

using nlohmann::json;

// What sixrd's ADD returns: the host veth, the pod interface, one IPv6 address, a default route.
Result podResult() {
  Result r;
  r.interfaces.push_back({"sx0123456789ab", "aa:bb:cc:dd:ee:01", 1480, ""});
  r.interfaces.push_back({"eth0", "aa:bb:cc:dd:ee:02", 1480, "/run/netns/cni-1234"});
  r.ips.push_back({"fd00:10:0:307::abcd/128", "fe80::1", 1});
  r.routes.push_back({"::/0", "fe80::1"});
  return r;
}

bool isBefore100(std::string_view version) { return compareVersions(version, "1.0.0") < 0; }

class CniResultPerSpec : public ::testing::TestWithParam<std::string_view> {};
INSTANTIATE_TEST_SUITE_P(Cni, CniResultPerSpec, ::testing::ValuesIn(kSupportedVersions));

TEST_P(CniResultPerSpec, ResultCarriesItsVersionAndSections) {
  const json out = toJson(podResult(), GetParam());
  EXPECT_EQ(out["cniVersion"], GetParam());
  EXPECT_EQ(out["interfaces"].size(), 2U);
  EXPECT_EQ(out["interfaces"][1]["name"], "eth0");
  EXPECT_EQ(out["interfaces"][1]["mac"], "aa:bb:cc:dd:ee:02");
  EXPECT_EQ(out["ips"][0]["address"], "fd00:10:0:307::abcd/128");
  EXPECT_EQ(out["ips"][0]["gateway"], "fe80::1");
  EXPECT_EQ(out["ips"][0]["interface"], 1);
  EXPECT_EQ(out["routes"][0], json({{"dst", "::/0"}, {"gw", "fe80::1"}}));
}

TEST_P(CniResultPerSpec, IpsCarryVersionOnlyBefore100) {
  Result r = podResult();
  r.ips.push_back({"198.18.0.9/32", "", std::nullopt});
  const json out = toJson(r, GetParam());
  if (isBefore100(GetParam())) {
    EXPECT_EQ(out["ips"][0]["version"], "6");
    EXPECT_EQ(out["ips"][1]["version"], "4");
  } else {
    EXPECT_FALSE(out["ips"][0].contains("version"));
    EXPECT_FALSE(out["ips"][1].contains("version"));
  }
}

TEST_P(CniResultPerSpec, InterfacesCarryMtuOnlyFrom110) {
  const json out = toJson(podResult(), GetParam());
  if (GetParam() == "1.1.0") {
    EXPECT_EQ(out["interfaces"][1]["mtu"], 1480);
  } else {
    EXPECT_FALSE(out["interfaces"][1].contains("mtu"));
  }
}

TEST_P(CniResultPerSpec, UnsetMtuIsOmitted) {
  Result r = podResult();
  r.interfaces[1].mtu.reset();
  EXPECT_FALSE(toJson(r, GetParam())["interfaces"][1].contains("mtu"));
}

TEST_P(CniResultPerSpec, SandboxOnlyWhenSet) {
  const json out = toJson(podResult(), GetParam());
  EXPECT_FALSE(out["interfaces"][0].contains("sandbox"));
  EXPECT_EQ(out["interfaces"][1]["sandbox"], "/run/netns/cni-1234");
}

TEST_P(CniResultPerSpec, EmptyMacGatewayInterfaceAndRouteGwAreOmitted) {
  Result r;
  r.interfaces.push_back({"eth0", "", std::nullopt, ""});
  r.ips.push_back({"fd00::1/128", "", std::nullopt});
  r.routes.push_back({"fd00::/64", ""});
  const json out = toJson(r, GetParam());
  EXPECT_EQ(out["interfaces"][0], json({{"name", "eth0"}}));
  EXPECT_FALSE(out["ips"][0].contains("gateway"));
  EXPECT_FALSE(out["ips"][0].contains("interface"));
  EXPECT_EQ(out["routes"][0], json({{"dst", "fd00::/64"}}));
}

TEST_P(CniResultPerSpec, EmptyDnsIsOmitted) {
  Result r = podResult();
  EXPECT_FALSE(toJson(r, GetParam()).contains("dns"));
  r.dns = {{"nameservers", json::array()}, {"search", json::array()}, {"domain", ""}};
  EXPECT_FALSE(toJson(r, GetParam()).contains("dns"));
}

TEST_P(CniResultPerSpec, NonEmptyDnsIsPassedThrough) {
  Result r = podResult();
  r.dns = {{"nameservers", {"fd00:10::53"}}, {"search", {"svc.cluster.local"}}};
  EXPECT_EQ(toJson(r, GetParam())["dns"], r.dns);
}

TEST_P(CniResultPerSpec, ParseResultRoundTrips) {
  Result original = podResult();
  original.dns = {{"nameservers", {"fd00:10::53"}}};
  const Result back = parseResult(toJson(original, GetParam()));
  ASSERT_EQ(back.interfaces.size(), 2U);
  EXPECT_EQ(back.interfaces[1].name, "eth0");
  EXPECT_EQ(back.interfaces[1].mac, "aa:bb:cc:dd:ee:02");
  EXPECT_EQ(back.interfaces[1].sandbox, "/run/netns/cni-1234");
  EXPECT_EQ(back.interfaces[0].sandbox, "");
  EXPECT_EQ(back.interfaces[1].mtu,
            GetParam() == "1.1.0" ? std::optional<int>(1480) : std::nullopt);
  ASSERT_EQ(back.ips.size(), 1U);
  EXPECT_EQ(back.ips[0].address, "fd00:10:0:307::abcd/128");
  EXPECT_EQ(back.ips[0].gateway, "fe80::1");
  EXPECT_EQ(back.ips[0].interface, 1);
  ASSERT_EQ(back.routes.size(), 1U);
  EXPECT_EQ(back.routes[0].dst, "::/0");
  EXPECT_EQ(back.routes[0].gw, "fe80::1");
  EXPECT_EQ(back.dns, original.dns);
  // And the re-serialised result is identical.
  EXPECT_EQ(toJson(back, GetParam()), toJson(original, GetParam()));
}

// ADD writes its result with dumpResult, not toJson(...).dump(): the text must be the same, byte
// for byte, for every shape a result takes (members set or not, several of each, an IPv4 address,
// text that needs escaping, a dns section).
TEST_P(CniResultPerSpec, DumpResultIsToJsonDumpByteForByte) {
  std::vector<Result> shapes;
  shapes.push_back(podResult());
  shapes.emplace_back();  // empty
  Result bare;
  bare.interfaces.push_back({"eth0", "", std::nullopt, ""});
  bare.ips.push_back({"198.18.0.7/32", "", std::nullopt});
  bare.ips.push_back({"fd00::1/128", "", 0});
  bare.routes.push_back({"::/0", ""});
  bare.routes.push_back({"0.0.0.0/0", "198.18.0.1"});
  shapes.push_back(bare);
  Result escaped = podResult();
  escaped.interfaces[1].sandbox = "/run/netns/a\"b\\c\td\x01e\x7f f\xc3\xa9";
  shapes.push_back(escaped);
  Result withDns = podResult();
  withDns.dns = {{"nameservers", {"fd00:10::53"}}, {"search", {"cluster.local"}}};
  shapes.push_back(withDns);
  Result emptyDns = podResult();
  emptyDns.dns = {{"nameservers", json::array()}};
  shapes.push_back(emptyDns);
  for (const Result& r : shapes) {
    EXPECT_EQ(dumpResult(r, GetParam()), toJson(r, GetParam()).dump());
  }
}

TEST(CniResult, DumpResultRefusesAMalformedVersionAsToJsonDoes) {
  EXPECT_THROW(static_cast<void>(dumpResult(podResult(), "1.x")), Error);
}

TEST_P(CniResultPerSpec, ErrorJsonHasCodeMsgAndDetails) {
  const json out =
      errorJson(Error(Code::kInvalidConfig, "mtu 1500 is larger", "see DESIGN.md"), GetParam());
  EXPECT_EQ(out, json({{"cniVersion", std::string(GetParam())},
                       {"code", 7},
                       {"msg", "mtu 1500 is larger"},
                       {"details", "see DESIGN.md"}}));
}

TEST_P(CniResultPerSpec, ErrorJsonOmitsEmptyDetails) {
  const json out = errorJson(Error(Code::kMissingCapability, "no CAP_NET_ADMIN"), GetParam());
  EXPECT_FALSE(out.contains("details"));
  EXPECT_EQ(out["code"], 103);
}

TEST_P(CniResultPerSpec, VersionJsonListsEverySupportedVersion) {
  EXPECT_EQ(versionJson(GetParam()),
            json({{"cniVersion", std::string(GetParam())},
                  {"supportedVersions", {"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"}}}));
}

TEST(CniResult, ParseResultAcceptsA031ResultFromAnotherPlugin) {
  const json prev = json::parse(R"({
    "cniVersion": "0.3.1",
    "interfaces": [{"name": "eth0", "sandbox": "/proc/42/ns/net"}],
    "ips": [{"version": "4", "address": "10.1.0.5/24", "gateway": "10.1.0.1", "interface": 0},
            {"version": "6", "address": "fd00::5/64"}],
    "routes": [{"dst": "0.0.0.0/0"}],
    "dns": {}
  })");
  const Result r = parseResult(prev);
  EXPECT_EQ(r.interfaces[0].mac, "");
  EXPECT_EQ(r.ips[0].interface, 0);
  EXPECT_EQ(r.ips[1].address, "fd00::5/64");
  EXPECT_EQ(r.routes[0].gw, "");
}

TEST(CniResult, ParseResultAcceptsAnEmptyResult) {
  const Result r = parseResult(json::object());
  EXPECT_TRUE(r.interfaces.empty());
  EXPECT_TRUE(r.ips.empty());
}

TEST(CniResult, ParseResultTolerates110Extras) {
  const json prev = json::parse(R"({
    "cniVersion": "1.1.0",
    "interfaces": [{"name": "eth0", "mtu": 9000, "socketPath": "/x", "pciID": "0000:00:01.0"}],
    "routes": [{"dst": "::/0", "mtu": 1400, "priority": 10}]
  })");
  EXPECT_EQ(parseResult(prev).interfaces[0].mtu, 9000);
}

// mergeResult, per spec version that has prevResult (every one sixrd speaks).
class MergePerSpec : public ::testing::TestWithParam<std::string_view> {};
INSTANTIATE_TEST_SUITE_P(Cni, MergePerSpec, ::testing::ValuesIn(kSupportedVersions));

TEST_P(MergePerSpec, IpsVersionIsWhatTheSpecVersionDefines) {
  const std::string_view v = GetParam();
  const json prev = {{"cniVersion", v},
                     {"interfaces", {{{"name", "lo"}}}},
                     {"ips",
                      {{{"address", "127.0.0.1/8"}, {"interface", 0}},
                       {{"address", "::1/128"}, {"version", "6"}, {"interface", 0}},
                       {{"address", "10.0.0.1/8"}, {"version", ""}, {"interface", 0}}}}};
  Result own;
  own.interfaces = {{"sx1", "", std::nullopt, ""}, {"eth0", "", 1480, "/ns"}};
  own.ips = {{"fd00::5/128", "fe80::1", 1}};
  const json out = mergeResult(prev, own, v);
  ASSERT_EQ(out["ips"].size(), 4U) << out;
  const bool legacy = compareVersions(v, "1.0.0") < 0;
  EXPECT_EQ(out["ips"][0].value("version", "-"), legacy ? "4" : "-") << out;
  EXPECT_EQ(out["ips"][1].value("version", "-"), legacy ? "6" : "-") << out;
  EXPECT_EQ(out["ips"][2].value("version", "-"), legacy ? "4" : "-")
      << "libcni's \"version\": \"\" (a 0.3.x result without it, re-encoded): " << out;
  EXPECT_EQ(out["ips"][3].value("version", "-"), legacy ? "6" : "-") << out;
  EXPECT_EQ(out["ips"][3]["interface"], 2) << out;
  EXPECT_EQ(out["interfaces"][2].contains("mtu"), compareVersions(v, "1.1.0") >= 0) << out;
  EXPECT_FALSE(out.contains("dns")) << "both empty: omitted, as in sixrd's own result";
}

TEST_P(MergePerSpec, DnsFillsWhatTheEarlierResultLeftEmpty) {
  const std::string_view v = GetParam();
  const json prev = {{"cniVersion", v},
                     {"dns", {{"nameservers", json::array()}, {"domain", "a.example"}}}};
  Result own;
  own.dns = {{"nameservers", {"fd00::53"}}, {"domain", "b.example"}, {"options", {"ndots:5"}}};
  const json out = mergeResult(prev, own, v);
  EXPECT_EQ(
      out["dns"],
      json({{"nameservers", {"fd00::53"}}, {"domain", "a.example"}, {"options", {"ndots:5"}}}))
      << out;
}

TEST_P(MergePerSpec, APrevResultWithoutCniVersionIsReadInTheNetworksVersion) {
  Result own;
  EXPECT_EQ(mergeResult(json::object(), own, GetParam())["cniVersion"], GetParam());
}

TEST_P(MergePerSpec, APrevResultOfAnotherVersionIsRefused) {
  const std::string_view v = GetParam();
  for (const std::string_view other : kSupportedVersions) {
    if (other == v) continue;
    try {
      checkPrevResult({{"cniVersion", other}}, v);
      ADD_FAILURE() << "accepted a " << other << " prevResult in a " << v << " network";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Code::kIncompatibleVersion);
      EXPECT_NE(std::string(e.what()).find("prevResult.cniVersion"), std::string::npos);
    }
  }
}

void expectMalformed(const json& prev, const std::string& message,
                     Code code = Code::kDecodeFailure) {
  try {
    static_cast<void>(parseResult(prev));
    ADD_FAILURE() << "accepted " << prev.dump();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(message), std::string::npos)
        << "\"" << e.what() << "\" lacks \"" << message << "\"";
  }
}

TEST(CniResult, MalformedPrevResultNamesThePath) {
  expectMalformed(json::array(), "prevResult must be an object, not array");
  expectMalformed(json::parse(R"({"ips": [{"gateway": "fe80::1"}]})"),
                  "prevResult.ips[0].address is missing");
  expectMalformed(json::parse(R"({"ips": [{"address": "fd00::1/128"}, {"address": 5}]})"),
                  "prevResult.ips[1].address must be a string, not number");
  expectMalformed(json::parse(R"({"ips": [{"address": "fd00::1"}]})"),
                  "prevResult.ips[0].address \"fd00::1\" is not an address in CIDR notation");
  expectMalformed(json::parse(R"({"ips": [{"address": "fd00::1/129"}]})"),
                  "prevResult.ips[0].address");
  expectMalformed(json::parse(R"({"ips": [{"address": "10.0.0.1/33"}]})"),
                  "prevResult.ips[0].address");
  expectMalformed(json::parse(R"({"ips": [{"address": "fd00::1/128", "gateway": "nope"}]})"),
                  "prevResult.ips[0].gateway \"nope\" is not an IP address");
  expectMalformed(json::parse(R"({"ips": [{"address": "fd00::1/128", "interface": 0}]})"),
                  "prevResult.ips[0].interface 0 is not an index into interfaces (0 of them)");
  expectMalformed(json::parse(R"({"ips": [{"address": "fd00::1/128", "interface": -1}]})"),
                  "prevResult.ips[0].interface must be a non-negative integer");
  expectMalformed(json::parse(R"({"ips": [{"address": "fd00::1/128", "version": "4"}]})"),
                  "prevResult.ips[0].version \"4\" does not match the address");
  expectMalformed(json::parse(R"({"ips": {}})"), "prevResult.ips must be an array, not object");
  expectMalformed(json::parse(R"({"interfaces": [{"mac": "aa:bb:cc:dd:ee:ff"}]})"),
                  "prevResult.interfaces[0].name is missing");
  expectMalformed(json::parse(R"({"interfaces": ["eth0"]})"),
                  "prevResult.interfaces[0] must be an object, not string");
  expectMalformed(json::parse(R"({"routes": [{"dst": "::/0"}, {"gw": "fe80::1"}]})"),
                  "prevResult.routes[1].dst is missing");
  expectMalformed(json::parse(R"({"routes": [{"dst": "::/0", "gw": "x"}]})"),
                  "prevResult.routes[0].gw \"x\" is not an IP address");
  expectMalformed(json::parse(R"({"dns": []})"), "prevResult.dns must be an object, not array");
  expectMalformed(json::parse(R"({"cniVersion": 1})"), "prevResult.cniVersion must be a string");
}

TEST(CniResult, PrevResultOfAnUnsupportedVersionIsIncompatible) {
  expectMalformed(json::parse(R"({"cniVersion": "0.2.0", "ip4": {"ip": "10.0.0.1/24"}})"),
                  "prevResult.cniVersion \"0.2.0\" is not supported", Code::kIncompatibleVersion);
}

}  // namespace
}  // namespace sixrd::cni
