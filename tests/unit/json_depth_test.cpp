// JSON nested past cni::kMaxJsonDepth is refused while parsing, wherever sixrd reads JSON from
// outside: the plugin's stdin (every field, every verb), GC's valid attachments, the version
// sniffing of error replies, and the conflists `sixrd status`/`daemon`/`uninstall` read. A
// document nested 500000 deep used to parse and then overflow the stack when copied or printed
// (SIGSEGV, no error JSON).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>

#include "cni/error.hpp"
#include "cni/json_input.hpp"
#include "cni/plugin.hpp"
#include "cni/version.hpp"
#include "fake_datapath.hpp"
#include "install/installer.hpp"
#include "test_files.hpp"

namespace sixrd::cni {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::size_t kHuge = 500000;

// `levels` arrays inside one another around `inner`: "[[[1]]]".
std::string nested(std::size_t levels, const std::string& inner = "1") {
  return std::string(levels, '[') + inner + std::string(levels, ']');
}

// `levels` objects {"a": ...} inside one another.
std::string nestedObjects(std::size_t levels) {
  std::string s;
  s.reserve(levels * 7);
  for (std::size_t i = 0; i < levels; ++i) s += R"({"a":)";
  s += "1";
  s += std::string(levels, '}');
  return s;
}

std::string config(const std::string& member) {
  return R"({"cniVersion":"1.1.0","name":"n","type":"sixrd","prefix":"fd00:10::/48",)"
         R"("underlay":"198.18.0.0/16","dataDir":"/nonexistent/sixrd-depth-test",)" +
         member + "}";
}

TEST(JsonDepth, AcceptsTheBoundAndRefusesOneMore) {
  EXPECT_NO_THROW(parseJson(nested(kMaxJsonDepth)));
  EXPECT_NO_THROW(parseJson(nestedObjects(kMaxJsonDepth)));
  try {
    parseJson(nested(kMaxJsonDepth + 1));
    FAIL() << "65 levels were accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kDecodeFailure);
    EXPECT_NE(std::string(e.what()).find("64 levels"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parseJson(nestedObjects(kMaxJsonDepth + 1)), Error);
}

TEST(JsonDepth, NamesTheFieldAndThePath) {
  try {
    parseJson(R"({"cniVersion":"1.1.0","dns":{"a":)" + nested(kHuge) + "}}");
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kDecodeFailure);
    EXPECT_EQ(e.details(), "dns");
    EXPECT_EQ(std::string(e.what()).rfind("dns nests", 0), 0U) << e.what();
    EXPECT_NE(std::string(e.what()).find("(at dns.a[0][0][0]"), std::string::npos) << e.what();
  }
  // The index of the element that goes too deep, and a key that is no identifier, quoted.
  try {
    parseJson(R"({"x y":[1,"s",{},[],)" + nested(kMaxJsonDepth) + "]}");
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.details(), "\"x y\"");
    EXPECT_NE(std::string(e.what()).find("\"x y\"[4][0]"), std::string::npos) << e.what();
  }
}

TEST(JsonDepth, SyntaxErrorsStayParseErrors) {
  EXPECT_THROW(parseJson("{\"a\":"), json::parse_error);
  EXPECT_TRUE(parseJsonOrDiscarded("{\"a\":").is_discarded());
  EXPECT_TRUE(parseJsonOrDiscarded(nested(kHuge)).is_discarded());
  EXPECT_EQ(parseJsonOrDiscarded(R"({"a":[1]})"), json::parse(R"({"a":[1]})"));
}

TEST(JsonDepth, ParseConfigRefusesWithCode6) {
  try {
    parseConfig(config(R"("mtu":)" + nested(kHuge)));
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kDecodeFailure);
    EXPECT_EQ(e.details(), "mtu");
  }
}

class PluginDepth : public ::testing::Test {
 protected:
  struct Outcome {
    int status = -1;
    json doc;
  };

