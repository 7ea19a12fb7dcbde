/*
 * The floor of any CNI invoker on a chain of plugins: what starting them costs with nothing in
 * between, in C. For each of N containers, ADD through the chain (each plugin started with
 * posix_spawn, its config on a stdin pipe, stdout and stderr on pipes read to EOF, then waited
 * for), then DEL through it in reverse. No cache, no result decoding, no config parsing: a
 * library's own work is everything it takes above this. bench/vs-floor.sh runs it beside Go libcni
 * and ours.
 *   chain-floor PLUGIN N [LENGTH=3]  ->  {"impl":"c-floor","n":N,"add_ms_p50":…,"del_ms_p50":…}
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* One plugin call; exits the program if the plugin cannot be run or fails. */
static void call(const char *plugin, char **envp, const char *config) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
    perror("chain-floor: pipe2");
    exit(1);
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  posix_spawnattr_t at;
  posix_spawnattr_init(&at);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID);
  char *argv[] = {(char *)plugin, NULL};
  pid_t pid;
  int e = posix_spawn(&pid, plugin, &fa, &at, argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  close(in[0]), close(out[1]), close(err[1]);
  if (e) {
    fprintf(stderr, "chain-floor: cannot start %s: %s\n", plugin, strerror(e));
    exit(1);
  }
  if (write(in[1], config, strlen(config)) < 0 && errno != EPIPE) perror("chain-floor: write");
  close(in[1]);
  struct pollfd fds[2] = {{.fd = out[0], .events = POLLIN}, {.fd = err[0], .events = POLLIN}};
  char buf[65536];
  for (int left = 2; left > 0;) {
    if (poll(fds, 2, -1) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; i++) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      if (read(fds[i].fd, buf, sizeof buf) <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        left--;
      }
    }
  }
  int status;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "chain-floor: %s failed (status %d)\n", plugin, status);
    exit(1);
  }
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: chain-floor PLUGIN N [LENGTH]\n");
    return 2;
  }
  const char *plugin = argv[1];
  int n = atoi(argv[2]), length = argc > 3 ? atoi(argv[3]) : 3;
  if (n < 1 || length < 1) return 2;
  double *add = calloc(n, sizeof *add), *del = calloc(n, sizeof *del);
  char command[32], container[64], path[4096];
  snprintf(path, sizeof path, "PATH=%s", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
  char *envp[] = {command,         container,
                  "CNI_NETNS=/var/run/netns/floor", "CNI_IFNAME=eth0",
                  "CNI_ARGS=",     "CNI_PATH=/tmp/cni-ref:/usr/lib/cni",
                  path,            NULL};
  const char *first = "{\"cniVersion\":\"1.0.0\",\"name\":\"noopnet\",\"type\":\"noop\"}";
  const char *later = "{\"cniVersion\":\"1.0.0\",\"name\":\"noopnet\",\"prevResult\":{\"cniVersion\":\"1.0.0\"},\"type\":\"noop\"}";
  for (int i = 0; i < n; i++) {
    snprintf(container, sizeof container, "CNI_CONTAINERID=floor-%d", i);
    strcpy(command, "CNI_COMMAND=ADD");
    double t = now_ms();
    for (int p = 0; p < length; p++) call(plugin, envp, p == 0 ? first : later);
    add[i] = now_ms() - t;
  }
  for (int i = 0; i < n; i++) {
    snprintf(container, sizeof container, "CNI_CONTAINERID=floor-%d", i);
    strcpy(command, "CNI_COMMAND=DEL");
    double t = now_ms();
    for (int p = 0; p < length; p++) call(plugin, envp, later);
    del[i] = now_ms() - t;
  }
  qsort(add, n, sizeof *add, by_value);
  qsort(del, n, sizeof *del, by_value);
  int mid = (n + 1) / 2 - 1; /* nearest rank, as golibcni bench and ts-bench */
  printf("{\"impl\":\"c-floor\",\"n\":%d,\"add_ms_p50\":%.3f,\"del_ms_p50\":%.3f}\n", n, add[mid], del[mid]);
  return 0;
}
