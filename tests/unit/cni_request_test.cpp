// CNI invocations: environment variables per verb (SPEC.md "Parameters") and stdin.
#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <map>
#include <sstream>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <tuple>
#include <utility>

#include "cni/error.hpp"
#include "cni/request.hpp"

namespace sixrd::cni {
namespace {

using Vars = std::map<std::string, std::string>;

Environment envOf(Vars vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) {
      return std::nullopt;
    }
    return it->second;
  };
}

Vars fullAdd() {
  return {{"CNI_COMMAND", "ADD"},
          {"CNI_CONTAINERID", "0123456789abcdef"},
          {"CNI_NETNS", "/run/netns/cni-1234"},
          {"CNI_IFNAME", "eth0"},
          {"CNI_PATH", "/opt/cni/bin:/usr/lib/cni"}};
}

constexpr const char* kConfig = R"({"cniVersion":"1.1.0","name":"sixrd","type":"sixrd"})";

Request read(const Vars& vars, const std::string& stdinBytes = kConfig) {
  std::istringstream in(stdinBytes);
  return readRequest(envOf(vars), in);
}

Error errorFrom(const Vars& vars, const std::string& stdinBytes = kConfig) {
  try {
    static_cast<void>(read(vars, stdinBytes));
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "readRequest accepted the request";
  return {Code::kInternal, "nothing thrown"};
}

void expectInvalidEnv(const Vars& vars, const std::string& fragment) {
  const Error e = errorFrom(vars);
  EXPECT_EQ(e.code(), Code::kInvalidEnv) << e.what();
  EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
      << "\"" << e.what() << "\" lacks \"" << fragment << "\"";
}

Vars with(Vars vars, const std::string& name, const std::string& value) {
  vars[name] = value;
  return vars;
}

TEST(CniRequest, AddReadsEveryVariableAndStdin) {
  const Request r = read(with(fullAdd(), "CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAME=web-0"));
  EXPECT_EQ(r.verb, Verb::kAdd);
  EXPECT_EQ(r.containerId, "0123456789abcdef");
  EXPECT_EQ(r.netns, "/run/netns/cni-1234");
  EXPECT_EQ(r.ifname, "eth0");
  EXPECT_EQ(r.path, "/opt/cni/bin:/usr/lib/cni");
  EXPECT_EQ(r.args.at("K8S_POD_NAME"), "web-0");
  EXPECT_EQ(r.stdinBytes, kConfig);
}

TEST(CniRequest, EveryVerbIsRecognised) {
  const std::pair<const char*, Verb> verbs[] = {
      {"ADD", Verb::kAdd},         {"DEL", Verb::kDel}, {"CHECK", Verb::kCheck},
      {"VERSION", Verb::kVersion}, {"GC", Verb::kGc},   {"STATUS", Verb::kStatus}};
  for (const auto& [name, verb] : verbs) {
    EXPECT_EQ(read(with(fullAdd(), "CNI_COMMAND", name)).verb, verb) << name;
  }
}

TEST(CniRequest, MissingCommandIsInvalidEnv) {
  Vars vars = fullAdd();
  vars.erase("CNI_COMMAND");
  expectInvalidEnv(vars, "CNI_COMMAND is not set");
}

TEST(CniRequest, UnknownCommandIsInvalidEnvNamingIt) {
  expectInvalidEnv(with(fullAdd(), "CNI_COMMAND", "add"),
                   "CNI_COMMAND \"add\" is not a CNI command");
  expectInvalidEnv(with(fullAdd(), "CNI_COMMAND", ""), "CNI_COMMAND \"\" is not a CNI command");
}

// (verb, variable the spec requires for it)
class CniRequiredVariable : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {
};
INSTANTIATE_TEST_SUITE_P(Cni, CniRequiredVariable,
                         ::testing::Values(std::make_tuple("ADD", "CNI_CONTAINERID"),
                                           std::make_tuple("ADD", "CNI_NETNS"),
                                           std::make_tuple("ADD", "CNI_IFNAME"),
                                           std::make_tuple("DEL", "CNI_CONTAINERID"),
                                           std::make_tuple("DEL", "CNI_IFNAME"),
                                           std::make_tuple("CHECK", "CNI_CONTAINERID"),
                                           std::make_tuple("CHECK", "CNI_NETNS"),
                                           std::make_tuple("CHECK", "CNI_IFNAME")));

TEST_P(CniRequiredVariable, MissingIsInvalidEnvNamingIt) {
  const auto& [verb, variable] = GetParam();
  Vars vars = with(fullAdd(), "CNI_COMMAND", verb);
  vars.erase(variable);
  expectInvalidEnv(vars, variable + " is not set: the runtime must pass it for " + verb);
}

TEST_P(CniRequiredVariable, EmptyIsInvalidEnvNamingIt) {
  const auto& [verb, variable] = GetParam();
  expectInvalidEnv(with(with(fullAdd(), "CNI_COMMAND", verb), variable, ""),
                   variable + " is empty");
}

TEST(CniRequest, DelNeedsNoNetns) {
  Vars vars = with(fullAdd(), "CNI_COMMAND", "DEL");
  vars.erase("CNI_NETNS");
  EXPECT_EQ(read(vars).netns, "");
  EXPECT_EQ(read(with(vars, "CNI_NETNS", "")).netns, "");
}

TEST(CniRequest, CniPathIsNeverRequired) {
  Vars vars = fullAdd();
  vars.erase("CNI_PATH");
  EXPECT_EQ(read(vars).path, "");
}

class CniCommandOnly : public ::testing::TestWithParam<std::string> {};
INSTANTIATE_TEST_SUITE_P(Cni, CniCommandOnly, ::testing::Values("VERSION", "GC", "STATUS"));

TEST_P(CniCommandOnly, NeedsOnlyCniCommand) {
  const Request r = read({{"CNI_COMMAND", GetParam()}});
  EXPECT_EQ(r.containerId, "");
  EXPECT_EQ(r.ifname, "");
  EXPECT_EQ(r.netns, "");
}

TEST_P(CniCommandOnly, StillValidatesAContainerIdThatIsSet) {
  expectInvalidEnv({{"CNI_COMMAND", GetParam()}, {"CNI_CONTAINERID", "a/b"}}, "CNI_CONTAINERID");
}

TEST(CniRequest, ContainerIdWithSlashNamesVariableCharacterAndPosition) {
  const Error e = errorFrom(with(fullAdd(), "CNI_CONTAINERID", "a/b"));
  EXPECT_EQ(e.code(), Code::kInvalidEnv);
  EXPECT_STREQ(e.what(),
               "CNI_CONTAINERID \"a/b\" has '/' at position 1: a container id may hold only "
               "letters, digits, '_', '.' and '-'");
}

TEST(CniRequest, ContainerIdDotDotIsRefused) {
  expectInvalidEnv(with(fullAdd(), "CNI_CONTAINERID", ".."),
                   "CNI_CONTAINERID \"..\" starts with '.'");
}

TEST(CniRequest, ContainerIdMustStartWithLetterOrDigit) {
  expectInvalidEnv(with(fullAdd(), "CNI_CONTAINERID", "-rf"), "starts with '-'");
  expectInvalidEnv(with(fullAdd(), "CNI_CONTAINERID", "_x"), "starts with '_'");
}

TEST(CniRequest, ContainerIdOf300CharactersIsRefused) {
  expectInvalidEnv(with(fullAdd(), "CNI_CONTAINERID", std::string(300, 'a')),
                   "is 300 characters long: a container id holds at most 255");
}

TEST(CniRequest, ContainerIdOf255CharactersIsAccepted) {
  EXPECT_EQ(read(with(fullAdd(), "CNI_CONTAINERID", std::string(255, 'a'))).containerId.size(),
            255U);
}

TEST(CniRequest, ContainerIdMayHoldLettersDigitsUnderscoreDotDash) {
  EXPECT_EQ(read(with(fullAdd(), "CNI_CONTAINERID", "Pod_1.a-B")).containerId, "Pod_1.a-B");
}

TEST(CniRequest, ContainerIdNonAsciiIsShownAsBytes) {
  expectInvalidEnv(with(fullAdd(), "CNI_CONTAINERID", "ab\xc3\xa9"),
                   "CNI_CONTAINERID \"ab\\xc3\\xa9\" has byte 0xc3 at position 2");
}

TEST(CniRequest, LongValuesAreCutInMessages) {
  const Error e = errorFrom(with(fullAdd(), "CNI_CONTAINERID", std::string(300, 'a')));
  EXPECT_NE(std::string(e.what()).find(std::string(64, 'a') + "...\""), std::string::npos);
  EXPECT_EQ(std::string(e.what()).find(std::string(65, 'a')), std::string::npos);
}

TEST(CniRequest, IfnameOf16CharactersIsRefused) {
  expectInvalidEnv(with(fullAdd(), "CNI_IFNAME", "abcdefghijklmnop"),
                   "CNI_IFNAME \"abcdefghijklmnop\" is 16 characters long: Linux interface names "
                   "hold at most 15");
}

TEST(CniRequest, IfnameOf15CharactersIsAccepted) {
  EXPECT_EQ(read(with(fullAdd(), "CNI_IFNAME", "abcdefghijklmno")).ifname, "abcdefghijklmno");
}

TEST(CniRequest, IfnameWithSlashColonOrWhitespaceIsRefused) {
  expectInvalidEnv(with(fullAdd(), "CNI_IFNAME", "eth/0"),
                   "CNI_IFNAME \"eth/0\" has '/' at position 3");
  expectInvalidEnv(with(fullAdd(), "CNI_IFNAME", "eth:0"), "has ':' at position 3");
  expectInvalidEnv(with(fullAdd(), "CNI_IFNAME", "eth 0"), "has ' ' at position 3");
  expectInvalidEnv(with(fullAdd(), "CNI_IFNAME", "eth\t0"), "has byte 0x09 at position 3");
}

TEST(CniRequest, IfnameDotAndDotDotAreRefused) {
  expectInvalidEnv(with(fullAdd(), "CNI_IFNAME", "."), "CNI_IFNAME \".\" is not an interface name");
  expectInvalidEnv(with(fullAdd(), "CNI_IFNAME", ".."),
                   "CNI_IFNAME \"..\" is not an interface name");
}

TEST(CniRequest, InterfaceNameProblemAcceptsOrdinaryNames) {
  for (const char* name : {"eth0", "net1", "sixrd0", "a", "veth.100", "x-y_z"}) {
    EXPECT_EQ(interfaceNameProblem(name), std::nullopt) << name;
  }
}

TEST(CniRequest, KubeletArgsAreParsed) {
  const Request r = read(with(fullAdd(), "CNI_ARGS",
                              "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;"
                              "K8S_POD_INFRA_CONTAINER_ID=0123456789abcdef;"
                              "K8S_POD_UID=7f6e2a5c-1b2d-4e8f-9a0b-1c2d3e4f5a6b"));
  const std::map<std::string, std::string> expected = {
      {"IgnoreUnknown", "1"},
      {"K8S_POD_NAMESPACE", "default"},
      {"K8S_POD_NAME", "web-0"},
      {"K8S_POD_INFRA_CONTAINER_ID", "0123456789abcdef"},
      {"K8S_POD_UID", "7f6e2a5c-1b2d-4e8f-9a0b-1c2d3e4f5a6b"}};
  EXPECT_EQ(r.args, expected);
}

TEST(CniRequest, EmptyOrAbsentArgsAreNoArgs) {
  EXPECT_TRUE(read(with(fullAdd(), "CNI_ARGS", "")).args.empty());
  EXPECT_TRUE(read(fullAdd()).args.empty());
}

TEST(CniRequest, ArgsSkipEmptyEntriesAndKeepEqualsInValues) {
  const Request r = read(with(fullAdd(), "CNI_ARGS", ";A=b=c;;B=;"));
  const std::map<std::string, std::string> expected = {{"A", "b=c"}, {"B", ""}};
  EXPECT_EQ(r.args, expected);
}

TEST(CniRequest, ArgsEntryWithoutEqualsIsInvalidEnv) {
  expectInvalidEnv(with(fullAdd(), "CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAME"),
                   "CNI_ARGS entry 1 \"K8S_POD_NAME\" has no '='");
}

TEST(CniRequest, ArgsEntryWithEmptyKeyIsInvalidEnv) {
  expectInvalidEnv(with(fullAdd(), "CNI_ARGS", "=value"),
                   "CNI_ARGS entry 0 \"=value\" has an empty key");
}

TEST(CniRequest, StdinOfExactlyTheLimitIsAccepted) {
  EXPECT_EQ(read(fullAdd(), std::string(kMaxStdinBytes, ' ')).stdinBytes.size(), kMaxStdinBytes);
}

TEST(CniRequest, StdinOverTheLimitIsDecodeFailure) {
  const Error e = errorFrom(fullAdd(), std::string(kMaxStdinBytes + 1, ' '));
  EXPECT_EQ(e.code(), Code::kDecodeFailure);
  EXPECT_NE(std::string(e.what()).find("stdin holds more than"), std::string::npos) << e.what();
}

// An endless writer: hands out characters forever and counts them.
class EndlessBuf : public std::streambuf {
 public:
  std::size_t delivered = 0;

 protected:
  int_type underflow() override {
    buffer_.fill('x');
    setg(buffer_.data(), buffer_.data(), buffer_.data() + buffer_.size());
    delivered += buffer_.size();
    return traits_type::to_int_type('x');
  }

 private:
  std::array<char, 4096> buffer_{};
};

TEST(CniRequest, StdinIsReadOnlyUpToTheBound) {
  EndlessBuf buf;
  std::istream in(&buf);
  EXPECT_THROW(static_cast<void>(readRequest(envOf(fullAdd()), in)), Error);
  EXPECT_LE(buf.delivered, kMaxStdinBytes + 1 + 4096);
}

class FailingBuf : public std::streambuf {
 protected:
  int_type underflow() override { throw std::runtime_error("EIO"); }
};

TEST(CniRequest, StdinReadErrorIsIoFailure) {
  FailingBuf buf;
  std::istream in(&buf);
  try {
    static_cast<void>(readRequest(envOf(fullAdd()), in));
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kIoFailure);
  }
}

TEST(CniRequest, EmptyStdinIsDecodeFailureExceptForVersion) {
  const Error e = errorFrom(fullAdd(), "");
  EXPECT_EQ(e.code(), Code::kDecodeFailure);
  EXPECT_NE(std::string(e.what()).find("stdin is empty"), std::string::npos);
  EXPECT_EQ(read({{"CNI_COMMAND", "VERSION"}}, "").stdinBytes, "");
}

TEST(CniRequest, ProcessEnvironmentReadsTheRealEnvironment) {
  ASSERT_EQ(setenv("SIXRD_TEST_VARIABLE", "value", 1), 0);
  const Environment env = processEnvironment();
  EXPECT_EQ(env("SIXRD_TEST_VARIABLE"), "value");
  ASSERT_EQ(unsetenv("SIXRD_TEST_VARIABLE"), 0);
  EXPECT_EQ(env("SIXRD_TEST_VARIABLE"), std::nullopt);
}

}  // namespace
}  // namespace sixrd::cni
