// Logging: lines go to the configured file and/or stderr, never stdout, each naming its
// attachment; an unusable log file never fails the call.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <spdlog/spdlog.h>

#include "cni/config.hpp"
#include "cni/log.hpp"
#include "test_files.hpp"

namespace sixrd::cni {
namespace {

namespace fs = std::filesystem;

class CniLog : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sixrd-log-test-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    silenceLogging();
    fs::remove_all(dir_);
  }
  static std::string slurp(const fs::path& path) { return test::readFile(path); }
  fs::path dir_;
};

TEST_F(CniLog, LinesGoToTheFileNamingPidContainerAndIfname) {
  const fs::path file = dir_ / "sixrd.log";
  ::testing::internal::CaptureStdout();
  initLogging(LogConfig{file.string(), "info"}, "c0ffee", "eth0", false);
  spdlog::info("pod address {}", "fd00::1");
  const std::string stdoutText = ::testing::internal::GetCapturedStdout();
  const std::string text = slurp(file);
  EXPECT_NE(text.find("info"), std::string::npos) << text;
  // Appended rather than `"[" + std::to_string(...)`: inserting at the front of a temporary trips
  // g++ 12's -Wrestrict false positive (GCC bug 105651).
  std::string pid = "[";
  pid += std::to_string(getpid());
  pid += ']';
  EXPECT_NE(text.find(pid), std::string::npos) << text;
  EXPECT_NE(text.find("c0ffee/eth0: pod address fd00::1"), std::string::npos) << text;
  EXPECT_EQ(stdoutText, "");
}

// The log file: a symlink there is not followed (root's lines are not redirected anywhere),
// it is created 0640 and not inherited across exec.
TEST_F(CniLog, ASymlinkAtTheLogPathIsNotFollowed) {
  const fs::path target = dir_ / "elsewhere";
  std::ofstream(target) << "precious\n";
  const fs::path file = dir_ / "sixrd.log";
  fs::create_symlink(target, file);
  ::testing::internal::CaptureStderr();
  initLogging(LogConfig{file.string(), "info"}, "c0ffee", "eth0", false);
  spdlog::info("hello");
  silenceLogging();
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(slurp(target), "precious\n");
  EXPECT_NE(err.find("symlink"), std::string::npos) << err;
  EXPECT_NE(err.find("hello"), std::string::npos) << "falls back to stderr: " << err;
}

TEST_F(CniLog, FileIsCreated0640AndClosedOnExec) {
  const fs::path file = dir_ / "sixrd.log";
  const mode_t old = ::umask(0);
  initLogging(LogConfig{file.string(), "info"}, "c0ffee", "eth0", false);
  ::umask(old);
  spdlog::info("hello");
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640U);
  // The open log fd (the newest fd pointing at the file) carries FD_CLOEXEC.
  bool found = false;
  for (const auto& entry : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    if (fs::read_symlink(entry.path(), ec) != file) continue;
    const int fd = std::stoi(entry.path().filename().string());
    found = true;
    EXPECT_EQ(::fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  }
  EXPECT_TRUE(found);
  silenceLogging();
}

TEST_F(CniLog, FileIsAppendedNotTruncated) {
  const fs::path file = dir_ / "sixrd.log";
  initLogging(LogConfig{file.string(), "info"}, "first", "eth0", false);
  spdlog::info("one");
  initLogging(LogConfig{file.string(), "info"}, "second", "eth0", false);
  spdlog::info("two");
  const std::string text = slurp(file);
  EXPECT_NE(text.find("first/eth0: one"), std::string::npos) << text;
  EXPECT_NE(text.find("second/eth0: two"), std::string::npos) << text;
}

TEST_F(CniLog, MissingParentDirectoryIsCreated) {
  const fs::path file = dir_ / "a" / "b" / "sixrd.log";
  initLogging(LogConfig{file.string(), "info"}, "c", "eth0", false);
  spdlog::warn("hello");
  EXPECT_NE(slurp(file).find("hello"), std::string::npos);
}

TEST_F(CniLog, LevelFiltersLines) {
  const fs::path file = dir_ / "sixrd.log";
  initLogging(LogConfig{file.string(), "warn"}, "c", "eth0", false);
  spdlog::info("quiet");
  spdlog::error("loud");
  const std::string text = slurp(file);
  EXPECT_EQ(text.find("quiet"), std::string::npos) << text;
  EXPECT_NE(text.find("loud"), std::string::npos) << text;
}

TEST_F(CniLog, LevelOffOpensNoFile) {
  const fs::path file = dir_ / "sixrd.log";
  initLogging(LogConfig{file.string(), "off"}, "c", "eth0", true);
  spdlog::error("nothing");
  EXPECT_FALSE(fs::exists(file));
}

TEST_F(CniLog, StderrWhenAsked) {
  ::testing::internal::CaptureStderr();
  ::testing::internal::CaptureStdout();
  initLogging(LogConfig{"", "debug"}, "abc", "net1", true);
  spdlog::debug("to stderr");
  const std::string stdoutText = ::testing::internal::GetCapturedStdout();
  const std::string stderrText = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(stderrText.find("abc/net1: to stderr"), std::string::npos) << stderrText;
  EXPECT_EQ(stdoutText, "");
}

TEST_F(CniLog, UnopenableFileFallsBackToStderrWithAWarning) {
  // A path below a regular file can never be created, whoever runs the test (root included).
  const fs::path blocker = dir_ / "not-a-dir";
  std::ofstream(blocker) << "x";
  const fs::path file = blocker / "sixrd.log";
  ::testing::internal::CaptureStderr();
  initLogging(LogConfig{file.string(), "info"}, "c", "eth0", false);
  spdlog::info("still logged");
  const std::string stderrText = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(stderrText.find("cannot open log file " + file.string()), std::string::npos)
      << stderrText;
  EXPECT_NE(stderrText.find("still logged"), std::string::npos) << stderrText;
}

TEST_F(CniLog, PercentInContainerIdIsLiteral) {
  const fs::path file = dir_ / "sixrd.log";
  initLogging(LogConfig{file.string(), "info"}, "50%v", "eth0", false);
  spdlog::info("m");
  EXPECT_NE(slurp(file).find("50%v/eth0: m"), std::string::npos) << slurp(file);
}

TEST_F(CniLog, SilenceLoggingWritesNowhere) {
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  silenceLogging();
  spdlog::error("dropped");
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST_F(CniLog, CliLoggingGoesToStderr) {
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  initCliLogging("info");
  spdlog::info("for humans");
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "");
  EXPECT_NE(::testing::internal::GetCapturedStderr().find("for humans"), std::string::npos);
}

TEST(CniLogLevels, KnownLevelsOnly) {
  for (const std::string_view level : kLogLevels) {
    EXPECT_TRUE(isLogLevel(level)) << level;
  }
  EXPECT_FALSE(isLogLevel("warning"));
  EXPECT_FALSE(isLogLevel("INFO"));
  EXPECT_FALSE(isLogLevel(""));
}

}  // namespace
}  // namespace sixrd::cni
