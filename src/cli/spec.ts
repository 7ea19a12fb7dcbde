/**
 * What cnitool accepts: every subcommand, its arguments, the options that apply to it and its help
 * text. Kept as plain data with no library imports, so `--help` and argument errors cost nothing
 * beyond this file (cold start matters for a tool that scripts call in loops).
 */

/** One option: how it is written, whether it takes a value, and its help. */
export interface OptionSpec {
  /** `string` options take a value (`--timeout 500`, `--timeout=500`); `boolean` ones do not. */
  type: 'string' | 'boolean';
  /** The one-letter form, if any (`-i`). */
  short?: string;
  /** How the help names the value of a `string` option, e.g. `<ms>`. */
  value?: string;
  /** What shell completion offers for the value: directories, or nothing it could guess. */
  complete?: 'directory';
  help: string;
}

/**
 * Every option cnitool understands, as data: the argument parser (args.ts) reads the `type` and
 * `short` fields as Node's `util.parseArgs` options; help and shell completion read the rest.
 * Which commands accept an option is listed per command.
 */
export const OPTIONS = {
  ifname: {
    type: 'string',
    short: 'i',
    value: '<name>',
    help: 'interface name inside the namespace (default: CNI_IFNAME, else eth0)',
  },
  'cache-dir': {
    type: 'string',
    value: '<dir>',
    complete: 'directory',
    help: 'attachment cache (default: CNI_CACHE_DIR, else /var/lib/cni)',
  },
  timeout: {
    type: 'string',
    value: '<ms>',
    help: 'kill a plugin that runs longer than this (default: no limit)',
  },
  verbose: {
    type: 'boolean',
    short: 'v',
    help: 'show each plugin call on stderr (path, environment, stdin, exit, time)',
  },
  all: {
    type: 'boolean',
    help: '(gc) no attachment is valid: delete every cached attachment of the network',
  },
  json: { type: 'boolean', help: 'machine-readable output; errors as the CNI spec error object on stderr' },
  help: { type: 'boolean', short: 'h', help: 'show help (also: cnitool help <command>)' },
  version: { type: 'boolean', help: 'print the cnitool version' },
} as const satisfies Record<string, OptionSpec>;

/** An option cnitool understands; which commands accept it is listed per command. */
export type OptionName = keyof typeof OPTIONS;

/** The options every command accepts. */
export const COMMON_OPTIONS: readonly OptionName[] = ['json', 'help'];

/** Every subcommand, with the group word for the two-word ones (`netns add`, `cache ls`). */
export type CommandName =
  | 'add'
  | 'check'
  | 'del'
  | 'status'
  | 'gc'
  | 'ls'
  | 'version'
  | 'netns add'
  | 'netns del'
  | 'netns ls'
  | 'cache ls'
  | 'cache show'
  | 'completion';

/** One subcommand: its argument shape and its help. */
export interface CommandSpec {
  name: CommandName;
  /** The argument part of the usage line, e.g. `<network> <netns>`. */
  args: string;
  /** Fewest and most positional arguments (most: Infinity for lists). */
  minArgs: number;
  maxArgs: number;
  /** Options this command accepts besides --help and --json, which every command accepts. */
  options: readonly OptionName[];
  /** A few words for the command list of `cnitool --help`. */
  brief: string;
  summary: string;
  /** The body of `cnitool <cmd> --help`. */
  details: string;
}

const RUNTIME_ENV = `Environment (as Go's cnitool):
  NETCONFPATH      directory of network configs (default /etc/cni/net.d)
  CNI_PATH         plugin directories, separated by ':'
  CNI_IFNAME       interface name when --ifname is not given; unset means eth0, set but empty is an error
  CNI_ARGS         extra plugin arguments, strictly KEY=VALUE;KEY=VALUE
  CAP_ARGS         capability arguments as a JSON object, e.g. {"portMappings":[...]}
  CNI_CONTAINERID  container id to use instead of the one derived from <netns>
  CNI_CACHE_DIR    attachment cache directory when --cache-dir is not given (default /var/lib/cni)`;

