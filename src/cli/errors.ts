import { LibcniError } from '../core/errors.ts';

/**
 * The command line was wrong (unknown command or option, missing or extra arguments): raised by
 * cnitool before anything runs. `command` names the subcommand whose `--help` explains the usage.
 */
export class CliUsageError extends LibcniError {
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}
