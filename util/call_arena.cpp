// The C++ heap of one CNI call: global operator new and delete for the sixrd executable.
//
// A CNI call is a process that lives a few milliseconds, makes a few hundred small C++
// allocations (JSON nodes, strings, vectors) and exits with _Exit without freeing them. glibc's
// malloc is built for processes that live: in a fresh process its per-thread cache is empty, so
// every allocation takes the slow path, and an ADD spent 27% of its instructions in malloc and
// free (callgrind, README "Performance"). Once enableCallArena() is called (main.cpp
// does, for a CNI call only), operator new hands out 16-byte aligned pieces of one static block
// by bumping an offset, and operator delete gives back only the newest piece (the common case of
// a temporary); the rest is returned when the process exits. The block is zero-fill bss: only
// the pages a call uses are ever touched. When it is full, or before it is enabled (the CLI and
// the node daemon, which live long), new and delete are malloc and free. The C heap (libnl,
// glibc) is not affected.
//
// Only the sixrd executable and its own test binary (tests/arena/) link this file: the other test
// binaries keep the default operators.
#include "util/call_arena.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace {

constexpr std::size_t kArenaBytes = std::size_t{1} << 20;
constexpr std::size_t kAlign = 16;

alignas(64) unsigned char arena[kArenaBytes];
// Offset of the first free byte. A call is single-threaded, but the operators must stay correct
// if a thread ever allocates: every change is a compare-and-swap.
std::atomic<std::size_t> used{0};
std::atomic<bool> enabled{false};

std::size_t rounded(std::size_t size) noexcept { return (size + kAlign - 1) & ~(kAlign - 1); }

bool inArena(const void* p) noexcept {
  const auto at = reinterpret_cast<std::uintptr_t>(p);
  const auto begin = reinterpret_cast<std::uintptr_t>(arena);
  return at >= begin && at < begin + kArenaBytes;
}

void* fromArena(std::size_t size) noexcept {
  if (size == 0 || size > kArenaBytes) return nullptr;
  const std::size_t need = rounded(size);
  std::size_t offset = used.load(std::memory_order_relaxed);
  do {
    if (need > kArenaBytes - offset) return nullptr;
  } while (!used.compare_exchange_weak(offset, offset + need, std::memory_order_relaxed));
  return arena + offset;
}

void* fromMalloc(std::size_t size) {
  for (;;) {
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    const std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
  }
}

// The newest piece goes back to the arena; older ones stay until the process exits.
void giveBack(void* p, std::size_t size) noexcept {
  const auto offset = static_cast<std::size_t>(static_cast<unsigned char*>(p) - arena);
  std::size_t expected = offset + rounded(size);
  used.compare_exchange_strong(expected, offset, std::memory_order_relaxed);
}

}  // namespace

namespace sixrd::util {

void enableCallArena() noexcept { enabled.store(true, std::memory_order_relaxed); }

std::size_t callArenaBytesUsed() noexcept { return used.load(std::memory_order_relaxed); }

}  // namespace sixrd::util

// NOLINTBEGIN(misc-new-delete-overloads,cppcoreguidelines-no-malloc)
void* operator new(std::size_t size) {
  if (enabled.load(std::memory_order_relaxed)) {
    if (void* p = fromArena(size)) return p;
  }
  return fromMalloc(size);
}

void operator delete(void* p) noexcept {
  if (!inArena(p)) std::free(p);
}

void operator delete(void* p, std::size_t size) noexcept {
  if (inArena(p)) {
    giveBack(p, size);
  } else {
    std::free(p);
  }
}
// NOLINTEND(misc-new-delete-overloads,cppcoreguidelines-no-malloc)
