// The C++ heap of one CNI call (util/call_arena.cpp): operator new served from a static block,
// for a process that lives a few milliseconds. Linked into the sixrd executable only.
#pragma once

#include <cstddef>

namespace sixrd::util {

// From now on, operator new takes from the call's block while it has room (then from malloc).
// Call once, early, and only in a process that exits soon: memory given back out of order is
// not reused.
void enableCallArena() noexcept;

// Bytes of the block handed out so far (for tests and benchmarks).
std::size_t callArenaBytesUsed() noexcept;

}  // namespace sixrd::util
