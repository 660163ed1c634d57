// The daemon's heartbeat and the liveness check on it (install/liveness.hpp): the age logic, the
// file, and what a reader makes of a missing or broken one. No kernel involved.
#include "install/liveness.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "test_files.hpp"

namespace sixrd::install {
namespace {

namespace fs = std::filesystem;

Heartbeat beatAt(double bootSeconds, int interval = 60) {
  return {.pid = 7, .round = 12, .intervalSeconds = interval, .bootSeconds = bootSeconds};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Liveness, AFreshHeartbeatIsAlive) {
  const Liveness l = judgeHeartbeat(beatAt(1000), 1005);
  EXPECT_TRUE(l.alive) << l.line;
  EXPECT_TRUE(contains(l.line, "alive")) << l.line;
  EXPECT_TRUE(contains(l.line, "pid 7, round 12")) << l.line;
  EXPECT_TRUE(contains(l.line, "5 s ago")) << l.line;
}

TEST(Liveness, UpToThreeRoundsOldIsAlive) {
  EXPECT_TRUE(judgeHeartbeat(beatAt(1000), 1000).alive);
  EXPECT_TRUE(judgeHeartbeat(beatAt(1000), 1000 + 3 * 60).alive);
  EXPECT_TRUE(judgeHeartbeat(beatAt(1000, 1), 1003).alive);
}

TEST(Liveness, OlderThanThreeRoundsIsStuck) {
  const Liveness l = judgeHeartbeat(beatAt(1000), 1000 + 3 * 60 + 1);
  EXPECT_FALSE(l.alive) << l.line;
  EXPECT_TRUE(contains(l.line, "stuck")) << l.line;
  EXPECT_TRUE(contains(l.line, "181 s ago")) << l.line;
  EXPECT_TRUE(contains(l.line, "3 rounds of 60 s (180 s)")) << l.line;
  EXPECT_FALSE(judgeHeartbeat(beatAt(1000, 1), 1003.5).alive);
}

TEST(Liveness, AHeartbeatFromTheFutureIsNotAlive) {
  const Liveness l = judgeHeartbeat(beatAt(1000), 990);
  EXPECT_FALSE(l.alive) << l.line;
  EXPECT_TRUE(contains(l.line, "future")) << l.line;
}

TEST(Liveness, TheLimitFollowsTheIntervalTheFileRecords) {
  EXPECT_TRUE(judgeHeartbeat(beatAt(0, 300), 899).alive);
  EXPECT_FALSE(judgeHeartbeat(beatAt(0, 10), 31).alive);
}

class HeartbeatFile : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::makeTempDir("heartbeat"); }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(HeartbeatFile, DefaultPathIsUnderTheHostLeaseStorePerConflist) {
  EXPECT_EQ(defaultHeartbeatPath("/host", "/host/etc/cni/net.d/10-sixrd.conflist"),
            fs::path("/host/run/sixrd/.daemon-10-sixrd.conflist.heartbeat"));
  EXPECT_NE(defaultHeartbeatPath("/", "/etc/cni/net.d/10-sixrd.conflist"),
            defaultHeartbeatPath("/", "/etc/cni/net.d/20-blue.conflist"));
}

TEST_F(HeartbeatFile, WrittenWholeAndReadBack) {
  const fs::path path = dir_ / "run/sixrd/.daemon-x.heartbeat";
  writeHeartbeat(path, beatAt(1234.5, 30));
  const Heartbeat back = readHeartbeat(path);
  EXPECT_EQ(back.pid, 7);
  EXPECT_EQ(back.round, 12);
  EXPECT_EQ(back.intervalSeconds, 30);
  EXPECT_DOUBLE_EQ(back.bootSeconds, 1234.5);
  // No temporary file left next to it.
  int files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(path.parent_path())) ++files;
  EXPECT_EQ(files, 1);
}

TEST_F(HeartbeatFile, FreshFilePassesStaleFileFails) {
  const fs::path path = dir_ / "hb";
  writeHeartbeat(path, {getpid(), 1, 1, bootSeconds()});
  const Liveness fresh = checkLiveness(path);
  EXPECT_TRUE(fresh.alive) << fresh.line;
  writeHeartbeat(path, {getpid(), 1, 1, bootSeconds() - 4});
  const Liveness stale = checkLiveness(path);
  EXPECT_FALSE(stale.alive) << stale.line;
  EXPECT_TRUE(contains(stale.line, "stuck")) << stale.line;
}

TEST_F(HeartbeatFile, MissingOrBrokenFileIsNotAlive) {
  const Liveness missing = checkLiveness(dir_ / "none");
  EXPECT_FALSE(missing.alive);
  EXPECT_TRUE(contains(missing.line, "no heartbeat file " + (dir_ / "none").string()))
      << missing.line;
  for (const char* text :
       {"", "garbage", "[]", R"({"pid": 1, "round": 1, "bootSeconds": 5})",
        R"({"pid": 1, "round": 1, "intervalSeconds": 0, "bootSeconds": 5})",
        R"({"pid": 1, "round": 1, "intervalSeconds": "60", "bootSeconds": 5})"}) {
    std::ofstream(dir_ / "bad") << text;
    const Liveness l = checkLiveness(dir_ / "bad");
    EXPECT_FALSE(l.alive) << text;
    EXPECT_TRUE(contains(l.line, (dir_ / "bad").string())) << l.line;
  }
}

}  // namespace
}  // namespace sixrd::install
