// Keys of the plugin object that sixrd does not read: never an error (a conflist carries other
// plugins' and the runtime's keys), silent for the CNI spec's own, a warning otherwise, with
// "did you mean X?" when the key is close to one of DESIGN.md's field names; and a missing
// required field names the typo that was probably meant to be it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cni/config.hpp"
#include "cni/error.hpp"

namespace sixrd::cni {
namespace {

using nlohmann::json;

json minimal() {
  return {{"cniVersion", "1.1.0"},
          {"name", "k8s-pod-network"},
          {"type", "sixrd"},
          {"prefix", "fd00:10::/40"},
          {"underlay", "198.18.0.0/15"}};
}

std::string joined(const std::vector<std::string>& lines) {
  std::string all;
  for (const auto& l : lines) all += l + "\n";
  return all;
}

std::vector<std::string> warningsFor(const json& raw) { return parseConfig(raw).warnings; }

std::string missingFieldError(const json& raw) {
  try {
    static_cast<void>(parseConfig(raw));
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kInvalidConfig) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "parseConfig accepted " << raw.dump();
  return "";
}

TEST(CniConfigKeys, TheContractsOwnKeysGiveNoWarning) {
  json raw = minimal();
  raw.update({{"nodeIP", "198.18.3.7"},
              {"underlayInterface", "eth0"},
              {"tunnel", "sixrd0"},
              {"mtu", 1480},
              {"ttl", 64},
              {"tcpMTUProbing", false},
              {"dataDir", "/run/sixrd"},
              {"log", {{"file", "/var/log/sixrd.log"}, {"level", "info"}}},
              {"dns", {{"nameservers", json::array()}}},
              {"prevResult", {{"cniVersion", "1.1.0"}}},
              {"runtimeConfig", json::object()}});
  EXPECT_EQ(warningsFor(raw), std::vector<std::string>{});
}

// The CNI spec's keys (network configuration, plugin object, and what the runtime injects).
class CniStandardKey : public ::testing::TestWithParam<std::string> {};
INSTANTIATE_TEST_SUITE_P(Cni, CniStandardKey,
                         ::testing::Values("cniVersions", "capabilities", "ipMasq", "ipam", "args",
                                           "disableCheck", "disableGC", "loadOnlyInlinedPlugins",
                                           "plugins", "cni.dev/valid-attachments",
                                           "cni.dev/attachments"));

TEST_P(CniStandardKey, IsAcceptedWithoutWarning) {
  json raw = minimal();
  raw[GetParam()] = json::object();
  EXPECT_EQ(warningsFor(raw), std::vector<std::string>{});
}

TEST(CniConfigKeys, CniVersionsListIsAccepted) {
  json raw = minimal();
  raw["cniVersions"] = {"1.0.0", "1.1.0"};
  const PluginConfig c = parseConfig(raw);
  EXPECT_EQ(c.cniVersion, "1.1.0");
  EXPECT_TRUE(c.warnings.empty()) << joined(c.warnings);
  EXPECT_NO_THROW(static_cast<void>(parseConfig(raw.dump())));
}

// (key typed, field it is close to)
class CniTypo : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};
INSTANTIATE_TEST_SUITE_P(
    Cni, CniTypo,
    ::testing::Values(std::pair{"prefx", "prefix"}, std::pair{"nodeIp", "nodeIP"},
                      std::pair{"MTU", "mtu"}, std::pair{"tll", "ttl"},
                      std::pair{"underlay_interface", "underlayInterface"},
                      std::pair{"underlayInterfce", "underlayInterface"},
                      std::pair{"tcpMtuProbing", "tcpMTUProbing"}, std::pair{"data-dir", "dataDir"},
                      std::pair{"tunel", "tunnel"}, std::pair{"capabilites", "capabilities"}));

TEST_P(CniTypo, WarnsWithTheFieldItResembles) {
  const auto& [typed, field] = GetParam();
  json raw = minimal();
  raw[typed] = 1;
  const auto warnings = warningsFor(raw);
  ASSERT_EQ(warnings.size(), 1U) << joined(warnings);
  EXPECT_NE(warnings[0].find("\"" + typed + "\""), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("did you mean " + field + "?"), std::string::npos) << warnings[0];
}

TEST(CniConfigKeys, UnrelatedKeyWarnsWithoutAHint) {
  json raw = minimal();
  raw["bridge"] = "cni0";
  const auto warnings = warningsFor(raw);
  ASSERT_EQ(warnings.size(), 1U) << joined(warnings);
  EXPECT_NE(warnings[0].find("unknown key \"bridge\""), std::string::npos) << warnings[0];
  EXPECT_EQ(warnings[0].find("did you mean"), std::string::npos) << warnings[0];
}

TEST(CniConfigKeys, OtherPluginsKeysAreNotMistakenForTypos) {
  for (const char* key : {"mac", "subnet", "master", "gateway", "mode", "bridge", "sysctl"}) {
    json raw = minimal();
    raw[key] = 1;
    const auto warnings = warningsFor(raw);
    ASSERT_EQ(warnings.size(), 1U) << key;
    EXPECT_EQ(warnings[0].find("did you mean"), std::string::npos) << warnings[0];
  }
}

TEST(CniConfigKeys, TypoInsideLogNamesTheNestedField) {
  json raw = minimal();
  raw["log"] = {{"file", "/var/log/sixrd.log"}, {"levle", "debug"}};
  const auto warnings = warningsFor(raw);
  ASSERT_EQ(warnings.size(), 1U) << joined(warnings);
  EXPECT_NE(warnings[0].find("\"levle\" in log"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("did you mean log.level?"), std::string::npos) << warnings[0];
}

TEST(CniConfigKeys, ManyUnknownKeysAreSummarised) {
  json raw = minimal();
  for (int i = 0; i < 100; ++i) raw["key" + std::to_string(i)] = i;
  const auto warnings = warningsFor(raw);
  ASSERT_EQ(warnings.size(), 17U) << joined(warnings);
  EXPECT_NE(warnings.back().find("84 more unknown keys"), std::string::npos) << warnings.back();
}

TEST(CniConfigKeys, HostileKeyIsQuotedAndCut) {
  json raw = minimal();
  raw[std::string("evil\n") + std::string(200, 'x')] = 1;
  const auto warnings = warningsFor(raw);
  ASSERT_EQ(warnings.size(), 1U);
  EXPECT_EQ(warnings[0].find('\n'), std::string::npos) << warnings[0];
  EXPECT_LT(warnings[0].size(), 200U) << warnings[0];
}

TEST(CniConfigKeys, MissingRequiredFieldNamesItsTypo) {
  json raw = minimal();
  raw.erase("prefix");
  raw["prefx"] = "fd00:10::/40";
  const std::string msg = missingFieldError(raw);
  EXPECT_NE(msg.find("prefix is missing from the network configuration (found \"prefx\": did you "
                     "mean prefix?)"),
            std::string::npos)
      << msg;
}

TEST(CniConfigKeys, MissingRequiredFieldNamesACaseTypo) {
  json raw = minimal();
  raw.erase("underlay");
  raw["Underlay"] = "198.18.0.0/15";
  const std::string msg = missingFieldError(raw);
  EXPECT_NE(msg.find("underlay is missing"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(found \"Underlay\": did you mean underlay?)"), std::string::npos) << msg;
}

TEST(CniConfigKeys, MissingRequiredFieldWithoutATypoHasNoHint) {
  json raw = minimal();
  raw.erase("prefix");
  raw["bridge"] = "cni0";
  const std::string msg = missingFieldError(raw);
  EXPECT_NE(msg.find("prefix is missing from the network configuration: "), std::string::npos)
      << msg;
  EXPECT_EQ(msg.find("did you mean"), std::string::npos) << msg;
}

TEST(CniConfigKeys, PreviewReadsTheLogSectionOfARefusedConfig) {
  json raw = minimal();
  raw["prefix"] = "not a prefix";
  raw["prefx"] = 1;
  raw["log"] = {{"file", "/var/log/sixrd.log"}, {"level", "debug"}};
  const ConfigPreview preview = previewConfig(raw.dump());
  EXPECT_EQ(preview.log.file, "/var/log/sixrd.log");
  EXPECT_EQ(preview.log.level, "debug");
  ASSERT_EQ(preview.warnings.size(), 1U) << joined(preview.warnings);
  EXPECT_NE(preview.warnings[0].find("did you mean prefix?"), std::string::npos);
}

TEST(CniConfigKeys, PreviewKeepsOnlyWhatIsValid) {
  EXPECT_EQ(previewConfig(R"({"log": {"file": "relative.log", "level": "loud"}})").log.file, "");
  EXPECT_EQ(previewConfig(R"({"log": {"file": "/a.log", "level": "loud"}})").log.level, "info");
  EXPECT_EQ(previewConfig(R"({"log": {"file": "/a.log", "level": "loud"}})").log.file, "/a.log");
  EXPECT_EQ(previewConfig(R"({"log": "/a.log"})").log.file, "");
  EXPECT_EQ(previewConfig("not json").log.file, "");
  EXPECT_EQ(previewConfig("[1, 2]").warnings, std::vector<std::string>{});
}

}  // namespace
}  // namespace sixrd::cni
