/**
 * `cnitool --verbose`: every plugin call on stderr, as it is made — the executable, the command,
 * the environment cnitool sets (every CNI_* variable and anything that differs from cnitool's own
 * environment; the rest is counted), the config on stdin — and how it ended: exit status or
 * signal, and wall time. Written before the plugin runs, so a plugin that hangs shows what it got.
 */
import { PluginError } from '../core/errors.ts';
import type { Exec } from '../invoke/exec.ts';
import type { CliIO } from './output.ts';

/** The variables worth showing: CNI_* always, others when cnitool did not pass them on unchanged. */
export function explicitEnv(
  env: Readonly<Record<string, string>>,
  own: Readonly<Record<string, string | undefined>>,
): { shown: Array<[string, string]>; inherited: number } {
  const shown: Array<[string, string]> = [];
  let inherited = 0;
  for (const [key, value] of Object.entries(env)) {
    if (key.startsWith('CNI_') || own[key] !== value) shown.push([key, value]);
    else inherited++;
  }
  // The spec's variables first, in the spec's order, then the rest by name.
  const order = ['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_ARGS', 'CNI_PATH'];
  const rank = (k: string) => (order.includes(k) ? order.indexOf(k) : order.length);
  shown.sort(([a], [b]) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  return { shown, inherited };
}

function ms(n: number): string {
  return `${Math.round(n * 1000) / 1000} ms`;
}

/** Wrap `exec` so that each plugin call is shown on `io.stderr` (see the module comment). */
export function verboseExec(exec: Exec, io: CliIO): Exec {
  return {
    async execPlugin(pluginPath, stdin, env, options) {
      const command = options?.command ?? env.CNI_COMMAND ?? '';
      const { shown, inherited } = explicitEnv(env, io.env);
      const lines = [
        `cnitool: ${command} ${pluginPath}`,
        ...shown.map(([k, v]) => `  env ${k}=${v}`),
        ...(inherited > 0 ? [`  env (${inherited} more, unchanged from cnitool's environment)`] : []),
        `  stdin ${Buffer.from(stdin).toString('utf8')}`,
      ];
      io.stderr(`${lines.join('\n')}\n`);
      try {
        const out = await exec.execPlugin(pluginPath, stdin, env, options);
        io.stderr(`cnitool: ${command} ${pluginPath}: exit ${out.exitCode} after ${ms(out.durationMs)}\n`);
        return out;
      } catch (e) {
        const run = e instanceof PluginError ? e.exec : undefined;
        const how =
          run === undefined
            ? `failed: ${e instanceof Error ? e.message : String(e)}`
            : `${run.signal ? `killed by ${run.signal}` : `exit ${run.exitCode ?? '?'}`} after ${ms(run.durationMs)}`;
        io.stderr(`cnitool: ${command} ${pluginPath}: ${how}\n`);
        throw e;
      }
    },
    findInPath(type, paths, context) {
      return exec.findInPath(type, paths, context);
    },
  };
}
