/*
 * cni_spawn.node: the Node-API addon behind NativeExec (src/invoke/native-addon.ts).
 *
 * Node's child_process forks the whole Node process for every child (libuv: clone(SIGCHLD), no
 * CLONE_VM), so each plugin call pays a page-table copy that grows with the heap. This addon starts
 * plugins from inside Node with glibc's posix_spawn (clone(CLONE_VM|CLONE_VFORK), as Go's os/exec),
 * and watches them from Node's own event loop, so a plugin's exit wakes Node once, with no helper
 * process or thread in between. The pidfds and pipes are watched in one epoll set of the addon's,
 * which is a single libuv poll handle (see ensure_epoll()).
 *
 * spawn(path, env, stdin, maxStdout, maxStderr, callback), `env` one Uint8Array of `K=V` strings,
 * each ending in NUL (env_from_block(); the module's `envBlock` says so to JavaScript, as addons
 * built before it took an array of strings), returns the plugin's pid, or -errno when it could not
 * be started (posix_spawn reports the exec's own error: ENOENT, EACCES, ETXTBSY, ...;
 * EMFILE and the like when a pipe or the epoll set could not be made).
 * The plugin is started as spawn-child.h says, in Node's working directory. Later, on the loop:
 *   callback(1)                          stdout went over maxStdout (reading stopped; the caller
 *                                        kills the process group)
 *   callback(2, status, stdout, stderr)  the plugin was reaped (status: the raw wait status, or -1
 *                                        when something else reaped it) and its pipes reached EOF,
 *                                        or DRAIN_MS passed since the exit with a grandchild still
 *                                        holding them (as src/invoke/exit-drain.ts does for Node);
 *                                        stderr is the last maxStderr bytes
 * renameExchange(from, to) is the cache's way to replace an entry (see its comment below).
 * Stdin that the plugin does not read (EPIPE) is not an error, as in Go. Without pidfd_open (Linux
 * before 5.3) the exit is polled every EXIT_POLL_MS instead.
 *
 * If Node tears down the environment (a worker ending) while plugins run, their handles and pipes
 * are closed and their callbacks dropped; the plugins themselves run on to their end.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "node-abi.h"
#include "spawn-child.h"

#define DRAIN_MS 100
#define EXIT_POLL_MS 5
/* How long a running plugin's pipes go unwatched (see watch()). */
#define PIPE_WATCH_DELAY_MS 100
#define CHUNK 65536

enum { EV_OVERFLOW = 1, EV_DONE = 2 };

typedef struct {
  char *p;
  size_t len, cap;
} buf_t;

typedef struct env_state env_state;
typedef struct call call_t;

/* What a registration in the epoll set stands for: one descriptor of one call. */
enum { W_IN, W_OUT, W_ERR, W_PID };
typedef struct {
  call_t *c;
  int kind;
} watch_t;

struct call {
  env_state *st;
  call_t *prev, *next;
  pid_t pid;
  int in, out, err, pidfd; /* -1 once closed */
  watch_t w[4];            /* indexed by W_*: the epoll set's data for each descriptor */
  int armed[4];            /* registered in the epoll set and able to report */
  uv_timer_t *h_timer;
  int open_handles; /* handles whose close callback has not run yet */
  buf_t in_data, out_data, err_data;
  size_t in_off;
  uint32_t max_out, max_err;
  int exited, status, draining, done;
  int pipes_watched; /* the stdout/stderr polls are started */
  napi_ref cb;
  napi_async_context actx;
};

struct env_state {
  napi_env env;
  uv_loop_t *loop;
  call_t *calls;
  int epfd;          /* the epoll set, or -1 before the first call */
  uv_poll_t *h_ep;   /* the loop's poll handle on it: referenced while calls run */
  int ep_closing;    /* h_ep closed, its close callback still to run */
  spawn_cache spawns; /* see spawn-child.h */
  napi_async_cleanup_hook_handle hook;
  int tearing_down, instance_gone;
};

/* libuv's handle type numbers and sizes, looked up by name once: nothing about them is assumed. */
static uv_handle_type poll_type, timer_type;
static size_t poll_size, timer_size;

