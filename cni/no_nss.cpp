// Name-service entry points for the static sixrd binary: answered "unavailable", without NSS.
//
// libnl-3.a's addr.o (nl_addr_info, nl_addr_resolve) and utils.o (nl_str2ip_proto,
// nl_ip_proto2str) call getaddrinfo, getnameinfo, getprotobyname and getprotobynumber. sixrd
// calls none of those libnl functions, but a static link takes whole archive members, so glibc's
// NSS-backed versions would come along, with ld's warning "Using 'getaddrinfo' in statically
// linked applications requires at runtime the shared libraries from the glibc version used for
// linking": on a host with another glibc they would dlopen NSS modules that do not match. The
// sixrd target links with -Wl,--wrap=<name> for each (top-level CMakeLists.txt), which binds every
// reference to the __wrap_ definitions below; glibc's are then never linked, and nothing in the
// binary can reach NSS. Only the sixrd executable uses this file: the test binaries link glibc
// dynamically and keep the real functions.
#include <netdb.h>
#include <sys/socket.h>

extern "C" {

// NOLINTBEGIN(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp,readability-identifier-naming)
int __wrap_getaddrinfo(const char* /*node*/, const char* /*service*/, const addrinfo* /*hints*/,
                       addrinfo** res) {
  if (res != nullptr) *res = nullptr;
  return EAI_FAIL;
}

int __wrap_getnameinfo(const sockaddr* /*addr*/, socklen_t /*addrlen*/, char* /*host*/,
                       socklen_t /*hostlen*/, char* /*serv*/, socklen_t /*servlen*/,
                       int /*flags*/) {
  return EAI_FAIL;
}

protoent* __wrap_getprotobyname(const char* /*name*/) { return nullptr; }

protoent* __wrap_getprotobynumber(int /*proto*/) { return nullptr; }
// NOLINTEND(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp,readability-identifier-naming)

}  // extern "C"
