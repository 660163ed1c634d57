// CLI11, included after util/streams.hpp so that its <iostream> adds no static initialiser (see
// there). Product code includes this header, never <CLI/CLI.hpp> directly.
#pragma once

#include "util/streams.hpp"

// clang-format off: CLI11 must come after the stream declarations above.
#include <CLI/CLI.hpp>
// clang-format on
