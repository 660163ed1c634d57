// dellink_phases: when a deleted veth is gone from the node, against when its RTM_DELLINK returns.
// The kernel answers a DEL's RTM_DELLINK only after its netdev_run_todo has waited out an RCU
// barrier (rcu_barrier) for the devices it unregistered, though the device was unlisted, its
// routes, addresses and neighbours flushed and its RTM_DELLINK notification sent well before.
// This program deletes one link (by name, in the namespace it runs in) in one of three ways and
// prints microseconds from its start:
//   sync    the request on this thread, as sixrd and the kernel floor do: "sync ret US"
//   thread  the request on a second thread while this one waits for the link's RTM_DELLINK
//           notification: "thread socket US create US gone US ret US"
//   fork    the request in a child process, as above, this process leaving once the link is gone
//           (the child still waits out the barrier): "fork socket US create US gone US"
// Run it in the benchmark VM on host veths sixrd made (tests/bench/dellink-phases-vm.sh). Not a
// test.
//   gcc -O2 -static -pthread -o /tmp/dellink-phases tests/bench/dellink_phases.c
#define _GNU_SOURCE
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int ifindex;
static long returned;
static int answer;

static long now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000L + t.tv_nsec / 1000;
}

// RTM_DELLINK for ifindex on a socket of its own; sets `answer` (the kernel's error, 0 for done)
// and `returned` (when its answer came).
static void* delete_link(void* unused) {
  (void)unused;
  struct {
    struct nlmsghdr h;
    struct ifinfomsg i;
  } req;
  memset(&req, 0, sizeof req);
  req.h.nlmsg_len = sizeof req;
  req.h.nlmsg_type = RTM_DELLINK;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  req.h.nlmsg_seq = 1;
  req.i.ifi_family = AF_UNSPEC;
  req.i.ifi_index = ifindex;
  char buf[4096];
  answer = -1000;
  const int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (s >= 0 && send(s, &req, sizeof req, 0) == (ssize_t)sizeof req) {
    const ssize_t n = recv(s, buf, sizeof buf, 0);
    const struct nlmsghdr* h = (const struct nlmsghdr*)buf;
    if (n >= (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr)) && h->nlmsg_type == NLMSG_ERROR) {
      answer = ((const struct nlmsgerr*)NLMSG_DATA(h))->error;
    }
  }
  returned = now_us();
  return NULL;
}

// A socket that receives every link notification of this namespace; a read waits 5 s at most.
static int link_listener(void) {
  const int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK};
  const struct timeval bound = {.tv_sec = 5};
  if (s < 0 || bind(s, (struct sockaddr*)&sa, sizeof sa) != 0 ||
      setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound) != 0) {
    return -1;
  }
  return s;
}

// Reads notifications until the RTM_DELLINK of ifindex; returns when it came, or 0 (none within
// 5 s of the last notification: the delete failed).
static long await_gone(int listener) {
  char buf[16384];
  for (;;) {
    const ssize_t n = recv(listener, buf, sizeof buf, 0);
    if (n <= 0) return 0;
    int left = (int)n;
    for (struct nlmsghdr* h = (struct nlmsghdr*)buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_type == RTM_DELLINK &&
          ((const struct ifinfomsg*)NLMSG_DATA(h))->ifi_index == ifindex) {
        return now_us();
      }
    }
  }
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s LINK sync|thread|fork\n", argv[0]);
    return 2;
  }
  ifindex = (int)if_nametoindex(argv[1]);
  if (ifindex == 0) {
    perror(argv[1]);
    return 1;
  }
  const long start = now_us();
  if (strcmp(argv[2], "sync") == 0) {
    delete_link(NULL);
    printf("sync ret %ld rc %d\n", returned - start, answer);
    return answer == 0 ? 0 : 1;
  }
  const int listener = link_listener();
  if (listener < 0) {
    perror("listener");
    return 1;
  }
  const long listening = now_us();
  if (strcmp(argv[2], "thread") == 0) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, delete_link, NULL) != 0) return 1;
    const long created = now_us();
    const long gone = await_gone(listener);
    pthread_join(thread, NULL);
    printf("thread socket %ld create %ld gone %ld ret %ld rc %d\n", listening - start,
           created - listening, gone - start, returned - start, answer);
    return answer == 0 ? 0 : 1;
  }
  if (strcmp(argv[2], "fork") == 0) {
    fflush(stdout);
    const pid_t child = fork();
    if (child < 0) return 1;
    if (child == 0) {
      // Nothing of the caller's but the request: its stdout must reach EOF when this one leaves.
      close(listener);
      close(0);
      close(1);
      close(2);
      delete_link(NULL);
      _exit(answer == 0 ? 0 : 1);
    }
    const long created = now_us();
    const long gone = await_gone(listener);
    if (gone == 0) {
      fprintf(stderr, "%s: no RTM_DELLINK for %s within 5 s\n", argv[0], argv[1]);
      return 1;
    }
    printf("fork socket %ld create %ld gone %ld\n", listening - start, created - listening,
           gone - start);
    return 0;
  }
  fprintf(stderr, "%s: unknown mode %s\n", argv[0], argv[2]);
  return 2;
}
