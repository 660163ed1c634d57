// tunnel::Netns::open on what a hostile or broken runtime may pass as CNI_NETNS. No root needed:
// opening one's own namespace file is always allowed, and nothing else here is a namespace.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>

#include "test_files.hpp"
#include "tunnel/datapath.hpp"
#include "tunnel/netns.hpp"

namespace sixrd::tunnel {
namespace {

namespace fs = std::filesystem;

class NetnsOpen : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::makeTempDir("netns-open"); }
  void TearDown() override { fs::remove_all(dir_); }

  // The message of the NetnsError open(path) throws, "" when it throws none; fails the test when
  // the error says the path is missing.
  static std::string refusal(const std::string& path) {
    try {
      Netns::open(path);
    } catch (const NetnsError& e) {
      EXPECT_FALSE(e.missing()) << e.what();
      return e.what();
    }
    return "";
  }

  fs::path dir_;
};

TEST_F(NetnsOpen, OpensAProcessNamespace) {
  const Netns ns = Netns::open("/proc/self/ns/net");
  EXPECT_GE(ns.fd(), 0);
  EXPECT_EQ(fcntl(ns.fd(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
}

// Opening a FIFO for reading blocks until a writer comes: ADD used to hang forever.
TEST_F(NetnsOpen, AFifoIsRefusedWithoutBlocking) {
  const std::string fifo = (dir_ / "fifo").string();
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  auto result = std::async(std::launch::async, [&fifo] { return refusal(fifo); });
  if (result.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    // Unblock the reader so the test can end, then fail.
    const int writer = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (writer >= 0) ::close(writer);
    result.wait();
    FAIL() << "Netns::open blocked on a FIFO";
  }
  const std::string msg = result.get();
  EXPECT_NE(msg.find("not a network namespace"), std::string::npos) << msg;
  EXPECT_NE(msg.find("FIFO"), std::string::npos) << msg;
}

TEST_F(NetnsOpen, WhatIsNoNetworkNamespaceIsRefusedNotMissing) {
  const fs::path file = dir_ / "file";
  std::ofstream(file) << "x";
  EXPECT_NE(refusal(file.string()).find("not a network namespace"), std::string::npos);
  EXPECT_NE(refusal(dir_.string()).find("directory"), std::string::npos);
  EXPECT_NE(refusal("/dev/null").find("device"), std::string::npos);
  EXPECT_NE(refusal("/proc/self/ns/uts").find("another kind"), std::string::npos);
}

TEST_F(NetnsOpen, AMissingPathIsMissing) {
  try {
    Netns::open((dir_ / "gone").string());
    FAIL() << "opened";
  } catch (const NetnsError& e) {
    EXPECT_TRUE(e.missing()) << e.what();
  }
}

}  // namespace
}  // namespace sixrd::tunnel
