/*
 * cni-spawn: the native plugin spawner behind NativeExec (src/invoke/native-exec.ts).
 *
 * Node's child_process forks the whole Node process for every child (libuv: clone(SIGCHLD), no
 * CLONE_VM), so each plugin call pays a page-table copy that grows with the heap. This helper is
 * started once per NativeExec and starts plugins with glibc's posix_spawn, which uses
 * clone(CLONE_VM|CLONE_VFORK) and copies nothing. Many calls may be in flight at once.
 *
 * Wire format, both directions on the helper's stdin (requests) and stdout (replies), all
 * integers little-endian: u32 length-of-the-rest | u8 type | u32 id | payload.
 *   request RUN (1): u32 maxStdout | u32 maxStderr | str path | str dir | u32 n | n × str env |
 *                    str stdin          (str = u32 length | bytes)
 *   reply READY (0, id 0) once at start; STARTED (1): i32 pid; FAILED (2): i32 errno;
 *         OVERFLOW (3): stdout went over maxStdout (reading stopped); DONE (4): i32 wait status |
 *         str stdout | str stderr-tail
 * The plugin is started as spawn-child.h says, in the request's directory. Killing (timeout,
 * abort, overflow) is done by the parent on the process group. DONE is sent once the plugin is reaped and its pipes reached EOF, or
 * DRAIN_MS after the exit when a grandchild holds them open (as exit-drain.ts does for Node).
 *
 * The helper dies with its parent (PR_SET_PDEATHSIG), and exits once its stdin is closed and the
 * calls in flight are answered.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spawn-child.h"

#define DRAIN_MS 100
#define MAX_FRAME (1u << 30)
#define CHUNK 65536

enum { R_READY = 0, R_STARTED = 1, R_FAILED = 2, R_OVERFLOW = 3, R_DONE = 4 };

typedef struct {
  char *p;
  size_t len, cap;
} buf_t;

typedef struct {
  uint32_t id;
  pid_t pid;
  int in, out, err; /* our ends, -1 once closed */
  buf_t stdin_data;
  size_t stdin_off;
  buf_t stdout_data, stderr_data;
  uint32_t max_out, max_err;
  int exited, status;
  int64_t exit_ms;
} call_t;

static buf_t inbuf, outbuf;
static call_t **calls;
static size_t ncalls, calls_cap;
static int in_eof;

static void die(const char *msg) {
  (void)!write(2, msg, strlen(msg));
  _exit(70);
}

static void reserve(buf_t *b, size_t extra) {
  if (b->len + extra <= b->cap) return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra) cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p) die("cni-spawn: out of memory\n");
  b->p = p;
  b->cap = cap;
}

static void put(buf_t *b, const void *data, size_t n) {
  reserve(b, n);
  memcpy(b->p + b->len, data, n);
  b->len += n;
}

static void put_u32(buf_t *b, uint32_t v) {
  unsigned char x[4] = {v, v >> 8, v >> 16, v >> 24};
  put(b, x, 4);
}

