/**
 * `cnitool completion bash|zsh|fish`: completion scripts generated from the CLI's spec (spec.ts),
 * so a command, option or argument added there is completed without touching this file. Like
 * spec.ts it imports nothing of the library: printing a script costs no more than `--help`.
 *
 * Each script completes: the commands and the two-word groups (`netns add`); the options each
 * command accepts (their values: directories for `--cache-dir`); and arguments by the name the
 * usage line gives them — `<network>` from `cnitool ls` (NETCONFPATH), `<netns>` from
 * /var/run/netns (or any path), `<pluginType>` from the executables on CNI_PATH, `netns del`'s
 * `<name>` from /var/run/netns, `<shell>` from the shells here.
 */
import {
  COMMANDS,
  COMMON_OPTIONS,
  type CommandSpec,
  GROUPS,
  OPTIONS,
  type OptionName,
  type OptionSpec,
  SHELLS,
} from './spec.ts';

export type Shell = (typeof SHELLS)[number];

/** What a positional argument is completed with. */
type ArgKind = 'network' | 'netns' | 'netns-name' | 'plugin' | 'shell-name' | 'none';

/** The kind of each positional of a command, read from its usage line (`<network> <netns>`). */
export function argumentKinds(spec: CommandSpec): ArgKind[] {
  return [...spec.args.matchAll(/<([A-Za-z]+)>/g)].map(([, name]): ArgKind => {
    switch (name) {
      case 'network':
        return 'network';
      case 'netns':
        return 'netns';
      case 'pluginType':
        return 'plugin';
      case 'shell':
        return 'shell-name';
      case 'name':
        // An existing namespace for `netns del`; `netns add` wants a new name.
        return spec.name === 'netns del' ? 'netns-name' : 'none';
      default:
        return 'none';
    }
  });
}

/** The words that can come first: single commands, group words, and `help`. */
export function topLevelWords(): string[] {
  const words = COMMANDS.map((c) => c.name.split(' ')[0] as string);
  return [...new Set([...words, 'help'])];
}

/** Every spelling of the options a command accepts (`--ifname`, `-i`, ...). */
function optionWords(names: readonly OptionName[]): string[] {
  return names.flatMap((n) => {
    const o: OptionSpec = OPTIONS[n];
    return o.short ? [`--${n}`, `-${o.short}`] : [`--${n}`];
  });
}

function commandOptions(spec: CommandSpec): OptionName[] {
  return [...spec.options, ...COMMON_OPTIONS];
}

const ALL_OPTIONS = Object.keys(OPTIONS) as OptionName[];
/** The options that take the next word as their value. */
const VALUE_OPTIONS = ALL_OPTIONS.filter((n) => OPTIONS[n].type === 'string');
const DIRECTORY_OPTIONS = VALUE_OPTIONS.filter((n) => 'complete' in OPTIONS[n]);
/** The value options whose value nothing can be offered for, as a `case` pattern. */
const OTHER_VALUE_OPTIONS = VALUE_OPTIONS.filter((n) => !DIRECTORY_OPTIONS.includes(n))
  .flatMap((n) => optionWords([n]))
  .join('|');

/** Single-quoted for sh, bash, zsh and fish. */
function quote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/**
 * Shell functions (bash and zsh) that list the candidates of each argument kind, one a line.
 * `setup` starts each body (zsh: no error for a glob that matches nothing).
 */
function listers(setup: string): string {
  return `_cnitool_networks() { "$1" ls 2>/dev/null | awk 'NR > 1 && NF == 0 { exit } NR > 1 { print $1 }'; }
_cnitool_netns() { ${setup}local f; for f in /var/run/netns/*; do [ -e "$f" ] && printf '%s\\n' "$f"; done; }
_cnitool_netns_names() { ${setup}local f; for f in /var/run/netns/*; do [ -e "$f" ] && printf '%s\\n' "\${f##*/}"; done; }
_cnitool_plugins() {
  ${setup}local d f
  printf '%s\\n' "\${CNI_PATH:-}" | tr ':' '\\n' | while IFS= read -r d; do
    [ -n "$d" ] || continue
    for f in "$d"/*; do [ -f "$f" ] && [ -x "$f" ] && printf '%s\\n' "\${f##*/}"; done
  done
}`;
}

/**
 * The part bash and zsh share: walk the words before the cursor, skip options and their values,
 * and set `cmd` (`add`, `netns add`, or a bare group word) and `pos` (the index of the argument
 * being completed; -1: a group's subcommand). `base` is the shell's first array index (zsh: 1).
 */