static int find_handle_types(void) {
  for (uv_handle_type t = 1; t < 64; t++) {
    const char *name = uv_handle_type_name(t);
    if (name == NULL) continue;
    if (strcmp(name, "poll") == 0) poll_type = t, poll_size = uv_handle_size(t);
    if (strcmp(name, "timer") == 0) timer_type = t, timer_size = uv_handle_size(t);
  }
  return poll_size > 0 && timer_size > 0;
}

/* 0, or -1 when memory ran out. */
static int put(buf_t *b, const void *data, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n) cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL) return -1;
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, data, n);
  b->len += n;
  return 0;
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

/* ---- the call's life: free once done and every handle is closed ---- */

static void maybe_free_state(env_state *st) {
  if (st->calls != NULL || st->ep_closing) return;
  if (st->tearing_down && st->hook != NULL) {
    napi_async_cleanup_hook_handle h = st->hook;
    st->hook = NULL;
    napi_remove_async_cleanup_hook(h);
  }
  if (!st->instance_gone) return;
  spawn_cache_free(&st->spawns);
  free(st);
}

static void link_call(env_state *st, call_t *c) {
  c->st = st;
  c->next = st->calls;
  if (st->calls) st->calls->prev = c;
  st->calls = c;
  uv_ref((uv_handle_t *)st->h_ep); /* a running plugin keeps the process alive, as in child_process */
}

static void free_call(call_t *c) {
  env_state *st = c->st;
  if (c->prev) c->prev->next = c->next;
  else st->calls = c->next;
  if (c->next) c->next->prev = c->prev;
  if (st->calls == NULL && st->h_ep != NULL) uv_unref((uv_handle_t *)st->h_ep);
  free(c->in_data.p);
  free(c->out_data.p);
  free(c->err_data.p);
  free(c);
  maybe_free_state(st);
}

static void free_handle(uv_handle_t *h) {
  free(h);
}

static void on_closed(uv_handle_t *h) {
  call_t *c = uv_handle_get_data(h);
  free(h);
  if (--c->open_handles == 0 && c->done) free_call(c);
}

static void close_handle(void *hp) {
  uv_handle_t **h = hp;
  if (*h == NULL) return;
  uv_close(*h, on_closed); /* stops it at once: its fd may be closed right after */
  *h = NULL;
}

/* ---- the epoll set ---- */

