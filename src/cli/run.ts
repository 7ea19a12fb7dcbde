/**
 * cnitool's dispatcher: parse argv, answer --help and --version from static text, and load the one
 * command module that is needed. Command modules (and through them the library, zod and the plugin
 * engine) are imported dynamically, so help, usage errors and --version never pay for them.
 */
import { readFile } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { parseCommandLine } from './args.ts';
import type { CommandHandler } from './command.ts';
import { type CliIO, formatJson, reportError } from './output.ts';
import { type CommandName, commandHelp, groupHelp, mainHelp } from './spec.ts';

export type { CliIO } from './output.ts';

/** Exit status of every failure, as Go's cnitool. */
export const EXIT_FAILURE = 1;
/** Exit status after Ctrl-C (128 + SIGINT), the shell's convention. */
export const EXIT_INTERRUPTED = 130;

/** Exit status after `signal`: 128 + its number, the shell's convention (SIGINT 130, SIGTERM 143). */
export function exitStatusForSignal(signal: NodeJS.Signals): number {
  const n = osConstants.signals[signal] as number | undefined;
  return n === undefined ? EXIT_INTERRUPTED : 128 + n;
}

/** The abort reason main.ts gives when a signal arrives: says which one, for the exit status. */
export class InterruptedError extends Error {
  readonly signal: NodeJS.Signals;
  constructor(signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
    this.name = 'InterruptedError';
    this.signal = signal;
  }
}

/** The exit status of a run that was aborted: 128 + the signal when the reason names one, else 130. */
function interruptedStatus(signal: AbortSignal): number {
  const reason: unknown = signal.reason;
  return reason instanceof InterruptedError ? exitStatusForSignal(reason.signal) : EXIT_INTERRUPTED;
}

async function loadHandler(name: CommandName): Promise<CommandHandler> {
  // Literal specifiers, so the build rewrites each `.ts` to `.js`.
  switch (name) {
    case 'add':
    case 'check':
    case 'del':
      return (await import('./commands/attach.ts')).runAttach;
    case 'status':
      return (await import('./commands/status.ts')).runStatus;
    case 'gc':
      return (await import('./commands/gc.ts')).runGc;
    case 'ls':
      return (await import('./commands/ls.ts')).runLs;
    case 'version':
      return (await import('./commands/version.ts')).runVersion;
    case 'netns add':
    case 'netns del':
    case 'netns ls':
      return (await import('./commands/netns.ts')).runNetns;
    case 'cache ls':
    case 'cache show':
      return (await import('./commands/cache.ts')).runCache;
    case 'completion':
      return (await import('./commands/completion.ts')).runCompletion;
  }
}

async function packageVersion(): Promise<string> {
  // src/cli/run.ts and dist/cli/run.js both sit two levels below the package root.
  const text = await readFile(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

/**
 * Run cnitool with `argv` (the arguments after the script name). Never throws: every failure is
 * reported on `io.stderr` and turned into the exit status (0 ok, 1 failure; after an abort, 143 when
 * its reason is an {@link InterruptedError} for SIGTERM — 128 + the signal — else 130).
 */
export async function runCli(argv: readonly string[], io: CliIO): Promise<number> {
  // For an error the parse itself raises; `--json` after `--` is an argument, not the option.
  const end = argv.indexOf('--');
  let json = (end < 0 ? argv : argv.slice(0, end)).includes('--json');
  try {
    const inv = parseCommandLine(argv);
    json = inv.kind === 'run' ? inv.options.json : inv.json;
    switch (inv.kind) {
      case 'help': {
        const t = inv.topic;
        io.stdout(t === undefined ? mainHelp() : typeof t === 'string' ? groupHelp(t) : commandHelp(t));
        return 0;
      }
      case 'version': {
        const version = await packageVersion();
        io.stdout(inv.json ? formatJson({ version }) : `cnitool ${version} (libcni for Node.js)\n`);
        return 0;
      }
      case 'run': {
        const handler = await loadHandler(inv.command.name);
        return await handler({ name: inv.command.name, args: inv.args, options: inv.options }, io);
      }
    }
  } catch (e) {
    reportError(io, e, json);
    return io.signal?.aborted ? interruptedStatus(io.signal) : EXIT_FAILURE;
  }
}
