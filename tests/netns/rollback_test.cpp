// ADD's rollback on the host kernel: a failure part-way through addPod (injected through the
// kernel datapath's StepHook at each fault point, tests/faults/fault.hpp) leaves neither end of the
// veth pair nor the host route, and the next addPod for the same pod succeeds.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../faults/fault.hpp"
#include "support.hpp"

namespace sixrd::netns_test {
namespace {

using ::testing::HasSubstr;

constexpr char kPodAddress[] = "fd00:10:0:b::1234";

class Rollback : public NodeTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(Rollback, FailureAtTheFaultPointLeavesNothingBehindAndTheNextAddWorks) {
  const std::string point = GetParam();
  const tunnel::PodSpec spec = podSpec(pod(), "cid", kPodAddress);
  const auto nodeLinksBefore = linkNames(node());
  {
    // Made here, in the node namespace, like datapath(): its socket binds there.
    const auto faulty = tunnel::makeKernelDatapathWithHook(test::failAt(point));
    try {
      faulty->addPod(spec);
      FAIL() << "addPod ignored the fault at " << point;
    } catch (const tunnel::Error& e) {
      EXPECT_THAT(e.what(), HasSubstr(point));
      EXPECT_EQ(e.details(), "SIXRD_TEST_FAULT");
    }
  }
  EXPECT_EQ(linkNames(node()), nodeLinksBefore);
  EXPECT_FALSE(link(node(), spec.hostVeth)) << "host veth survived the rollback";
  EXPECT_FALSE(link(pod().name(), "eth0")) << "pod interface survived the rollback";
  EXPECT_EQ(linkNames(pod().name()), std::vector<std::string>{"lo"});
  EXPECT_FALSE(route6(node(), kPodAddress)) << "host route survived the rollback";

  const tunnel::PodLinks links = datapath().addPod(spec);
  EXPECT_EQ(links.hostMac, link(node(), spec.hostVeth)->value("address", ""));
  EXPECT_EQ(datapath().checkPod(spec), std::vector<std::string>{});
  EXPECT_TRUE(ping6(node(), kPodAddress, "", std::chrono::seconds(3)));
}

INSTANTIATE_TEST_SUITE_P(EveryFaultPoint, Rollback,
                         ::testing::Values("after-veth", "after-pod-side", "after-host-side"),
                         [](const auto& info) {
                           std::string name;
                           for (const char c : std::string(info.param)) {
                             if (c != '-') name += c;
                           }
                           return name;
                         });

class FaultPoint : public NodeTest {};

TEST_F(FaultPoint, AnUnknownFaultNameChangesNothing) {
  const auto faulty = tunnel::makeKernelDatapathWithHook(test::failAt("no-such-point"));
  const tunnel::PodSpec spec = podSpec(pod(), "cid", kPodAddress);
  faulty->addPod(spec);
  EXPECT_EQ(datapath().checkPod(spec), std::vector<std::string>{});
}

}  // namespace
}  // namespace sixrd::netns_test