/* 0, or -1 when the set refused it (out of memory): the caller copes without. */
static int arm(call_t *c, int kind, int fd, uint32_t events) {
  struct epoll_event ev = {.events = events, .data.ptr = &c->w[kind]};
  if (epoll_ctl(c->st->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) return -1;
  c->armed[kind] = 1;
  return 0;
}

/*
 * Take `fd` out of the set before it is closed. Closing alone removes it only once no other
 * descriptor shares its open file, and a fork() elsewhere in the process (a worker's
 * child_process) holds a copy until that child's exec: an event could then name a freed call.
 * A pidfd that has reported is disarmed (EPOLLONESHOT) and needs no system call here.
 */
static void disarm(call_t *c, int kind, int fd) {
  if (!c->armed[kind] || fd < 0) return;
  c->armed[kind] = 0;
  struct epoll_event ev = {0};
  epoll_ctl(c->st->epfd, EPOLL_CTL_DEL, fd, &ev);
}

static void close_stdin(call_t *c) {
  disarm(c, W_IN, c->in);
  close_fd(&c->in);
}

static void close_pipe(call_t *c, int is_out) {
  disarm(c, is_out ? W_OUT : W_ERR, is_out ? c->out : c->err);
  close_fd(is_out ? &c->out : &c->err);
}

static void release_js(call_t *c) {
  napi_env env = c->st->env;
  if (c->cb != NULL) napi_delete_reference(env, c->cb);
  if (c->actx != NULL) napi_async_destroy(env, c->actx);
  c->cb = NULL;
  c->actx = NULL;
}

/* Close everything; the call is freed when the last close callback has run. */
static void retire(call_t *c) {
  c->done = 1;
  close_stdin(c);
  close_pipe(c, 1);
  close_pipe(c, 0);
  disarm(c, W_PID, c->pidfd);
  close_fd(&c->pidfd);
  close_handle(&c->h_timer);
  if (c->open_handles == 0) free_call(c);
}

/* ---- telling JavaScript ---- */

static void emit(call_t *c, int kind) {
  napi_env env = c->st->env;
  napi_handle_scope scope;
  if (c->cb == NULL || napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value fn, undef, global, result, argv[4];
  void *ignored;
  napi_get_undefined(env, &undef);
  napi_get_global(env, &global); /* the receiver must be an object */
  napi_get_reference_value(env, c->cb, &fn);
  napi_create_int32(env, kind, &argv[0]);
  napi_create_int32(env, kind == EV_DONE ? c->status : 0, &argv[1]);
  argv[2] = argv[3] = undef;
  if (kind == EV_DONE) {
    napi_create_buffer_copy(env, c->out_data.len, c->out_data.p, &ignored, &argv[2]);
    napi_create_buffer_copy(env, c->err_data.len, c->err_data.p, &ignored, &argv[3]);
  }
  /* napi_make_callback runs the microtasks and ticks the callback queued, as any I/O callback. */
  if (napi_make_callback(env, c->actx, global, fn, 4, argv, &result) == napi_pending_exception) {
    napi_value e;
    if (napi_get_and_clear_last_exception(env, &e) == napi_ok) napi_fatal_exception(env, e);
  }
  napi_close_handle_scope(env, scope);
}

static void finish(call_t *c) {
  if (c->done) return;
  c->done = 1;
  emit(c, EV_DONE);
  release_js(c);
  retire(c);
}

/* ---- the plugin's pipes ---- */

static void read_pipe(call_t *c, int is_out) {
  char chunk[CHUNK];
  for (;;) {
    int fd = is_out ? c->out : c->err;
    if (fd < 0) return;
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      close_pipe(c, is_out);
      return;
    }
    if (is_out) {
      if (c->out_data.len + (size_t)n > c->max_out || put(&c->out_data, chunk, n) != 0) {
        close_pipe(c, 1); /* stop reading at once; the caller kills the process group */
        emit(c, EV_OVERFLOW);
        return;
      }
      continue;
    }
    buf_t *b = &c->err_data; /* keep only the tail */
    if (put(b, chunk, n) != 0) continue;
    if (b->len > c->max_err) {
      memmove(b->p, b->p + b->len - c->max_err, c->max_err);
      b->len = c->max_err;
    }
  }
}

static void write_stdin(call_t *c) {
  while (c->in_off < c->in_data.len) {
    ssize_t n = write(c->in, c->in_data.p + c->in_off, c->in_data.len - c->in_off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      if (c->armed[W_IN] || arm(c, W_IN, c->in, EPOLLOUT) == 0) return;
      break; /* cannot wait for room: the plugin reads an incomplete config and says so */
    }
    if (n < 0) break; /* EPIPE: it exited without reading its config, which is not an error */
    c->in_off += n;
  }
  close_stdin(c);
}

/* ---- the plugin's exit ---- */

static void on_drained(uv_timer_t *t) {
  finish(uv_handle_get_data((uv_handle_t *)t));
}

static void watch_pipes(call_t *c) {
  if (c->pipes_watched) return;
  c->pipes_watched = 1;
  if (c->out >= 0) arm(c, W_OUT, c->out, EPOLLIN);
  if (c->err >= 0) arm(c, W_ERR, c->err, EPOLLIN);
}

static void on_pipe_delay(uv_timer_t *t) {
  watch_pipes(uv_handle_get_data((uv_handle_t *)t));
}

static void maybe_finish(call_t *c) {
  if (!c->exited || c->done) return;
  if (c->out < 0 && c->err < 0) {
    finish(c);
    return;
  }
  /* A grandchild holds a pipe open: wait DRAIN_MS for EOF, then answer with what came. */
  if (c->draining) return;
  c->draining = 1;
  watch_pipes(c);
  uv_timer_start(c->h_timer, on_drained, DRAIN_MS, 0);
}

static void check_exit(call_t *c) {
  int st;
  pid_t r;
  do r = waitpid(c->pid, &st, WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r == 0) {
    /* Not reapable yet after all: have the pidfd report again. */
    struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.ptr = &c->w[W_PID]};
    if (c->pidfd >= 0 && epoll_ctl(c->st->epfd, EPOLL_CTL_MOD, c->pidfd, &ev) == 0) c->armed[W_PID] = 1;
    return;
  }
  c->exited = 1;
  c->status = r > 0 ? st : -1; /* ECHILD: reaped elsewhere (SIGCHLD set to SIG_IGN) */
  disarm(c, W_PID, c->pidfd);
  close_fd(&c->pidfd);
  /* Its output is in the pipes by now: take it in this same wake-up. */
  read_pipe(c, 1);
  read_pipe(c, 0);
  maybe_finish(c);
}

