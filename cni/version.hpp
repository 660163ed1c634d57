// CNI spec versions sixrd speaks.
#pragma once

#include <array>
#include <string_view>

namespace sixrd::cni {

inline constexpr std::array<std::string_view, 5> kSupportedVersions = {"0.3.0", "0.3.1", "0.4.0",
                                                                       "1.0.0", "1.1.0"};
inline constexpr std::string_view kLatestVersion = "1.1.0";

bool isSupported(std::string_view version) noexcept;
// "a.b.c" compare; throws cni::Error code 6 on a malformed version string.
int compareVersions(std::string_view a, std::string_view b);
// CHECK exists from 0.4.0; GC and STATUS from 1.1.0.
bool hasCheck(std::string_view version);
bool hasGcAndStatus(std::string_view version);

}  // namespace sixrd::cni
