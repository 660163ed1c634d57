// Spec versions: which ones sixrd speaks, how they compare, and which verbs each one has.
#include <gtest/gtest.h>

#include <string>

#include "cni/error.hpp"
#include "cni/version.hpp"

namespace sixrd::cni {
namespace {

class CniVersionPerSpec : public ::testing::TestWithParam<std::string_view> {};
INSTANTIATE_TEST_SUITE_P(Cni, CniVersionPerSpec, ::testing::ValuesIn(kSupportedVersions));

TEST_P(CniVersionPerSpec, IsSupported) { EXPECT_TRUE(isSupported(GetParam())); }

TEST_P(CniVersionPerSpec, EqualsItself) { EXPECT_EQ(compareVersions(GetParam(), GetParam()), 0); }

TEST_P(CniVersionPerSpec, HasCheckFrom040) {
  const bool expected = GetParam() != "0.3.0" && GetParam() != "0.3.1";
  EXPECT_EQ(hasCheck(GetParam()), expected);
}

TEST_P(CniVersionPerSpec, HasGcAndStatusFrom110Only) {
  EXPECT_EQ(hasGcAndStatus(GetParam()), GetParam() == "1.1.0");
}

TEST(CniVersion, LatestIsSupported) { EXPECT_TRUE(isSupported(kLatestVersion)); }

TEST(CniVersion, OtherVersionsAreNotSupported) {
  for (const char* version : {"0.1.0", "0.2.0", "1.2.0", "2.0.0", "1.0", "", "1.0.0 "}) {
    EXPECT_FALSE(isSupported(version)) << version;
  }
}

TEST(CniVersion, SupportedVersionsAreListedInAscendingOrder) {
  for (std::size_t i = 1; i < kSupportedVersions.size(); ++i) {
    EXPECT_LT(compareVersions(kSupportedVersions.at(i - 1), kSupportedVersions.at(i)), 0);
    EXPECT_GT(compareVersions(kSupportedVersions.at(i), kSupportedVersions.at(i - 1)), 0);
  }
}

TEST(CniVersion, ComparesNumericallyNotAsText) {
  EXPECT_GT(compareVersions("0.10.0", "0.9.0"), 0);
  EXPECT_LT(compareVersions("1.1.9", "1.1.10"), 0);
  EXPECT_GT(compareVersions("10.0.0", "9.9.9"), 0);
}

TEST(CniVersion, MalformedVersionIsDecodeFailureNamingIt) {
  for (const char* bad : {"", "1", "1.0", "1.0.0.0", "v1.0.0", "1..0", "1.0.", ".1.0", "-1.0.0",
                          "+1.0.0", " 1.0.0", "1.0.0 ", "a.b.c", "1.0.x", "99999999.0.0"}) {
    try {
      static_cast<void>(compareVersions(bad, "1.0.0"));
      ADD_FAILURE() << "accepted \"" << bad << "\"";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Code::kDecodeFailure) << bad;
      EXPECT_NE(std::string(e.what()).find("\"" + std::string(bad) + "\" is not a version"),
                std::string::npos)
          << e.what();
    }
  }
}

TEST(CniVersion, VerbPredicatesRejectMalformedVersions) {
  EXPECT_THROW(static_cast<void>(hasCheck("0.4")), Error);
  EXPECT_THROW(static_cast<void>(hasGcAndStatus("latest")), Error);
}

}  // namespace
}  // namespace sixrd::cni
