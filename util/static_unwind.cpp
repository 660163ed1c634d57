// Where the static sixrd binary's C++ unwinder finds its frame tables: the binary search table
// of .eh_frame_hdr, not a registry that is sorted on the first throw.
//
// gcc links a -static program with crtbeginT.o and without --eh-frame-hdr. crtbeginT registers
// the whole .eh_frame with libgcc (__register_frame_info) before main, and the first exception
// the process throws makes libgcc decode and sort every FDE of that object: an ADD refused for
// its configuration took 17.0 million instructions (callgrind), 186,000 without that sort, and
// the sort cost VERSION 13 ms under the VM's emulation when a parser threw (README,
// "Performance"). Every failing CNI call throws once: its error travels as an exception to the
// one place that writes the error JSON.
//
// The sixrd target links with -Wl,--eh-frame-hdr, which gives the binary a PT_GNU_EH_FRAME
// segment (.eh_frame_hdr, a table of every FDE sorted by address, written by ld), and with
// -Wl,--wrap= for the two functions below (top-level CMakeLists.txt), which binds crtbeginT's
// calls to these no-ops. With nothing registered, libgcc's _Unwind_Find_FDE goes straight to
// dl_iterate_phdr, which glibc answers in a static program from the program headers, and
// looks each frame up in ld's table. Only the sixrd executable uses this file: the test binaries
// are linked dynamically and keep gcc's defaults. tests/unit/static_unwind_check.sh (ctest
// binary_static_unwind) checks the segment and counts a refused call's instructions.
extern "C" {

struct object;

// NOLINTBEGIN(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp,readability-identifier-naming)
void __wrap___register_frame_info(const void* /*begin*/, object* /*ob*/) {}

void* __wrap___deregister_frame_info(const void* /*begin*/) { return nullptr; }
// NOLINTEND(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp,readability-identifier-naming)

}  // extern "C"
