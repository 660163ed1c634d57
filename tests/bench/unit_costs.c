// unit_costs: what the basic operations of a CNI call cost on this kernel, each repeated and
// averaged: a bare system call, one RTM_GETLINK round trip (alone, and eight in one send read back
// one by one or with one recvmmsg), a page fault on anonymous memory, the same pages populated
// with one madvise, a read fault on a file mapping (the kernel maps 64 KiB around it), a
// copy-on-write fault on a private file mapping, and an open and close of a /proc file. Run it in
// the benchmark VM (README "Performance"), twice: the first run pays qemu's translation of the
// kernel paths it takes.
//   gcc -O2 -static -o /tmp/unit-costs tests/bench/unit_costs.c
//   tests/e2e/vm/run-in-vm.sh --smp 2 --mem 2048 /tmp/unit-costs FILE   (FILE: e.g. build/sixrd)
// Not a test.
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

enum { kRounds = 2000, kBatch = 8, kPage = 4096 };

struct getlink {
  struct nlmsghdr h;
  struct ifinfomsg i;
};

static double nowUs(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void getlinkOfLo(struct getlink* req, unsigned seq) {
  memset(req, 0, sizeof *req);
  req->h.nlmsg_len = sizeof *req;
  req->h.nlmsg_type = RTM_GETLINK;
  req->h.nlmsg_flags = NLM_F_REQUEST;
  req->h.nlmsg_seq = seq;
  req->i.ifi_index = 1;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s FILE (a file of a few MB to map)\n", argv[0]);
    return 2;
  }
  static char buf[kBatch][8192];
  double t0 = nowUs();
  for (int i = 0; i < kRounds; i++) syscall(SYS_getppid);
  printf("system call (getppid)                 %7.2f us\n", (nowUs() - t0) / kRounds);

  const int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return perror("socket"), 1;
  struct getlink req[kBatch];
  t0 = nowUs();
  for (int i = 0; i < kRounds; i++) {
    getlinkOfLo(&req[0], (unsigned)i);
    if (send(fd, &req[0], sizeof req[0], 0) < 0 || recv(fd, buf[0], sizeof buf[0], 0) < 0) {
      return perror("getlink"), 1;
    }
  }
  printf("RTM_GETLINK round trip                %7.2f us\n", (nowUs() - t0) / kRounds);
  t0 = nowUs();
  for (int i = 0; i < kRounds / kBatch; i++) {
    for (int k = 0; k < kBatch; k++) getlinkOfLo(&req[k], (unsigned)k);
    if (send(fd, req, sizeof req, 0) < 0) return perror("send"), 1;
    for (int k = 0; k < kBatch; k++) {
      if (recv(fd, buf[k], sizeof buf[k], 0) < 0) return perror("recv"), 1;
    }
  }
  printf("  8 per send, 8 recv (per request)    %7.2f us\n", (nowUs() - t0) / kRounds);
  struct mmsghdr mm[kBatch];
  struct iovec iov[kBatch];
  t0 = nowUs();
  for (int i = 0; i < kRounds / kBatch; i++) {
    for (int k = 0; k < kBatch; k++) getlinkOfLo(&req[k], (unsigned)k);
    if (send(fd, req, sizeof req, 0) < 0) return perror("send"), 1;
    memset(mm, 0, sizeof mm);
    for (int k = 0; k < kBatch; k++) {
      iov[k].iov_base = buf[k];
      iov[k].iov_len = sizeof buf[k];
      mm[k].msg_hdr.msg_iov = &iov[k];
      mm[k].msg_hdr.msg_iovlen = 1;
    }
    if (recvmmsg(fd, mm, kBatch, MSG_DONTWAIT, NULL) != kBatch) return perror("recvmmsg"), 1;
  }
  printf("  8 per send, one recvmmsg (per req.) %7.2f us\n", (nowUs() - t0) / kRounds);

  const size_t span = (size_t)kRounds * kPage;
  char* anon = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char* pop = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (anon == MAP_FAILED || pop == MAP_FAILED) return perror("mmap"), 1;
  t0 = nowUs();
  for (int i = 0; i < kRounds; i++) anon[(size_t)i * kPage] = 1;
  printf("page fault, anonymous                 %7.2f us\n", (nowUs() - t0) / kRounds);
  t0 = nowUs();
  if (madvise(pop, span, MADV_POPULATE_WRITE) != 0) perror("madvise");
  printf("  MADV_POPULATE_WRITE (per page)      %7.2f us\n", (nowUs() - t0) / kRounds);

  const int file = open(argv[1], O_RDONLY | O_CLOEXEC);
  if (file < 0) return perror(argv[1]), 1;
  const off_t size = lseek(file, 0, SEEK_END);
  const int pages = (int)(size / kPage);
  const int windows = pages / 16;
  if (windows == 0) return fprintf(stderr, "%s: too small\n", argv[1]), 1;
  const volatile char* ro = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, file, 0);
  char* cow = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_PRIVATE, file, 0);
  if (ro == MAP_FAILED || cow == MAP_FAILED) return perror("mmap file"), 1;
  char sum = 0;
  t0 = nowUs();
  for (int i = 0; i < windows; i++) sum = (char)(sum + ro[(size_t)i * 16 * kPage]);
  printf("page fault, file read (64 KiB around) %7.2f us (%d faults)\n", (nowUs() - t0) / windows,
         windows);
  const int writes = pages < 1000 ? pages : 1000;
  t0 = nowUs();
  for (int i = 0; i < writes; i++) cow[(size_t)i * kPage] = sum;
  printf("page fault, copy on write of a file   %7.2f us\n", (nowUs() - t0) / writes);

  t0 = nowUs();
  for (int i = 0; i < 200; i++) {
    const int f = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (f >= 0) close(f);
  }
  printf("open and close of a /proc file        %7.2f us\n", (nowUs() - t0) / 200);
  return 0;
}