static uint32_t get_u32(const unsigned char *p) {
  return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int64_t now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* One reply frame; `a` and `b` are optional str fields after the 4-byte value. */
static void reply(int type, uint32_t id, int32_t value, int with_value, const buf_t *a, const buf_t *b) {
  uint32_t len = 1 + 4 + (with_value ? 4 : 0) + (a ? 4 + a->len : 0) + (b ? 4 + b->len : 0);
  put_u32(&outbuf, len);
  unsigned char t = type;
  put(&outbuf, &t, 1);
  put_u32(&outbuf, id);
  if (with_value) put_u32(&outbuf, (uint32_t)value);
  if (a) put_u32(&outbuf, a->len), put(&outbuf, a->p, a->len);
  if (b) put_u32(&outbuf, b->len), put(&outbuf, b->p, b->len);
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static void free_call(size_t i) {
  call_t *c = calls[i];
  close_fd(&c->in);
  close_fd(&c->out);
  close_fd(&c->err);
  free(c->stdin_data.p);
  free(c->stdout_data.p);
  free(c->stderr_data.p);
  free(c);
  calls[i] = calls[--ncalls];
}

/* Reads one str field; returns 0 when the frame is too short. */
static int take_str(const unsigned char **p, const unsigned char *end, const char **s, uint32_t *n) {
  if (end - *p < 4) return 0;
  *n = get_u32(*p);
  *p += 4;
  if ((uint32_t)(end - *p) < *n) return 0;
  *s = (const char *)*p;
  *p += *n;
  return 1;
}

static char *dup_str(const char *s, uint32_t n) {
  char *out = malloc(n + 1);
  if (!out) die("cni-spawn: out of memory\n");
  memcpy(out, s, n);
  out[n] = 0;
  return out;
}

static spawn_cache spawns; /* see spawn-child.h */

static int spawn_plugin(call_t *c, const char *path, const char *dir, char **envp) {
  int fds[3];
  int e = spawn_child(&spawns, path, dir, envp, &c->pid, fds);
  if (e) return e;
  c->in = fds[0];
  c->out = fds[1];
  c->err = fds[2];
  fcntl(c->out, F_SETFL, O_NONBLOCK);
  fcntl(c->err, F_SETFL, O_NONBLOCK);
  if (c->stdin_data.len == 0) close_fd(&c->in);
  return 0;
}

/* A RUN request: spawn, and answer STARTED or FAILED. */
static void run_request(uint32_t id, const unsigned char *p, const unsigned char *end) {
  if (end - p < 8) die("cni-spawn: short RUN request\n");
  call_t *c = calloc(1, sizeof *c);
  if (!c) die("cni-spawn: out of memory\n");
  c->id = id;
  c->in = c->out = c->err = -1;
  c->max_out = get_u32(p);
  c->max_err = get_u32(p + 4);
  p += 8;
  const char *path, *dir, *s;
  uint32_t pathn, dirn, n, envc;
  if (!take_str(&p, end, &path, &pathn) || !take_str(&p, end, &dir, &dirn) || end - p < 4)
    die("cni-spawn: malformed RUN request\n");
  envc = get_u32(p);
  p += 4;
  if (envc > (uint32_t)(end - p) / 4) die("cni-spawn: malformed RUN request\n");
  char **envp = calloc(envc + 1, sizeof *envp);
  if (!envp) die("cni-spawn: out of memory\n");
  for (uint32_t i = 0; i < envc; i++) {
    if (!take_str(&p, end, &s, &n)) die("cni-spawn: malformed RUN request\n");
    envp[i] = dup_str(s, n);
  }
  if (!take_str(&p, end, &s, &n)) die("cni-spawn: malformed RUN request\n");
  put(&c->stdin_data, s, n);
  char *cpath = dup_str(path, pathn), *cdir = dup_str(dir, dirn);
  int e = spawn_plugin(c, cpath, cdir, envp);
  free(cpath), free(cdir);
  for (uint32_t i = 0; i < envc; i++) free(envp[i]);
  free(envp);
  if (e) {
    reply(R_FAILED, id, e, 1, NULL, NULL);
    free(c->stdin_data.p);
    free(c);
    return;
  }
  reply(R_STARTED, id, c->pid, 1, NULL, NULL);
  if (ncalls == calls_cap) {
    calls_cap = calls_cap ? calls_cap * 2 : 16;
    calls = realloc(calls, calls_cap * sizeof *calls);
    if (!calls) die("cni-spawn: out of memory\n");
  }
  calls[ncalls++] = c;
}

/* Handle every complete request frame in inbuf. */
static void parse_requests(void) {
  size_t at = 0;
  while (inbuf.len - at >= 4) {
    uint32_t len = get_u32((unsigned char *)inbuf.p + at);
    if (len < 5 || len > MAX_FRAME) die("cni-spawn: bad frame length\n");
    if (inbuf.len - at - 4 < len) break;
    const unsigned char *f = (unsigned char *)inbuf.p + at + 4;
    if (f[0] != 1) die("cni-spawn: unknown request type\n");
    run_request(get_u32(f + 1), f + 5, f + len);
    at += 4 + len;
  }
  memmove(inbuf.p, inbuf.p + at, inbuf.len - at);
  inbuf.len -= at;
}

static void read_requests(void) {
  reserve(&inbuf, CHUNK);
  ssize_t n = read(0, inbuf.p + inbuf.len, CHUNK);
  if (n == 0) in_eof = 1;
  if (n <= 0) return;
  inbuf.len += n;
  parse_requests();
}

static void write_replies(void) {
  ssize_t n = write(1, outbuf.p, outbuf.len);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return;
    _exit(0); /* the parent is gone */
  }
  memmove(outbuf.p, outbuf.p + n, outbuf.len - n);
  outbuf.len -= n;
}

static void feed_stdin(call_t *c) {
  ssize_t n = write(c->in, c->stdin_data.p + c->stdin_off, c->stdin_data.len - c->stdin_off);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  /* EPIPE: the plugin exited without reading its config, which is not an error (Go ignores it). */
  if (n < 0 || (c->stdin_off += n) == c->stdin_data.len) close_fd(&c->in);
}

static void read_output(call_t *c, int *fd, int is_stdout) {
  static char chunk[CHUNK];
  ssize_t n = read(*fd, chunk, sizeof chunk);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    close_fd(fd);
    return;
  }
  if (is_stdout) {
    if (c->stdout_data.len + n > c->max_out) {
      /* Stop reading at once; the parent kills the process group. */
      close_fd(fd);
      reply(R_OVERFLOW, c->id, 0, 0, NULL, NULL);
      return;
    }
    put(&c->stdout_data, chunk, n);
    return;
  }
  buf_t *b = &c->stderr_data; /* keep only the tail */
  put(b, chunk, n);
  if (b->len > c->max_err) {
    memmove(b->p, b->p + b->len - c->max_err, c->max_err);
    b->len = c->max_err;
  }
}

