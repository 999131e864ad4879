import { Argument, type Command } from 'commander';

/** One command of the tree: the words that lead to it, its subcommands and its options. */
interface CommandNode {
  path: string[];
  description: string;
  /** Subcommands, and the values its first argument takes when it names them (`completion bash`). */
  subcommands: { name: string; description: string }[];
  options: { flag: string; description: string }[];
}

/** Every command under `root`, from commander's own tree: what completes is what parses. */
export function commandTree(root: Command): CommandNode[] {
  const nodes: CommandNode[] = [];
  const walk = (command: Command, path: string[]) => {
    const options = command.options.flatMap((option) =>
      [option.long, option.short]
        .filter((flag): flag is string => flag !== undefined)
        .map((flag) => ({ flag, description: option.description })),
    );
    options.push({ flag: '--help', description: 'display help' });
    const subcommands = command.commands.filter((sub) => !sub.name().startsWith('_'));
    nodes.push({
      path,
      description: command.description(),
      subcommands: [
        ...subcommands.map((sub) => ({ name: sub.name(), description: sub.description() })),
        ...(command.registeredArguments[0]?.argChoices ?? []).map((choice) => ({ name: choice, description: '' })),
      ],
      options,
    });
    for (const sub of subcommands) walk(sub, [...path, sub.name()]);
  };
  walk(root, []);
  return nodes;
}

const shellWords = (words: string[]) => words.join(' ');
const singleQuoted = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

/**
 * bash (and zsh, through bashcompinit): the words typed so far walk the tree (a word that is a
 * subcommand of where they are goes down; arguments and options do not move), then the
 * subcommands and options of that command complete; anything else completes as a file name.
 */
export function bashCompletion(binary: string, nodes: CommandNode[]): string {
  const fn = `_${binary}_completion`;
  const cases = nodes.map((node) => {
    const words = [...node.subcommands.map((s) => s.name), ...node.options.map((o) => o.flag)];
    return `    ${singleQuoted(shellWords(node.path))}) words=${singleQuoted(shellWords(words))} ;;`;
  });
  const known = nodes.map((node) => shellWords(node.path)).filter((path) => path !== '');
  return `# ${binary} completion for bash: eval "$(${binary} completion bash)" (in ~/.bashrc)
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" next word i words=""
  local known=${singleQuoted(`|${known.join('|')}|`)}
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    next="\${path:+$path }$word"
    [[ "$known" == *"|$next|"* ]] && path="$next"
  done
  case "$path" in
${cases.join('\n')}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F ${fn} ${binary}
`;
}

export function zshCompletion(binary: string, nodes: CommandNode[]): string {
  return `# ${binary} completion for zsh: eval "$(${binary} completion zsh)" (in ~/.zshrc)
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bashCompletion(binary, nodes).split('\n').slice(1).join('\n')}`;
}

/** fish: a helper gives the command path of the words typed so far; each completion names the path it belongs to. */
export function fishCompletion(binary: string, nodes: CommandNode[]): string {
  const helper = `__${binary}_path`;
  const known = nodes.map((node) => shellWords(node.path)).filter((path) => path !== '');
  const lines = [
    `# ${binary} completion for fish: ${binary} completion fish > ~/.config/fish/completions/${binary}.fish`,
    `function ${helper}`,
    '    set -l path ""',
    `    set -l known ${known.map(singleQuoted).join(' ')}`,
    '    for word in (commandline -opc)[2..-1]',
    '        set -l next (string trim -- "$path $word")',
    '        if contains -- $next $known',
    '            set path $next',
    '        end',
    '    end',
    '    echo $path',
    'end',
  ];
  for (const node of nodes) {
    const at = `test (${helper}) = ${singleQuoted(shellWords(node.path))}`;
    for (const sub of node.subcommands) {
      lines.push(`complete -c ${binary} -f -n ${singleQuoted(at)} -a ${singleQuoted(sub.name)} -d ${singleQuoted(sub.description)}`);
    }
    for (const option of node.options) {
      const flag = option.flag.startsWith('--') ? `-l ${option.flag.slice(2)}` : `-s ${option.flag.slice(1)}`;
      lines.push(`complete -c ${binary} -n ${singleQuoted(at)} ${flag} -d ${singleQuoted(option.description)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

const SHELLS = { bash: bashCompletion, zsh: zshCompletion, fish: fishCompletion } as const;

/** `completion bash|zsh|fish`, on the root command (`dodil completion …`, `ignite completion …`). */
export function registerCompletionCommand(root: Command): void {
  root
    .command('completion')
    .description('print the shell completion script: bash, zsh or fish')
    .addArgument(new Argument('<shell>', 'the shell').choices(Object.keys(SHELLS)))
    .addHelpText('after', `\nExample:\n  $ eval "$(${root.name()} completion bash)"`)
    .action((shell: keyof typeof SHELLS) => {
      process.stdout.write(SHELLS[shell](root.name(), commandTree(root)));
    });
}