static void on_exit_poll(uv_timer_t *t) {
  call_t *c = uv_handle_get_data((uv_handle_t *)t);
  if (!c->exited) check_exit(c);
}

/*
 * The epoll set has events: take them all in this one wake-up. A call that finished on an earlier
 * event of the batch is still allocated (it is freed by its timer's close callback, later in the
 * loop), and `done` says to skip it.
 */
static void on_epoll(uv_poll_t *h, int status, int events) {
  (void)status, (void)events;
  env_state *st = uv_handle_get_data((uv_handle_t *)h);
  struct epoll_event evs[32];
  int n;
  do n = epoll_wait(st->epfd, evs, 32, 0);
  while (n < 0 && errno == EINTR);
  for (int i = 0; i < n; i++) {
    watch_t *w = evs[i].data.ptr;
    call_t *c = w->c;
    if (c->done) continue;
    if (w->kind == W_PID) {
      c->armed[W_PID] = 0; /* EPOLLONESHOT: it will not report again */
      check_exit(c);
    } else if (w->kind == W_IN) {
      if (c->in >= 0) write_stdin(c);
    } else {
      read_pipe(c, w->kind == W_OUT);
      maybe_finish(c);
    }
  }
}

static void on_epoll_closed(uv_handle_t *h) {
  env_state *st = uv_handle_get_data(h);
  free(h);
  st->ep_closing = 0;
  maybe_free_state(st);
}

/*
 * The environment's epoll set, made on its first call: one libuv poll handle for every plugin
 * call, instead of a poll handle per pipe and pidfd. libuv checks and registers each new poll
 * handle with epoll_ctl and sets its descriptor non-blocking with ioctl: about a dozen system
 * calls per plugin call, where the set needs one (the pidfd's registration; its pipes join only
 * if it runs past PIPE_WATCH_DELAY_MS). 0, or -errno.
 */
static int ensure_epoll(env_state *st) {
  if (st->h_ep != NULL) return 0;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return -errno;
  uv_poll_t *h = malloc(poll_size);
  int e = h == NULL ? -ENOMEM : uv_poll_init(st->loop, h, ep);
  if (e != 0) {
    free(h);
    close(ep);
    return e;
  }
  uv_handle_set_data((uv_handle_t *)h, st);
  e = uv_poll_start(h, UV_READABLE, on_epoll);
  if (e != 0) {
    uv_close((uv_handle_t *)h, free_handle);
    close(ep);
    return e;
  }
  uv_unref((uv_handle_t *)h); /* an idle addon never keeps the process alive */
  st->epfd = ep;
  st->h_ep = h;
  return 0;
}

/* ---- starting it ---- */

static int start_child(call_t *c, const char *path, char **envp) {
  int fds[3];
  int e = spawn_child(&c->st->spawns, path, NULL, envp, &c->pid, fds);
  if (e == 0) c->in = fds[0], c->out = fds[1], c->err = fds[2];
  return e;
}

/*
 * Watch the running plugin: its exit at once, its stdout and stderr after PIPE_WATCH_DELAY_MS.
 * Most plugins exit before then, and their whole output is read from the pipes in the wake-up
 * their exit causes. Watched from the start, the pipes woke the loop when the plugin wrote and
 * again when it closed them, before the exit: up to three wake-ups of an idle CPU instead of one,
 * each a few tenths of a millisecond on the reference VM (BENCHMARKS.md). A plugin still running
 * at the delay has its pipes watched from then on, so a plugin that fills a pipe waits at most the
 * delay; a grandchild holding the pipes after the exit gets them watched at once (DRAIN_MS).
 * 0, or -1 (nothing left registered).
 */