function operandWalk(first: string, count: string, word: (i: string) => string, base: 0 | 1): string {
  return `  local -a operands
  operands=()
  local i w skip=0
  for ((i = ${first}; i < ${count}; i++)); do
    w=${word('i')}
    if [[ $w == '=' ]]; then skip=1; continue; fi
    if ((skip)); then skip=0; continue; fi
    case $w in
      ${VALUE_OPTIONS.flatMap((n) => optionWords([n])).join('|')}) skip=1 ;;
      -*) ;;
      *) operands+=("$w") ;;
    esac
  done
  local n=\${#operands[@]} cmd="" pos=0
  if ((n > 0)); then cmd=\${operands[${base}]}; pos=$((n - 1)); fi
  case $cmd in
    ${Object.keys(GROUPS).join('|')})
      if ((n > 1)); then cmd="$cmd \${operands[${base + 1}]}"; pos=$((n - 2)); else pos=-1; fi ;;
  esac`;
}

/** Per command: the option words it accepts and the kind of each argument (bash and zsh). */
function commandTable(): string {
  const arms = COMMANDS.map(
    (c) =>
      `    ${quote(c.name)}) opts=${quote(optionWords(commandOptions(c)).join(' '))}; kinds=(${argumentKinds(c).join(' ')}) ;;`,
  );
  const groups = Object.entries(GROUPS).map(
    ([g, members]) =>
      `    ${g}) opts=${quote(optionWords(COMMON_OPTIONS).join(' '))}; subs=${quote(members.join(' '))} ;;`,
  );
  return `  local opts=${quote(optionWords(ALL_OPTIONS).join(' '))} subs=""
  local -a kinds
  kinds=()
  case $cmd in
${[...arms, ...groups].join('\n')}
  esac`;
}

/** `cnitool completion bash`. */
export function bashScript(): string {
  return `# bash completion for cnitool, generated by "cnitool completion bash"
${listers('')}
_cnitool() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD - 1]}
  COMPREPLY=()
  case $prev in
    ${DIRECTORY_OPTIONS.flatMap((n) => optionWords([n])).join('|')}) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    ${OTHER_VALUE_OPTIONS}) return ;;
  esac
${operandWalk('1', 'COMP_CWORD', (i) => `\${COMP_WORDS[${i}]}`, 0)}
${commandTable()}
  if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "$opts" -- "$cur")); return; fi
  local words=""
  if [[ -z $cmd || $cmd == help ]]; then words=${quote(topLevelWords().join(' '))}
  elif ((pos < 0)); then words=$subs
  else
    case \${kinds[pos]-none} in
      network) words=$(_cnitool_networks "\${COMP_WORDS[0]}") ;;
      netns)
        if [[ $cur == */* ]]; then COMPREPLY=($(compgen -f -- "$cur")); return; fi
        words=$(_cnitool_netns) ;;
      netns-name) words=$(_cnitool_netns_names) ;;
      plugin) words=$(_cnitool_plugins) ;;
      shell-name) words=${quote(SHELLS.join(' '))} ;;
    esac
  fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _cnitool cnitool
`;
}

/** `cnitool completion zsh`: the same walk in zsh, with each command's description. */
export function zshScript(): string {
  const described = topLevelWords().map((w) => {
    const spec = COMMANDS.find((c) => c.name === w);
    const brief = spec?.brief ?? (w === 'help' ? 'help on a command' : `${w} subcommands`);
    return quote(`${w}:${brief.replaceAll(':', '\\:')}`);
  });
  return `#compdef cnitool
# zsh completion for cnitool, generated by "cnitool completion zsh"
${listers('setopt localoptions nullglob; ')}
_cnitool() {
  local cur=\${words[CURRENT]} prev=\${words[CURRENT - 1]}
  case $prev in
    ${DIRECTORY_OPTIONS.flatMap((n) => optionWords([n])).join('|')}) _files -/; return ;;
    ${OTHER_VALUE_OPTIONS}) return 1 ;;
  esac
${operandWalk('2', 'CURRENT', (i) => `\${words[${i}]}`, 1)}
${commandTable()}
  if [[ $cur == -* ]]; then compadd -- \${=opts}; return; fi
  if [[ -z $cmd || $cmd == help ]]; then
    local -a described
    described=(${described.join(' ')})
    _describe 'cnitool command' described
  elif ((pos < 0)); then compadd -- \${=subs}
  else
    case \${kinds[pos + 1]-none} in
      network) compadd -- $(_cnitool_networks "\${words[1]}") ;;
      netns) compadd -- $(_cnitool_netns); _files ;;
      netns-name) compadd -- $(_cnitool_netns_names) ;;
      plugin) compadd -- $(_cnitool_plugins) ;;
      shell-name) compadd -- ${SHELLS.join(' ')} ;;
    esac
  fi
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then _cnitool "$@"; else compdef _cnitool cnitool; fi
`;
}

