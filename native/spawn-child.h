/*
 * Starting one plugin, shared by the addon (cni-spawn-addon.c) and the helper process
 * (cni-spawn.c): glibc's posix_spawn (clone(CLONE_VM|CLONE_VFORK): nothing of the parent is
 * copied), the plugin in a new session (pid = pgid = sid, so the caller can kill its process
 * group), exactly `envp`, no arguments (argv[0] is the path, as Go's exec.Command),
 * stdin/stdout/stderr on pipes, no other descriptor, default signal dispositions and an empty
 * signal mask.
 *
 * On success returns 0 and sets *pid and fds[0..2] to our ends of its stdin (non-blocking),
 * stdout and stderr; otherwise returns the errno (posix_spawn reports the exec's own: ENOENT,
 * EACCES, ETXTBSY, ...) and leaves nothing open.
 */
#ifndef LIBCNI_SPAWN_CHILD_H
#define LIBCNI_SPAWN_CHILD_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * The file actions of the last spawn, kept for the next. glibc checks every descriptor a file
 * action names against getrlimit(RLIMIT_NOFILE) when the action is added: seven system calls per
 * plugin call. The kernel hands out the lowest free descriptors, so calls one after another get the
 * same pipe ends, and the actions are used again while they and the directory match. One per
 * caller that spawns from one thread (the addon: one per Node environment, as each worker has its
 * own loop; the helper: one). Zeroed is empty; spawn_cache_free() releases it.
 */
typedef struct {
  posix_spawn_file_actions_t fa;
  int key[3];
  char *dir; /* "" for the caller's working directory */
  int have;
} spawn_cache;

static void spawn_cache_free(spawn_cache *k) {
  if (k->have) posix_spawn_file_actions_destroy(&k->fa);
  k->have = 0;
  free(k->dir);
  k->dir = NULL;
}

/* The file actions for these pipe ends and directory, from `k` or made into it: 0, or the errno. */
static int file_actions(spawn_cache *k, int in, int out, int err, const char *dir) {
  if (dir == NULL) dir = "";
  if (k->have && k->key[0] == in && k->key[1] == out && k->key[2] == err && strcmp(k->dir, dir) == 0)
    return 0;
  spawn_cache_free(k);
  k->dir = strdup(dir);
  if (k->dir == NULL) return ENOMEM;
  int e = posix_spawn_file_actions_init(&k->fa);
  if (e != 0) return e;
  e = posix_spawn_file_actions_adddup2(&k->fa, in, 0);
  if (e == 0) e = posix_spawn_file_actions_adddup2(&k->fa, out, 1);
  if (e == 0) e = posix_spawn_file_actions_adddup2(&k->fa, err, 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  /* Our own descriptors are close-on-exec, but an embedder or another addon's may not be. */
  if (e == 0) e = posix_spawn_file_actions_addclosefrom_np(&k->fa, 3);
#endif
  if (e == 0 && dir[0]) e = posix_spawn_file_actions_addchdir_np(&k->fa, dir);
  if (e != 0) {
    posix_spawn_file_actions_destroy(&k->fa);
    return e;
  }
  k->have = 1;
  k->key[0] = in, k->key[1] = out, k->key[2] = err;
  return 0;
}

/* `dir`: the plugin's working directory, or NULL for the caller's; `cache`: see spawn_cache. */
static int spawn_child(spawn_cache *cache, const char *path, const char *dir, char **envp, pid_t *pid,
                       int fds[3]) {
  int pin[2], pout[2], perr[2];
  if (pipe2(pin, O_CLOEXEC)) return errno;
  if (pipe2(pout, O_CLOEXEC)) {
    int e = errno;
    close(pin[0]), close(pin[1]);
    return e;
  }
  if (pipe2(perr, O_CLOEXEC)) {
    int e = errno;
    close(pin[0]), close(pin[1]), close(pout[0]), close(pout[1]);
    return e;
  }
  int e = file_actions(cache, pin[0], pout[1], perr[1], dir);
  if (e) {
    close(pin[0]), close(pin[1]), close(pout[0]), close(pout[1]), close(perr[0]), close(perr[1]);
    return e;
  }
  posix_spawnattr_t at;
  posix_spawnattr_init(&at);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setsigdefault(&at, &all); /* Node ignores SIGPIPE; a plugin must not inherit that */
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  char *argv[] = {(char *)path, NULL};
  e = posix_spawn(pid, path, &cache->fa, &at, argv, envp);
  posix_spawnattr_destroy(&at);
  close(pin[0]), close(pout[1]), close(perr[1]);
  if (e) {
    close(pin[1]), close(pout[0]), close(perr[0]);
    return e;
  }
  fcntl(pin[1], F_SETFL, O_NONBLOCK);
  fds[0] = pin[1];
  fds[1] = pout[0];
  fds[2] = perr[0];
  return 0;
}

#endif
