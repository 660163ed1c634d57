// Files for unit tests: a fresh temporary directory per test and a whole file read back.
#pragma once

#include <stdlib.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>

namespace sixrd::test {

// A new directory /tmp/sixrd-<tag>-XXXXXX (the fixture removes it in TearDown). Throws
// std::system_error when it cannot be made, which fails the test that asked.
inline std::filesystem::path makeTempDir(std::string_view tag) {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / ("sixrd-" + std::string(tag) + "-XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + tmpl);
  }
  return tmpl;
}

// The whole content of `path` ("" when it cannot be opened).
inline std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace sixrd::test