/** The subcommands, in the order `cnitool --help` lists them. */
export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'add',
    brief: 'attach a namespace to a network (ADD); prints the result',
    args: '<network> <netns>',
    minArgs: 2,
    maxArgs: 2,
    options: ['ifname', 'cache-dir', 'timeout', 'verbose'],
    summary: 'attach a network namespace to a network (CNI ADD); prints the result',
    details: `Runs ADD for every plugin of <network> (a name in NETCONFPATH) against the namespace file <netns>
(e.g. /var/run/netns/blue), caches the result, and prints it as JSON indented with 4 spaces, without a
trailing newline, exactly as Go's cnitool does.

The container id is "cnitool-" + the first 20 hex digits of sha512(absolute <netns> path), so Go's cnitool
and this one find each other's cache entries; CNI_CONTAINERID overrides it.
Every input is checked before any plugin runs: the network exists, every plugin is on CNI_PATH, <netns> is a
network namespace, the interface name, CNI_ARGS and CAP_ARGS are valid.

${RUNTIME_ENV}`,
  },
  {
    name: 'check',
    brief: 'check an attachment (CHECK)',
    args: '<network> <netns>',
    minArgs: 2,
    maxArgs: 2,
    options: ['ifname', 'cache-dir', 'timeout', 'verbose'],
    summary: 'check an attachment (CNI CHECK, cniVersion >= 0.4.0)',
    details: `Runs CHECK for every plugin of <network> with the cached result of the attachment. Prints nothing
on success.

${RUNTIME_ENV}`,
  },
  {
    name: 'del',
    brief: 'detach a namespace from a network (DEL)',
    args: '<network> <netns>',
    minArgs: 2,
    maxArgs: 2,
    options: ['ifname', 'cache-dir', 'timeout', 'verbose'],
    summary: 'detach a network namespace from a network (CNI DEL)',
    details: `Runs DEL for every plugin of <network>, in reverse order, then removes the cache entry. <netns> need
not exist any more: plugins clean up what they can. Prints nothing on success.

${RUNTIME_ENV}`,
  },
  {
    name: 'status',
    brief: "are the network's plugins ready? (STATUS)",
    args: '<network> [<netns>]',
    minArgs: 1,
    maxArgs: 2,
    options: ['timeout', 'verbose'],
    summary: "ask a network's plugins whether they are ready (CNI STATUS, cniVersion >= 1.1.0)",
    details: `Sends STATUS to every plugin of <network>. Exit status 0 means ready; otherwise the plugin's error
is printed (code 50: not available, 51: limited connectivity). Networks older than 1.1.0 always report ready.
<netns> is accepted and ignored, so scripts written for Go's cnitool (which requires it) work unchanged.

Environment: NETCONFPATH, CNI_PATH (see "cnitool add --help").`,
  },
  {
    name: 'gc',
    brief: 'delete attachments not listed as valid (GC)',
    args: '<network> (<containerId>:<ifName>... | --all)',
    minArgs: 1,
    maxArgs: Number.POSITIVE_INFINITY,
    options: ['cache-dir', 'timeout', 'all', 'verbose'],
    summary: 'delete cached attachments of a network that are not listed as valid (CNI GC)',
    details: `Runs DEL for every cached attachment of <network> that is not one of the <containerId>:<ifName>
pairs given, then (cniVersion >= 1.1.0) sends GC with that valid list to every plugin.

Giving no pairs is refused unless --all is passed: --all means "no attachment is valid" and deletes every
cached attachment of the network. Go's cnitool does that on every "gc <network> <netns>" call (it ignores
<netns>); here it has to be asked for, because it also removes attachments other tools made.

  --all    treat no attachment as valid (delete them all); cannot be combined with pairs

Example: cnitool gc mynet cnitool-56ceaf6655c38de30727:eth0

Environment: NETCONFPATH, CNI_PATH, CNI_CACHE_DIR (see "cnitool add --help").`,
  },
  {
    name: 'ls',
    brief: 'networks in NETCONFPATH, and files that failed',
    args: '',
    minArgs: 0,
    maxArgs: 0,
    options: [],
    summary:
      'list the networks in NETCONFPATH, their versions and plugin chains, and files that failed to load',
    details: `Lists every network configuration found in NETCONFPATH (default /etc/cni/net.d) in the order Go's
libcni looks them up: name, cniVersion, plugin chain (ipam in parentheses) and file. A network whose name an
earlier file already uses is marked "shadowed": add/check/del never see it. Files that could not be loaded
are listed with the reason. --json prints {"dir","networks":[...],"errors":[...]}.`,
  },
  {
    name: 'version',
    brief: 'CNI versions a plugin supports (VERSION)',
    args: '<pluginType>',
    minArgs: 1,
    maxArgs: 1,
    options: ['timeout', 'verbose'],
    summary: 'ask a plugin which CNI versions it supports (CNI VERSION)',
    details: `Finds <pluginType> on CNI_PATH, runs it with CNI_COMMAND=VERSION and prints its answer.
A plugin that predates VERSION is reported as supporting 0.1.0 only, as Go's libcni does.
--json prints {"cniVersion":...,"supportedVersions":[...]}.`,
  },
  {
    name: 'netns add',
    brief: 'create a pinned network namespace',
    args: '[<name>]',
    minArgs: 0,
    maxArgs: 1,
    options: [],
    summary: 'create a pinned network namespace (a random name when none is given); prints its path',
    details: `Creates a network namespace pinned at /var/run/netns/<name> (as "ip netns add" does) and prints its
path, ready for "cnitool add <network> <path>". Needs root. --json prints {"name","path"}.`,
  },
  {
    name: 'netns del',
    brief: 'delete a pinned network namespace',
    args: '<name>',
    minArgs: 1,
    maxArgs: 1,
    options: [],
    summary: 'delete a pinned network namespace (by name or path)',
    details: `Unmounts and removes a namespace made by "netns add" or "ip netns add"; one that does not exist
is not an error. Needs root. Run "cnitool del" for its attachments first: deleting the namespace does not
release IP addresses.`,
  },
  {
    name: 'netns ls',
    brief: 'list pinned network namespaces',
    args: '',
    minArgs: 0,
    maxArgs: 0,
    options: [],
    summary: 'list pinned network namespaces',
    details: 'Prints one namespace per line: its name and path. --json prints [{"name","path"}].',
  },
  {
    name: 'cache ls',
    brief: 'list cached attachments',
    args: '[<containerId>]',
    minArgs: 0,
    maxArgs: 1,
    options: ['cache-dir'],
    summary: 'list cached attachments (all, or those of one container)',
    details: `Lists the attachments recorded in <cache dir>/results, as Go's libcni GetCachedAttachments reads
them: network, container id, interface and namespace. --json prints an array of objects.

The cache dir is --cache-dir, else CNI_CACHE_DIR, else /var/lib/cni.`,
  },
  {
    name: 'cache show',
    brief: 'show one cached attachment',
    args: '<network> <containerId> [<ifName>]',
    minArgs: 2,
    maxArgs: 3,
    options: ['cache-dir', 'ifname'],
    summary: 'show one cached attachment: its config, runtime inputs and result',
    details: `Prints the cache entry <cache dir>/results/<network>-<containerId>-<ifName> as JSON, with the
stored network config decoded. <ifName> defaults to --ifname, else CNI_IFNAME, else eth0.`,
  },
  {
    name: 'completion',
    brief: 'print a shell completion script (bash, zsh, fish)',
    args: '<shell>',
    minArgs: 1,
    maxArgs: 1,
    options: [],
    summary: 'print a completion script for bash, zsh or fish',
    details: `Prints a script that completes cnitool's commands, options, network names (from NETCONFPATH, via
"cnitool ls --json"), namespaces (/var/run/netns) and plugin types (CNI_PATH). Load it with:

  bash:  source <(cnitool completion bash)       (or save it in /etc/bash_completion.d/cnitool)
  zsh:   source <(cnitool completion zsh)        (or save it as _cnitool in a directory of $fpath)
  fish:  cnitool completion fish | source        (or save it in ~/.config/fish/completions/cnitool.fish)`,
  },
];

