// The static sixrd binary does not ask the kernel where it was loaded from.
//
// glibc's start-up of a static program (_dl_non_dynamic_init) calls _dl_get_origin, which reads
// the /proc/self/exe link, to know the directory $ORIGIN names in the search paths of dlopen.
// sixrd never loads a shared object: it is linked statically, glibc's NSS entry points are bound
// to stubs (cni/no_nss.cpp), and nothing it runs converts character sets through iconv modules.
// A lookup in /proc is among the dearest system calls a fresh process makes (0.1-0.2 ms in the
// benchmark VM, README "Performance"), and every CNI call, VERSION included, made this one before
// main.
//
// The sixrd target links with -Wl,--wrap=_dl_get_origin (top-level CMakeLists.txt), which binds
// glibc's calls to the function below. It answers as _dl_get_origin does when the link cannot be
// read: (char *) -1, "origin unknown", which only makes a $ORIGIN in a dlopen path unusable.
// Only the sixrd executable uses this file. tests/unit/static_origin_check.sh (ctest
// binary_static_origin) checks that a VERSION call reads no /proc/self/exe.
extern "C" {

// NOLINTBEGIN(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp,readability-identifier-naming,performance-no-int-to-ptr)
const char* __wrap__dl_get_origin() { return reinterpret_cast<const char*>(-1L); }
// NOLINTEND(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp,readability-identifier-naming,performance-no-int-to-ptr)

}  // extern "C"