/** `cnitool completion fish`: fish's declarative `complete` lines, with helper functions. */
export function fishScript(): string {
  const valueOptions = VALUE_OPTIONS.flatMap((n) => optionWords([n])).join(' ');
  const lines: string[] = [
    '# fish completion for cnitool, generated by "cnitool completion fish"',
    'complete -c cnitool -f',
    '# The operands before the cursor: command words and arguments, without options and their values.',
    'function __cnitool_operands',
    '    set -l words (commandline -opc)',
    '    set -e words[1]',
    '    set -l skip 0',
    '    for w in $words',
    '        if test $skip = 1; set skip 0; continue; end',
    `        if contains -- $w ${valueOptions}`,
    '            set skip 1',
    "        else if not string match -q -- '-*' $w",
    '            echo $w',
    '        end',
    '    end',
    'end',
    '# True when the command is $argv[1] and $argv[2] of its arguments are given ("-" for any).',
    'function __cnitool_at',
    '    set -l ops (__cnitool_operands)',
    '    set -l words (string split " " -- $argv[1])',
    '    set -l n (count $words)',
    '    test (count $ops) -ge $n; or return 1',
    '    test "$ops[1..$n]" = "$words"; or return 1',
    '    test "$argv[2]" = "-"; or test (math (count $ops) - $n) -eq $argv[2]',
    'end',
    "function __cnitool_networks; command cnitool ls 2>/dev/null | awk 'NR > 1 && NF == 0 { exit } NR > 1 { print $1 }'; end",
    'function __cnitool_plugins',
    '    for d in (string split : -- "$CNI_PATH")',
    '        for f in $d/*; test -f $f -a -x $f; and basename $f; end',
    '    end',
    'end',
    ...topLevelWords().map((w) => {
      const brief = COMMANDS.find((c) => c.name === w)?.brief ?? `${w} subcommands`;
      return `complete -c cnitool -n 'test (count (__cnitool_operands)) -eq 0' -a ${w} -d ${quote(brief)}`;
    }),
    ...Object.entries(GROUPS).flatMap(([g, members]) =>
      members.map((m) => {
        const brief = COMMANDS.find((c) => c.name === `${g} ${m}`)?.brief ?? '';
        return `complete -c cnitool -n '__cnitool_at ${g} 0' -a ${m} -d ${quote(brief)}`;
      }),
    ),
  ];
  for (const spec of COMMANDS) lines.push(...fishCommand(spec));
  return `${lines.join('\n')}\n`;
}

/** The `complete` lines of one command: its options and its arguments. */
function fishCommand(spec: CommandSpec): string[] {
  const out = commandOptions(spec).map((n) => {
    const o: OptionSpec = OPTIONS[n];
    const flags = [`-l ${n}`, o.short ? `-s ${o.short}` : '', o.type === 'string' ? '-r' : ''];
    const dir = DIRECTORY_OPTIONS.includes(n) ? " -a '(__fish_complete_directories)'" : '';
    return `complete -c cnitool -n '__cnitool_at "${spec.name}" -' ${flags.filter(Boolean).join(' ')}${dir} -d ${quote(o.help)}`;
  });
  const sources: Record<ArgKind, string | undefined> = {
    network: '(__cnitool_networks)',
    netns: '(__fish_complete_path /var/run/netns/)',
    'netns-name': '(ls /var/run/netns 2>/dev/null)',
    plugin: '(__cnitool_plugins)',
    'shell-name': SHELLS.join(' '),
    none: undefined,
  };
  argumentKinds(spec).forEach((kind, i) => {
    const source = sources[kind];
    if (source !== undefined)
      out.push(`complete -c cnitool -n '__cnitool_at "${spec.name}" ${i}' -a ${quote(source)}`);
  });
  return out;
}

/** The script for the shell `target`. */
export function completionScript(target: Shell): string {
  switch (target) {
    case 'bash':
      return bashScript();
    case 'zsh':
      return zshScript();
    case 'fish':
      return fishScript();
  }
}