/** The shells `cnitool completion` writes scripts for. */
export const SHELLS = ['bash', 'zsh', 'fish'] as const;

/** The spec of a command by name. */
export function commandSpec(name: CommandName): CommandSpec {
  const spec = COMMANDS.find((c) => c.name === name);
  if (!spec) throw new Error(`no such command ${name}`); // unreachable: CommandName is closed
  return spec;
}

/** The two-word command groups and their members. */
export const GROUPS: Readonly<Record<string, readonly string[]>> = {
  netns: ['add', 'del', 'ls'],
  cache: ['ls', 'show'],
};

/** The help line of an option: `-i, --ifname <name>    interface name ...`. */
function optionHelp(name: OptionName): string {
  const o: OptionSpec = OPTIONS[name];
  const left = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.value ? ` ${o.value}` : ''}`;
  return `${left.padEnd(21)}  ${o.help}`;
}

/** `cnitool --help`. */
export function mainHelp(): string {
  const lines = COMMANDS.map((c) => {
    const left = `cnitool ${c.name} ${c.args}`.trimEnd();
    return left.length <= 36
      ? `  ${left.padEnd(36)}  ${c.brief}`
      : `  ${left}\n  ${' '.repeat(36)}  ${c.brief}`;
  });
  return `cnitool: run CNI plugins against a network namespace (compatible with Go's cnitool)

Usage:
${lines.join('\n')}

Options:
  ${(Object.keys(OPTIONS) as OptionName[]).map(optionHelp).join('\n  ')}

${RUNTIME_ENV}

Options may come before or after the command. After the command, a word that begins with "-" and is
not one of these options is an argument (as Go's cnitool reads it: "cnitool add -foo <netns>" names
network "-foo"); "--" ends the options.

Exit status: 0 on success, 1 on any failure, 130 after Ctrl-C (SIGINT), 143 after SIGTERM.
Errors are one line on stderr.
Run "cnitool <command> --help" for details.
`;
}

/** `cnitool <command> --help`. */
export function commandHelp(spec: CommandSpec): string {
  const opts = [...spec.options, ...COMMON_OPTIONS];
  return `Usage: cnitool ${spec.name}${spec.args ? ` ${spec.args}` : ''} [options]

${spec.summary[0]?.toUpperCase() ?? ''}${spec.summary.slice(1)}.

${spec.details}

Options:
  ${opts.map(optionHelp).join('\n  ')}
`;
}

/** `cnitool netns --help` / `cnitool cache --help`. */
export function groupHelp(group: string): string {
  const members = COMMANDS.filter((c) => c.name.startsWith(`${group} `));
  return `Usage:
${members.map((c) => `  cnitool ${c.name}${c.args ? ` ${c.args}` : ''}\n      ${c.summary}`).join('\n')}

Run "cnitool ${group} <subcommand> --help" for details.
`;
}
