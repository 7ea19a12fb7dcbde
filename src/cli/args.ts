/**
 * Turning argv into an {@link Invocation}: which command, its positional arguments and options.
 * Options may come before or after the command words. After the command, a word that begins with
 * `-` but is none of our options is an argument, as Go's cnitool (which reads its arguments by
 * position) takes it: `cnitool add -foo /run/netns/x` names network "-foo". `--` ends the options.
 * Anything malformed is a {@link CliUsageError}, raised before any command module is even loaded.
 */
import { parseArgs } from 'node:util';
import { CliUsageError } from './errors.ts';
import {
  COMMANDS,
  COMMON_OPTIONS,
  type CommandName,
  type CommandSpec,
  GROUPS,
  type OptionName,
  OPTIONS,
} from './spec.ts';

/** The options as given on the command line (undefined: not given). */
export interface CliOptions {
  ifname: string | undefined;
  cacheDir: string | undefined;
  timeoutMs: number | undefined;
  json: boolean;
  all: boolean;
  /** --verbose: show each plugin call on stderr. */
  verbose: boolean;
}

/** What to do. */
export type Invocation =
  | { kind: 'run'; command: CommandSpec; args: string[]; options: CliOptions }
  /** Print help: `topic` is a command, a group word (`netns`, `cache`) or undefined for the main help. */
  | { kind: 'help'; topic: CommandSpec | string | undefined; json: boolean }
  | { kind: 'version'; json: boolean };

/** Node's `parseArgs` reads `type` and `short` of the spec's option table (and ignores the rest). */
const PARSE_OPTIONS = OPTIONS;

/**
 * Whether `word`, read alone, is one of our options (every part of it, for a group such as `-hi`):
 * undefined when it is not; else whether it takes the next word as its value (`-i eth1`).
 */
function ourOption(word: string): { takesNext: boolean } | undefined {
  if (!word.startsWith('-') || word === '-' || word === '--') return undefined;
  const { tokens } = parseArgs({
    args: [word],
    options: PARSE_OPTIONS,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  let takesNext = false;
  for (const t of tokens) {
    if (t.kind !== 'option' || !Object.hasOwn(PARSE_OPTIONS, t.name)) return undefined;
    const type = PARSE_OPTIONS[t.name as keyof typeof PARSE_OPTIONS].type;
    takesNext = type === 'string' && t.value === undefined;
  }
  return { takesNext };
}

/**
 * Split argv into our options (with their values) and the operands (command words and arguments),
 * in order. Before the first operand — the command — a word starting with `-` must be one of our
 * options (Go's cnitool fails too when its first argument is not a command); after it, such a word
 * is an operand unless it is one of our options. After `--` everything is an operand. `dashed`
 * lists the operands that look like options (not those after `--`), for the error when there are
 * too many arguments.
 */
function splitArgv(argv: readonly string[]): { options: string[]; operands: string[]; dashed: string[] } {
  const options: string[] = [];
  const operands: string[] = [];
  const dashed: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] as string;
    if (word === '--') {
      operands.push(...argv.slice(i + 1));
      break;
    }
    const option = ourOption(word);
    if (option !== undefined) {
      options.push(word);
      const next = argv[i + 1];
      if (option.takesNext && next !== undefined && next !== '--') {
        options.push(next);
        i++;
      }
    } else if (word.startsWith('-') && word !== '-') {
      if (operands.length === 0) throw new CliUsageError(`unknown option ${word}`);
      operands.push(word);
      dashed.push(word);
    } else operands.push(word);
  }
  return { options, operands, dashed };
}

/** Node's parseArgs messages carry a long tip; keep the part that says what is wrong. */
function usageFromParseError(e: unknown): CliUsageError {
  const err = e as Error & { code?: string };
  const quoted = /'([^']+)'/.exec(err.message)?.[1];
  const long = quoted === undefined ? undefined : (/--[a-z-]+/.exec(quoted)?.[0] ?? quoted);
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new CliUsageError(`unknown option ${quoted ?? err.message}`);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      // Every variant of the message names the long form somewhere (the tip of "ambiguous" too).
      const name = /--[a-z][a-z-]*/.exec(err.message)?.[0] ?? long ?? '';
      if (err.message.includes('does not take an argument'))
        return new CliUsageError(`option ${name} does not take a value`);
      return new CliUsageError(`option ${name} needs a value`.replace('  ', ' '));
    }
    default:
      return new CliUsageError(err.message.split('. ')[0] ?? err.message);
  }
}

function parseTimeout(text: string): number {
  if (!/^[0-9]+$/.test(text) || Number(text) <= 0 || !Number.isSafeInteger(Number(text))) {
    throw new CliUsageError(
      `--timeout must be a positive whole number of milliseconds, got ${JSON.stringify(text)}`,
    );
  }
  return Number(text);
}

