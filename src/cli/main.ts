#!/usr/bin/env node
/**
 * cnitool's executable (package.json `bin`). Only wires the process to {@link runCli}: argv, env,
 * the standard streams and Ctrl-C. Everything else is loaded on demand, so `cnitool --help` starts
 * as fast as Node itself.
 */
import { exitStatusForSignal, InterruptedError, runCli } from './run.ts';

const controller = new AbortController();
let interrupts = 0;
const onSignal = (signal: NodeJS.Signals): void => {
  interrupts++;
  // The first signal aborts the running plugin (its process group is killed) and lets cnitool
  // report and exit with 128 + the signal (SIGINT 130, SIGTERM 143); a second one means "stop now".
  if (interrupts > 1) process.exit(exitStatusForSignal(signal));
  controller.abort(new InterruptedError(signal));
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
// `cnitool ls | head -1`: the reader went away; that is not a failure worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

const code = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
  signal: controller.signal,
});
process.off('SIGINT', onSignal);
process.off('SIGTERM', onSignal);
process.exitCode = code;
