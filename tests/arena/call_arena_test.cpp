// The call arena (util/call_arena.cpp), in a test binary of its own: linking it replaces the global
// operator new and delete of the whole process, as it does in the sixrd executable.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "util/call_arena.hpp"

namespace {

using sixrd::util::callArenaBytesUsed;
using sixrd::util::enableCallArena;

bool aligned16(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 16 == 0; }

// Defined first, so it also runs first when the binary runs every test in one process (gtest
// keeps the order of a file; ctest runs each test in a process of its own): before
// enableCallArena() nothing comes from the arena.
TEST(CallArena, StartsDisabled) {
  const auto p = std::make_unique<std::string>(100, 'x');
  EXPECT_EQ(callArenaBytesUsed(), 0U);
}

TEST(CallArena, HandsOutAlignedPiecesOnceEnabled) {
  enableCallArena();
  const std::size_t before = callArenaBytesUsed();
  auto* a = static_cast<char*>(::operator new(1));
  auto* b = static_cast<char*>(::operator new(24));
  EXPECT_TRUE(aligned16(a));
  EXPECT_TRUE(aligned16(b));
  EXPECT_EQ(b - a, 16) << "1 byte takes one 16-byte slot";
  EXPECT_EQ(callArenaBytesUsed(), before + 16 + 32);
  std::memset(a, 0xab, 1);
  std::memset(b, 0xcd, 24);
  EXPECT_EQ(static_cast<unsigned char>(a[0]), 0xab) << "the pieces do not overlap";
  ::operator delete(b, 24);
  ::operator delete(a, 1);
}

TEST(CallArena, TheNewestPieceGoesBackTheOthersStay) {
  enableCallArena();
  const std::size_t start = callArenaBytesUsed();
  void* older = ::operator new(64);
  void* newer = ::operator new(64);
  EXPECT_EQ(callArenaBytesUsed(), start + 128);
  ::operator delete(older, 64);
  EXPECT_EQ(callArenaBytesUsed(), start + 128) << "an older piece is not reused";
  ::operator delete(newer, 64);
  EXPECT_EQ(callArenaBytesUsed(), start + 64) << "the newest is";
  void* again = ::operator new(48);
  EXPECT_EQ(again, newer);
  ::operator delete(again);  // unsized: kept, as nothing tells its size
  EXPECT_EQ(callArenaBytesUsed(), start + 64 + 48);
}

TEST(CallArena, WhatDoesNotFitComesFromMalloc) {
  enableCallArena();
  const std::size_t before = callArenaBytesUsed();
  std::vector<char> big(std::size_t{2} << 20, 'z');  // larger than the whole arena
  EXPECT_EQ(callArenaBytesUsed(), before);
  EXPECT_EQ(big.back(), 'z');
  big.clear();
  big.shrink_to_fit();  // freed by free(), not mistaken for an arena piece
  std::string s(1000, 'y');
  EXPECT_EQ(s[999], 'y');
}

TEST(CallArena, ContainersWorkOnTopOfIt) {
  enableCallArena();
  std::vector<std::string> words;
  for (int i = 0; i < 2000; ++i) words.push_back("word number " + std::to_string(i));
  ASSERT_EQ(words.size(), 2000U);
  EXPECT_EQ(words[1234], "word number 1234");
}

}  // namespace