/** Find the command named by the leading positionals; returns it and how many words it used. */
function resolveCommand(words: readonly string[]): { spec: CommandSpec; used: number } | { group: string } {
  const first = words[0] as string;
  const members = GROUPS[first];
  if (members) {
    const sub = words[1];
    if (sub === undefined) return { group: first };
    if (!members.includes(sub)) {
      throw new CliUsageError(
        `unknown command "${first} ${sub}": "${first}" takes ${members.map((m) => `"${m}"`).join(', ')}`,
        first,
      );
    }
    const spec = COMMANDS.find((c) => c.name === `${first} ${sub}`) as CommandSpec;
    return { spec, used: 2 };
  }
  const spec = COMMANDS.find((c) => c.name === first);
  if (!spec) {
    throw new CliUsageError(`unknown command ${JSON.stringify(first)} (run "cnitool --help" for the list)`);
  }
  return { spec, used: 1 };
}

function optionGiven(values: Record<string, unknown>, name: OptionName): boolean {
  return values[name] !== undefined && values[name] !== false;
}

/**
 * Parse cnitool's argv (without `node` and the script). Throws {@link CliUsageError} for anything
 * the command does not accept: unknown commands or options, options that do not apply to the
 * command, a wrong number of arguments, a malformed --timeout, gc without pairs or --all.
 */
export function parseCommandLine(argv: readonly string[]): Invocation {
  const split = splitArgv(argv);
  let parsed: ReturnType<typeof parseArgs<{ options: typeof PARSE_OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({
      args: [...split.options, '--', ...split.operands],
      options: PARSE_OPTIONS,
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw usageFromParseError(e);
  }
  const { values, positionals } = parsed;
  const json = values.json === true;

  // `cnitool help [command...]` is another way to ask for help.
  if (positionals[0] === 'help') {
    const rest = positionals.slice(1);
    if (rest.length === 0) return { kind: 'help', topic: undefined, json };
    const r = resolveCommand(rest);
    return { kind: 'help', topic: 'group' in r ? r.group : r.spec, json };
  }
  if (positionals.length === 0) {
    if (values.help === true) return { kind: 'help', topic: undefined, json };
    if (values.version === true) return { kind: 'version', json };
    throw new CliUsageError('no command given (run "cnitool --help" for usage)');
  }

  const resolved = resolveCommand(positionals);
  if ('group' in resolved) {
    if (values.help === true) return { kind: 'help', topic: resolved.group, json };
    const members = GROUPS[resolved.group] ?? [];
    throw new CliUsageError(
      `"${resolved.group}" needs a subcommand: ${members.map((m) => `"${resolved.group} ${m}"`).join(', ')}`,
      resolved.group,
    );
  }
  const { spec, used } = resolved;
  if (values.help === true) return { kind: 'help', topic: spec, json };

  for (const name of Object.keys(OPTIONS) as OptionName[]) {
    if (COMMON_OPTIONS.includes(name)) continue;
    if (optionGiven(values, name) && !spec.options.includes(name)) {
      throw new CliUsageError(`option --${name} does not apply to "${spec.name}"`, spec.name);
    }
  }
  const args = positionals.slice(used);
  // Too many arguments, one of which looks like an option: most likely a mistyped option.
  const extra = args.length > spec.maxArgs ? split.dashed.find((d) => args.includes(d)) : undefined;
  if (extra !== undefined) throw unknownOption(extra, spec.name);
  if (args.length < spec.minArgs || args.length > spec.maxArgs) {
    const expected = spec.args === '' ? 'no arguments' : spec.args;
    const problem = args.length < spec.minArgs ? 'missing arguments' : 'too many arguments';
    throw new CliUsageError(`${spec.name}: ${problem}: expected ${expected}`, spec.name);
  }
  const options: CliOptions = {
    ifname: values.ifname,
    cacheDir: values['cache-dir'],
    timeoutMs: values.timeout === undefined ? undefined : parseTimeout(values.timeout),
    json,
    all: values.all === true,
    verbose: values.verbose === true,
  };
  if (options.cacheDir === '') throw new CliUsageError('--cache-dir must not be empty', spec.name);
  checkGcArguments(spec.name, args, options, split.dashed);
  return { kind: 'run', command: spec, args, options };
}

/** An argument that looks like an option where no further argument fits: a mistyped option, most likely. */
function unknownOption(word: string, command: string): CliUsageError {
  return new CliUsageError(
    `unknown option ${word} (to pass an argument that begins with "-", put it after "--")`,
    command,
  );
}

/** gc's safety rule: deleting everything has to be asked for with --all, and --all alone. */
function checkGcArguments(
  name: CommandName,
  args: readonly string[],
  options: CliOptions,
  dashed: readonly string[],
): void {
  if (name !== 'gc') return;
  const pairs = args.slice(1);
  // No <containerId>:<ifName> begins with "-" (container ids begin with a letter or digit).
  const option = pairs.find((p) => dashed.includes(p));
  if (option !== undefined) throw unknownOption(option, 'gc');
  if (options.all && pairs.length > 0) {
    throw new CliUsageError('gc: --all cannot be combined with <containerId>:<ifName> pairs', 'gc');
  }
  if (!options.all && pairs.length === 0) {
    throw new CliUsageError(
      'gc: give the valid attachments as <containerId>:<ifName>, or --all to delete every cached attachment of the network',
      'gc',
    );
  }
}
