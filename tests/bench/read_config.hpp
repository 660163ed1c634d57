// The config a runtime pipes to a plugin, read whole from stdin into a NUL-terminated buffer with
// read(2) alone: shared by the bench's two floor programs (floor_plugin.cpp, kernel_floor.cpp),
// which must not pay for stdio or a parser. Test-only, never installed.
#pragma once

#include <unistd.h>

#include <cstddef>

namespace sixrd::bench {

// Fills `buf` with stdin up to its size less one (the rest is not read), NUL-terminates it and
// returns it.
template <std::size_t N>
char* readConfig(char (&buf)[N]) {
  std::size_t len = 0;
  for (ssize_t n = 0; len < N - 1; len += static_cast<std::size_t>(n)) {
    n = ::read(0, buf + len, N - 1 - len);
    if (n <= 0) break;
  }
  buf[len] = '\0';
  return buf;
}

}  // namespace sixrd::bench
