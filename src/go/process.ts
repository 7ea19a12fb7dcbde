/**
 * How Go words operating-system failures: `syscall.Errno.Error()` texts (what follows the path in
 * `open /x: no such file or directory` and `fork/exec /x: exec format error`) and
 * `os.ProcessState.String()` (`exit status 1`, `signal: killed`).
 * https://pkg.go.dev/syscall#Errno, https://pkg.go.dev/os#ProcessState.String
 */

/** Linux strerror texts, as Go prints them, for the errors file reads and process starts run into. */
const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOEXEC: 'exec format error',
  ETXTBSY: 'text file busy',
  EAGAIN: 'resource temporarily unavailable',
  E2BIG: 'argument list too long',
  ENOMEM: 'cannot allocate memory',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in system',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  EIO: 'input/output error',
};

/** Go's text for an errno name (`ENOENT` → `no such file or directory`), if this table knows it. */
export function goErrnoText(code: string | undefined): string | undefined {
  return code === undefined ? undefined : ERRNO_TEXT[code];
}

/** Go's names for Linux signals (`syscall.Signal.String()`), keyed by Node's signal names. */
const SIGNAL_TEXT: Readonly<Record<string, string>> = {
  SIGHUP: 'hangup',
  SIGINT: 'interrupt',
  SIGQUIT: 'quit',
  SIGILL: 'illegal instruction',
  SIGTRAP: 'trace/breakpoint trap',
  SIGABRT: 'aborted',
  SIGIOT: 'aborted',
  SIGBUS: 'bus error',
  SIGFPE: 'floating point exception',
  SIGKILL: 'killed',
  SIGUSR1: 'user defined signal 1',
  SIGSEGV: 'segmentation fault',
  SIGUSR2: 'user defined signal 2',
  SIGPIPE: 'broken pipe',
  SIGALRM: 'alarm clock',
  SIGTERM: 'terminated',
  SIGSTKFLT: 'stack fault',
  SIGCHLD: 'child exited',
  SIGCONT: 'continued',
  SIGSTOP: 'stopped (signal)',
  SIGTSTP: 'stopped',
  SIGTTIN: 'stopped (tty input)',
  SIGTTOU: 'stopped (tty output)',
  SIGURG: 'urgent I/O condition',
  SIGXCPU: 'CPU time limit exceeded',
  SIGXFSZ: 'file size limit exceeded',
  SIGVTALRM: 'virtual timer expired',
  SIGPROF: 'profiling timer expired',
  SIGWINCH: 'window changed',
  SIGIO: 'I/O possible',
  SIGPOLL: 'I/O possible',
  SIGPWR: 'power failure',
  SIGSYS: 'bad system call',
};

/** How Go describes a finished process (`os.ProcessState.String()`): `exit status 1`, `signal: killed`. */
export function goDescribeExit(exitCode: number | null, signal: string | null): string {
  if (exitCode !== null) return `exit status ${String(exitCode)}`;
  if (signal !== null) return `signal: ${SIGNAL_TEXT[signal] ?? signal}`;
  return 'exit status unknown';
}
