/**
 * Running plugins for CNIConfig: one operation (trace context and `libcni:operation`), and one
 * plugin call of it, always the same way: find the executable, build its stdin, run it, decode
 * what it printed. Every error is made with the context of the call it belongs to.
 */
import { type ErrorContext, mergeContext } from '../core/errors.ts';
import { type OperationMessage, traceOperation } from '../core/diagnostics.ts';
import { operationEntry, pluginCallEntry, writeLog } from '../core/logger.ts';
import type { PluginConfig } from '../config/types.ts';
import { buildPluginEnv } from '../invoke/env.ts';
import type { Exec } from '../invoke/exec.ts';
import { execPluginWithResult, execPluginWithoutResult } from '../invoke/plugin.ts';
import { resolveTraceContext } from '../invoke/trace-context.ts';
import { tracePluginCalls } from '../invoke/traced-exec.ts';
import { getVersionInfo as probeVersion } from '../invoke/version-probe.ts';
import type { Result } from '../types/result-model.ts';
import type { PluginInfo } from '../types/version.ts';
import { routePluginStderr } from './stderr.ts';
import type { CNIConfigOptions, Command, OperationOptions, RuntimeConf } from './types.ts';

/** What {@link PluginRunner} adds to a caller's options for the plugin calls of one operation. */
export interface InternalOptions extends OperationOptions {
  /**
   * The operation's plugin environment, once its first call built it. Every plugin of one ADD,
   * CHECK, DEL, GC or STATUS has the same command and runtime inputs, so the same environment: it
   * is built once per operation (process.env read once: each of its keys is a call into C++) and
   * handed to each call frozen, so that an Exec cannot change what the next plugin gets.
   */
  envMemo?: { env?: Readonly<Record<string, string>> } | undefined;
}

/** One plugin call of an operation. */
export interface PluginCall {
  command: Command;
  /** The plugin `type`, looked up on the search path. */
  type: string;
  /** The config's `cniVersion`: a result without one is read as this version. */
  configVersion: string;
  /** The attachment (ADD, CHECK, DEL); undefined for GC and STATUS. */
  rt?: RuntimeConf | undefined;
  /** Where the call happens; errors carry it (and the plugin's path once it is found). */
  context: ErrorContext;
  /** Checks run once the plugin is found and before anything is built (ADD's validation). */
  check?: (() => void) | undefined;
  /** The request config sent on stdin. */
  stdin: () => Uint8Array;
}

/** Finds and runs plugins for one {@link CNIConfig}. */
export class PluginRunner {
  /**
   * The exec, with plugin stderr routed as the options say (stderr.ts), publishing every plugin
   * call on `libcni:plugin` (see invoke/traced-exec.ts) and logging it to this config's logger.
   */
  private readonly traced: Exec;
  /** Gives a settled operation to this config's logger; undefined without one (nothing is built). */
  private readonly logOperation: ((m: OperationMessage) => void) | undefined;

  constructor(
    private readonly exec: Exec,
    private readonly path: readonly string[],
    private readonly options: CNIConfigOptions,
  ) {
    // The channels are process-wide; the logger sees this CNIConfig's calls only, so it is fed here.
    const logger = options.logger;
    this.traced = tracePluginCalls(
      routePluginStderr(exec, options.stderr),
      logger &&
        ((m) => {
          writeLog(logger, pluginCallEntry(m));
        }),
    );
    this.logOperation =
      logger &&
      ((m) => {
        writeLog(logger, operationEntry(m));
      });
  }

  /** One operation: the trace context resolved once for all its plugins, published on `libcni:operation`. */
  operation<T>(
    command: Command,
    network: { name: string; cniVersion: string },
    plugins: readonly PluginConfig[],
    rt: RuntimeConf | undefined,
    opts: OperationOptions | undefined,
    fn: (opts: InternalOptions) => Promise<T>,
  ): Promise<T> {
    return resolveTraceContext(opts?.trace).then((trace) =>
      traceOperation(
        {
          command,
          network: network.name,
          cniVersion: network.cniVersion,
          plugins: plugins.map((p) => p.network.type),
          containerId: rt?.containerId ?? '',
          ifName: rt?.ifName ?? '',
        },
        trace,
        () => fn({ ...opts, trace, envMemo: {} }),
        this.logOperation,
      ),
    );
  }

