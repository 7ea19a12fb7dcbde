/**
 * The contract between the dispatcher (run.ts) and the command modules (commands/): types only, so
 * a command never imports the dispatcher that loads it.
 */
import type { CliOptions } from './args.ts';
import type { CliIO } from './output.ts';
import type { CommandName } from './spec.ts';

/** What a command module receives. */
export interface CommandRequest {
  name: CommandName;
  args: string[];
  options: CliOptions;
}

/** A command's implementation: resolves to the exit status. */
export type CommandHandler = (req: CommandRequest, io: CliIO) => Promise<number>;
