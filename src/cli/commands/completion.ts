/** `cnitool completion <shell>`: print the completion script (generated in ../completion.ts). */
import type { CommandHandler } from '../command.ts';
import { completionScript, type Shell } from '../completion.ts';
import { CliUsageError } from '../errors.ts';
import { SHELLS } from '../spec.ts';

export const runCompletion: CommandHandler = (req, io) => {
  const shell = req.args[0] as string;
  if (!(SHELLS as readonly string[]).includes(shell)) {
    return Promise.reject(
      new CliUsageError(
        `completion: unknown shell ${JSON.stringify(shell)}: expected ${SHELLS.join(', ')}`,
        'completion',
      ),
    );
  }
  io.stdout(completionScript(shell as Shell));
  return Promise.resolve(0);
};
