// The standard streams without <iostream>'s start-up cost. Product code includes this header
// instead of <iostream> (and util/cli11.hpp instead of <CLI/CLI.hpp>); tests/style/layers.py
// checks it.
//
// Why: with libstdc++ (GCC 12), every translation unit that includes <iostream> holds a static
// std::ios_base::Init, and the first one constructed builds the eight standard streams and the
// classic locale before main: 44,000 instructions, a third of what `sixrd` does to answer VERSION,
// run on every CNI call although the plugin reads stdin and writes stdout with read(2) and
// write(2). Here the streams are only declared, as <iostream> declares them, and built by
// initStreams(), which the command line calls before it prints anything.
#pragma once

#include <istream>
#include <ostream>

#if defined(__GLIBCXX__)
// <iostream> itself, if included later, must not add its static initialiser back.
#ifndef _GLIBCXX_IOSTREAM
#define _GLIBCXX_IOSTREAM 1
namespace std {  // NOLINT(cert-dcl58-cpp): the declarations <iostream> would make, no more
extern istream cin;
extern ostream cout;
extern ostream cerr;
extern ostream clog;
extern wistream wcin;
extern wostream wcout;
extern wostream wcerr;
extern wostream wclog;
}  // namespace std
#endif
#else
#include <iostream>
#endif

namespace sixrd::util {

// Builds std::cin, std::cout, std::cerr and std::clog on the first call (and flushes them at exit,
// as <iostream> would); later calls do nothing. Call it before the first use of any of them.
inline void initStreams() { static const std::ios_base::Init streams; }

}  // namespace sixrd::util