  Outcome run(std::map<std::string, std::string> vars, const std::string& stdinBytes) {
    std::istringstream in(stdinBytes);
    std::ostringstream out;
    PluginOptions options;
    options.checkCapabilities = false;
    options.makeDatapath = [this]() -> std::unique_ptr<tunnel::Datapath> {
      return std::make_unique<fake::ForwardingDatapath>(fake_);
    };
    const Environment env = [&vars](const std::string& name) -> std::optional<std::string> {
      const auto it = vars.find(name);
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
    Outcome o;
    o.status = runPlugin(env, in, out, options);
    o.doc = json::parse(out.str(), nullptr, false);
    return o;
  }

  static std::map<std::string, std::string> containerEnv(const std::string& verb) {
    return {{"CNI_COMMAND", verb},
            {"CNI_CONTAINERID", "c0ffee0123456789"},
            {"CNI_NETNS", "/var/run/netns/pod-1"},
            {"CNI_IFNAME", "eth0"}};
  }

  static void expectRefused(const Outcome& o, const std::string& field) {
    EXPECT_EQ(o.status, 1);
    ASSERT_TRUE(o.doc.is_object()) << o.doc;
    EXPECT_EQ(o.doc.value("code", 0U), static_cast<unsigned>(Code::kDecodeFailure)) << o.doc;
    EXPECT_EQ(o.doc.value("details", ""), field) << o.doc;
    EXPECT_EQ(o.doc.value("msg", "").rfind(field + " nests", 0), 0U) << o.doc;
  }

  fake::FakeDatapath fake_;
};

// The issue's reproducer, for each field that is copied or printed while reading the config.
TEST_F(PluginDepth, StatusRefusesEveryDeepField) {
  for (const std::string field : {"dns", "prevResult", "runtimeConfig", "mtu", "unknownKey"}) {
    SCOPED_TRACE(field);
    const std::string inner =
        field == "mtu" || field == "unknownKey" ? nested(kHuge) : R"({"a":)" + nested(kHuge) + "}";
    expectRefused(run({{"CNI_COMMAND", "STATUS"}}, config("\"" + field + "\":" + inner)), field);
  }
}

TEST_F(PluginDepth, EveryVerbRefusesNothingIsMade) {
  const std::string deep = config(R"("dns":{"a":)" + nestedObjects(kHuge / 5) + "}");
  for (const std::string verb : {"ADD", "DEL", "CHECK"}) {
    SCOPED_TRACE(verb);
    expectRefused(run(containerEnv(verb), deep), "dns");
  }
  expectRefused(run({{"CNI_COMMAND", "GC"}}, deep), "dns");
  EXPECT_TRUE(fake_.pods.empty());
  // GC's valid attachments are read from the raw stdin too.
  expectRefused(
      run({{"CNI_COMMAND", "GC"}}, config(R"("cni.dev/valid-attachments":)" + nested(kHuge))),
      "cni.dev/valid-attachments");
}

TEST_F(PluginDepth, VersionStillAnswers) {
  const Outcome o = run({{"CNI_COMMAND", "VERSION"}}, config(R"("dns":)" + nested(kHuge)));
  EXPECT_EQ(o.status, 0) << o.doc;
  EXPECT_TRUE(o.doc.contains("supportedVersions")) << o.doc;
}

// An environment error reports in the config's version and log file, read from the same stdin.
TEST_F(PluginDepth, ErrorsBeforeTheConfigStillAnswer) {
  auto vars = containerEnv("ADD");
  vars["CNI_IFNAME"] = "bad/name";
  const Outcome o = run(vars, R"({"cniVersion":"0.4.0","dns":)" + nested(kHuge) + "}");
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(o.doc.value("code", 0U), static_cast<unsigned>(Code::kInvalidEnv)) << o.doc;
}

TEST(InstallDepth, ReadConfRefusesADeepConflist) {
  const fs::path dir = test::makeTempDir("json-depth");
  const fs::path file = dir / "10-sixrd.conflist";
  std::ofstream(file) << R"({"cniVersion":"1.0.0","name":"sixrd","plugins":)" << nested(kHuge)
                      << "}";
  try {
    install::readConf(file);
    ADD_FAILURE() << "accepted";
  } catch (const install::InstallError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(file.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("plugins nests"), std::string::npos) << msg;
  }
  install::Paths paths;
  paths.hostRoot = dir;
  paths.cniConfDir = "/";  // paths.conflist() is `file`
  try {
    install::uninstall(paths);
    ADD_FAILURE() << "accepted";
  } catch (const install::InstallError& e) {
    EXPECT_NE(std::string(e.what()).find("plugins nests"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::exists(file));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sixrd::cni