static int watch(call_t *c) {
  uv_timer_t *t = malloc(timer_size);
  if (t == NULL || uv_timer_init(c->st->loop, t) != 0) {
    free(t);
    return -1;
  }
  uv_handle_set_data((uv_handle_t *)t, c);
  c->h_timer = t;
  c->open_handles = 1;
  for (int k = W_IN; k <= W_PID; k++) c->w[k].c = c, c->w[k].kind = k;
  /* Read only when the loop says so, or after the exit: never block on a grandchild's pipe. */
  fcntl(c->out, F_SETFL, O_NONBLOCK);
  fcntl(c->err, F_SETFL, O_NONBLOCK);
#ifdef SYS_pidfd_open
  c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
  if (c->pidfd >= 0 && arm(c, W_PID, c->pidfd, EPOLLIN | EPOLLONESHOT) != 0) close_fd(&c->pidfd);
#endif
  if (c->pidfd < 0) { /* no pidfd (Linux before 5.3): poll the exit on the timer */
    watch_pipes(c);
    uv_timer_start(t, on_exit_poll, EXIT_POLL_MS, EXIT_POLL_MS);
  } else {
    uv_timer_start(t, on_pipe_delay, PIPE_WATCH_DELAY_MS, 0);
  }
  return 0;
}

static char *get_string(napi_env env, napi_value v) {
  size_t n;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok) return NULL;
  char *s = malloc(n + 1);
  if (s != NULL && napi_get_value_string_utf8(env, v, s, n + 1, &n) != napi_ok) {
    free(s);
    return NULL;
  }
  return s;
}

static napi_value int_value(napi_env env, int32_t n) {
  napi_value v;
  napi_create_int32(env, n, &v);
  return v;
}

/*
 * The environment as one block of NUL-terminated `K=V` strings (a Uint8Array whose last byte is
 * NUL, or empty): the pointers go into the block itself, which JavaScript keeps alive and unmoved
 * for this synchronous call, and NativeAddon builds once per operation. An array of strings costs
 * three Node-API calls and a malloc per variable, on every plugin call. The caller has checked that
 * the block ends with NUL. NULL when memory ran out.
 */
static char **env_from_block(char *p, size_t n) {
  size_t count = 0;
  for (size_t i = 0; i < n; i++) count += p[i] == '\0';
  char **v = calloc(count + 1, sizeof *v);
  if (v == NULL) return NULL;
  size_t k = 0;
  for (size_t i = 0; i < n; i += strlen(p + i) + 1) {
    if (p[i] != '\0') v[k++] = p + i; /* an empty entry is not a variable */
  }
  return v;
}

static napi_value js_spawn(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  env_state *st;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&st) != napi_ok || argc < 6) {
    napi_throw_error(env, NULL, "spawn(path, env, stdin, maxStdout, maxStderr, callback)");
    return NULL;
  }
  uint32_t max_out, max_err;
  napi_typedarray_type type, env_type;
  size_t in_len, env_len;
  void *in_bytes, *env_bytes;
  napi_value ab;
  size_t ab_off;
  if (napi_get_typedarray_info(env, argv[1], &env_type, &env_len, &env_bytes, &ab, &ab_off) != napi_ok ||
      env_type != napi_uint8_array ||
      napi_get_typedarray_info(env, argv[2], &type, &in_len, &in_bytes, &ab, &ab_off) != napi_ok ||
      type != napi_uint8_array || napi_get_value_uint32(env, argv[3], &max_out) != napi_ok ||
      napi_get_value_uint32(env, argv[4], &max_err) != napi_ok) {
    napi_throw_error(env, NULL, "spawn: bad arguments");
    return NULL;
  }
  if (env_len > 0 && ((char *)env_bytes)[env_len - 1] != '\0') {
    napi_throw_error(env, NULL, "spawn: the environment block must end with NUL");
    return NULL;
  }
  char *path = get_string(env, argv[0]);
  char **envp = env_from_block(env_bytes, env_len);
  call_t *c = calloc(1, sizeof *c);
  int bad = path == NULL || envp == NULL || c == NULL;
  if (!bad && in_len > 0) bad = put(&c->in_data, in_bytes, in_len) != 0;
  int result = -ENOMEM;
  if (!bad) result = ensure_epoll(st);
  if (!bad && result == 0) {
    c->st = st;
    c->in = c->out = c->err = c->pidfd = -1;
    c->max_out = max_out;
    c->max_err = max_err;
    int e = start_child(c, path, envp);
    result = e ? -e : c->pid;
  }
  free(path);
  free(envp); /* its strings are the block's */
  if (result < 0) {
    if (c != NULL) free(c->in_data.p);
    free(c);
    return int_value(env, result);
  }
  napi_value name;
  if (watch(c) != 0 || napi_create_reference(env, argv[5], 1, &c->cb) != napi_ok ||
      napi_create_string_utf8(env, "libcni:plugin", 13, &name) != napi_ok ||
      napi_async_init(env, NULL, name, &c->actx) != napi_ok) {
    /* Started but cannot be watched (out of memory): stop it before it does anything. */
    kill(-c->pid, SIGKILL);
    waitpid(c->pid, NULL, 0);
    release_js(c);
    if (c->h_timer != NULL) {
      link_call(st, c);
      retire(c);
    } else {
      close_fd(&c->in), close_fd(&c->out), close_fd(&c->err);
      free(c->in_data.p);
      free(c);
    }
    return int_value(env, -ENOMEM);
  }
  link_call(st, c);
  write_stdin(c);
  return int_value(env, c->pid);
}