static void reap(int sfd) {
  struct signalfd_siginfo si;
  while (read(sfd, &si, sizeof si) == sizeof si) {
  }
  int st;
  pid_t pid;
  while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
    for (size_t i = 0; i < ncalls; i++) {
      if (calls[i]->pid == pid && !calls[i]->exited) {
        calls[i]->exited = 1;
        calls[i]->status = st;
        calls[i]->exit_ms = now_ms();
      }
    }
  }
}

/* Answer DONE for exited calls whose pipes are at EOF or whose drain time is over; the poll timeout. */
static int finish_calls(void) {
  int timeout = -1;
  int64_t now = now_ms();
  for (size_t i = 0; i < ncalls;) {
    call_t *c = calls[i];
    if (!c->exited) {
      i++;
      continue;
    }
    int64_t left = c->exit_ms + DRAIN_MS - now;
    if ((c->out >= 0 || c->err >= 0) && left > 0) {
      if (timeout < 0 || left < timeout) timeout = (int)left;
      i++;
      continue;
    }
    reply(R_DONE, c->id, c->status, 1, &c->stdout_data, &c->stderr_data);
    free_call(i);
  }
  return timeout;
}

static void setup(int argc, char **argv) {
  /* Die with the parent; it may have died already, before prctl. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (argc > 1 && getppid() != (pid_t)atol(argv[1])) _exit(0);
  /* Nothing inherited beyond stdio may reach a plugin. */
#ifdef SYS_close_range
  syscall(SYS_close_range, 3, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */);
#endif
  signal(SIGPIPE, SIG_IGN);
  fcntl(0, F_SETFL, O_NONBLOCK);
  fcntl(1, F_SETFL, O_NONBLOCK);
}

int main(int argc, char **argv) {
  setup(argc, argv);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sfd < 0) die("cni-spawn: signalfd failed\n");
  reply(R_READY, 0, 0, 0, NULL, NULL);
  struct pollfd *pf = NULL;
  size_t pf_cap = 0;
  for (;;) {
    int timeout = finish_calls();
    if (in_eof && ncalls == 0 && outbuf.len == 0) return 0;
    if (pf_cap < 3 + 3 * ncalls) {
      pf_cap = 3 + 3 * ncalls + 16;
      pf = realloc(pf, pf_cap * sizeof *pf);
      if (!pf) die("cni-spawn: out of memory\n");
    }
    size_t n = 0;
    pf[n++] = (struct pollfd){.fd = in_eof ? -1 : 0, .events = POLLIN};
    pf[n++] = (struct pollfd){.fd = outbuf.len ? 1 : -1, .events = POLLOUT};
    pf[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
    for (size_t i = 0; i < ncalls; i++) {
      pf[n++] = (struct pollfd){.fd = calls[i]->in, .events = POLLOUT};
      pf[n++] = (struct pollfd){.fd = calls[i]->out, .events = POLLIN};
      pf[n++] = (struct pollfd){.fd = calls[i]->err, .events = POLLIN};
    }
    if (poll(pf, n, timeout) < 0) {
      if (errno == EINTR) continue;
      die("cni-spawn: poll failed\n");
    }
    /* Calls first: a request handled below may append to (and reorder) the table. */
    size_t live = ncalls;
    for (size_t i = 0; i < live; i++) {
      call_t *c = calls[i];
      if (pf[3 + 3 * i].revents) feed_stdin(c);
      if (pf[4 + 3 * i].revents) read_output(c, &c->out, 1);
      if (pf[5 + 3 * i].revents) read_output(c, &c->err, 0);
    }
    if (pf[2].revents) reap(sfd);
    if (pf[1].revents) write_replies();
    if (pf[0].revents) read_requests();
    if (outbuf.len) write_replies();
  }
}
