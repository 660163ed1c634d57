/* The pod sandbox's only process (what Kubernetes' pause image runs): it holds the pod's
 * namespaces open, reaps orphans as PID 1, and exits at once on SIGINT/SIGTERM. Built with
 * gcc -static by containerd.sh at test time, so the image needs no libc. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void quit(int sig) {
  (void)sig;
  _exit(0);
}

static void reap(int sig) {
  (void)sig;
  while (waitpid(-1, 0, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction q = {.sa_handler = quit};
  struct sigaction r = {.sa_handler = reap, .sa_flags = SA_NOCLDSTOP};
  sigaction(SIGINT, &q, 0);
  sigaction(SIGTERM, &q, 0);
  sigaction(SIGCHLD, &r, 0);
  for (;;) pause();
}