/* ---- replacing a file without the rename ---- */

/*
 * renameExchange(from, to) swaps two names in one step (renameat2 RENAME_EXCHANGE): 0, or -errno
 * (ENOENT when `to` is missing; EINVAL, ENOSYS or EOPNOTSUPP where the file system or kernel has no
 * exchange). The cache replaces an entry this way and then unlinks the old one under the temp
 * name: on ext4, a rename over an existing file allocates and starts writing the new file's blocks
 * at once (auto_da_alloc), and its later unlink waits for that write and frees real blocks
 * (src/cache/own-file.ts).
 */
static napi_value js_rename_exchange(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) {
    napi_throw_error(env, NULL, "renameExchange(from, to)");
    return NULL;
  }
  char *from = get_string(env, argv[0]);
  char *to = get_string(env, argv[1]);
  int r = -ENOMEM;
  if (from != NULL && to != NULL) {
#ifdef SYS_renameat2
    r = syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, 2 /* RENAME_EXCHANGE */) == 0 ? 0 : -errno;
#else
    r = -ENOSYS;
#endif
  }
  free(from);
  free(to);
  return int_value(env, r);
}

/* ---- the environment's end ---- */

static void on_teardown(napi_async_cleanup_hook_handle h, void *arg) {
  env_state *st = arg;
  st->hook = h;
  st->tearing_down = 1;
  for (call_t *c = st->calls, *next; c != NULL; c = next) {
    next = c->next;
    release_js(c);
    retire(c); /* may free c */
  }
  if (st->h_ep != NULL) {
    st->ep_closing = 1;
    uv_close((uv_handle_t *)st->h_ep, on_epoll_closed);
    st->h_ep = NULL;
    close_fd(&st->epfd);
  }
  maybe_free_state(st);
}

static void on_instance_gone(napi_env env, void *data, void *hint) {
  (void)env, (void)hint;
  env_state *st = data;
  st->instance_gone = 1;
  maybe_free_state(st);
}

int32_t node_api_module_get_api_version_v1(void) {
  return 8;
}

napi_value napi_register_module_v1(napi_env env, napi_value exports) {
  if (!find_handle_types()) {
    napi_throw_error(env, NULL, "cni_spawn.node: this Node's libuv has no poll or timer handle");
    return NULL;
  }
  env_state *st = calloc(1, sizeof *st);
  napi_value fn;
  if (st == NULL || napi_get_uv_event_loop(env, &st->loop) != napi_ok ||
      napi_add_async_cleanup_hook(env, on_teardown, st, &st->hook) != napi_ok ||
      napi_set_instance_data(env, st, on_instance_gone, NULL) != napi_ok ||
      napi_create_function(env, "spawn", 5, js_spawn, st, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "spawn", fn) != napi_ok ||
      napi_create_function(env, "renameExchange", 14, js_rename_exchange, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "renameExchange", fn) != napi_ok ||
      napi_get_boolean(env, true, &fn) != napi_ok || napi_set_named_property(env, exports, "envBlock", fn) != napi_ok) {
    napi_throw_error(env, NULL, "cni_spawn.node: cannot initialise");
    return NULL;
  }
  st->env = env;
  st->epfd = -1;
  return exports;
}