  /** The executable of plugin `type` on the search path. */
  find(type: string, context?: ErrorContext): Promise<string> {
    return this.exec.findInPath(type, this.path, context);
  }

  /**
   * Run a plugin that answers with a result (ADD) and decode it. `beforeExec` runs once the plugin
   * is found and the call's inputs are checked, right before the plugin starts: what must happen
   * only if the plugin will run (the ADD's cache record) goes there.
   */
  async runForResult(
    call: PluginCall,
    opts: InternalOptions | undefined,
    beforeExec?: () => Promise<void>,
  ): Promise<Result> {
    const p = await this.prepare(call, opts);
    if (beforeExec !== undefined) await beforeExec();
    return execPluginWithResult(this.traced, p.pluginPath, p.stdin, p.env, p.execOptions);
  }

  /** Run a plugin for its exit status only (CHECK, DEL, GC, STATUS). */
  async runForStatus(call: PluginCall, opts: InternalOptions | undefined): Promise<void> {
    const p = await this.prepare(call, opts);
    await execPluginWithoutResult(this.traced, p.pluginPath, p.stdin, p.env, p.execOptions);
  }

  /** Ask a plugin which spec versions it supports (CNI_COMMAND=VERSION). */
  async version(type: string, opts: OperationOptions | undefined): Promise<PluginInfo> {
    const context: ErrorContext = { command: 'VERSION', plugin: type };
    const pluginPath = await this.find(type, context);
    const trace = await resolveTraceContext(opts?.trace);
    return probeVersion(this.traced, pluginPath, {
      signal: opts?.signal,
      timeoutMs: opts?.timeoutMs ?? this.options.timeoutMs,
      env: this.options.env,
      extraEnv: this.options.extraEnv,
      trace,
      context: mergeContext(context, { pluginPath }),
    });
  }

  /** The one path to a plugin call: find the plugin, check, build stdin and env. */
  private async prepare(call: PluginCall, opts: InternalOptions | undefined) {
    const pluginPath = await this.find(call.type, call.context);
    call.check?.();
    const stdin = call.stdin();
    const context = mergeContext(call.context, { pluginPath });
    const env = this.env(call.command, call.rt, opts, context);
    const execOptions = {
      signal: opts?.signal,
      timeoutMs: opts?.timeoutMs ?? this.options.timeoutMs,
      command: call.command,
      context,
      configVersion: call.configVersion,
    };
    return { pluginPath, stdin, env, execOptions };
  }

  /** The CNI_ARGS of a call: as given, with `IgnoreUnknown=1` first when the options ask for it. */
  private argsOf(rt: RuntimeConf | undefined): Array<[string, string]> {
    const args = rt?.args ?? [];
    if (this.options.ignoreUnknownArgs !== true || args.length === 0) return args;
    if (args.some(([k]) => k.toLowerCase() === 'ignoreunknown')) return args;
    return [['IgnoreUnknown', '1'], ...args];
  }

  private env(
    command: Command,
    rt: RuntimeConf | undefined,
    opts: InternalOptions | undefined,
    context: ErrorContext,
  ): Record<string, string> {
    const memo = opts?.envMemo;
    if (memo?.env !== undefined) return memo.env;
    const env = Object.freeze(this.buildEnv(command, rt, opts, context));
    if (memo !== undefined) memo.env = env;
    return env;
  }

  private buildEnv(
    command: Command,
    rt: RuntimeConf | undefined,
    opts: InternalOptions | undefined,
    context: ErrorContext,
  ): Record<string, string> {
    return buildPluginEnv(
      {
        command,
        containerId: rt?.containerId ?? '',
        netns: rt?.netns ?? '',
        ifName: rt?.ifName ?? '',
        args: this.argsOf(rt),
        path: this.path,
      },
      {
        env: this.options.env,
        extraEnv: this.options.extraEnv,
        trace: opts?.trace,
        context,
      },
    );
  }
}
