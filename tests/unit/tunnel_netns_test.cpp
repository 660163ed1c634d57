// tunnel::Netns::open on what a hostile or broken runtime may pass as CNI_NETNS. No root needed:
// opening one's own namespace file is always allowed, and nothing else here is a namespace.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/netlink.h>
#include <sys/socket.h>
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

// The same namespace file, by device and inode.
bool sameNamespace(int a, int b) {
  struct stat sa {};
  struct stat sb {};
  return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

// The namespace named by a socket made in it (SIOCGSKNS, with CAP_NET_ADMIN) or, where the kernel
// refuses that (no such capability, not a socket), by /proc: this thread's either way.
TEST(NetnsCurrent, ASocketMadeHereNamesThisThreadsNamespace) {
  const Netns here = Netns::current();
  const int sock = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  ASSERT_GE(sock, 0);
  const Netns bySocket = Netns::current(sock);
  ::close(sock);
  EXPECT_TRUE(sameNamespace(here.fd(), bySocket.fd()));
  EXPECT_EQ(fcntl(bySocket.fd(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  const Netns byNothing = Netns::current(-1);
  EXPECT_TRUE(sameNamespace(here.fd(), byNothing.fd()));
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
