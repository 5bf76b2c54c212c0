/**
 * `imgctl completion bash|zsh`: shell completion scripts generated from the
 * command tree itself, so they follow every command and option added.
 * Commands and options complete everywhere; an IMAGE argument completes with
 * the image names the API lists (the hidden `imgctl __images`, which prints
 * nothing when there is no URL or token), a FILE argument with file names.
 */
import type { Command, Option } from 'commander';

interface Spec {
  name: string;
  description: string;
  options: { flags: string[]; description: string; takesValue: boolean }[];
  /** Kinds of the positional arguments, in order. */
  args: ('image' | 'file' | 'shell' | 'command' | 'other')[];
}

function optionsOf(cmd: Command): Spec['options'] {
  return (cmd.options as readonly Option[])
    .filter((o) => !o.hidden)
    .map((o) => ({
      flags: [o.short, o.long].filter((f): f is string => f !== undefined),
      description: o.description,
      takesValue: o.required || o.optional,
    }));
}

function specs(program: Command): { global: Spec['options']; commands: Spec[] } {
  const commands = program.commands
    .filter((c) => !(c as Command & { _hidden?: boolean })._hidden)
    .map((c) => ({
      name: c.name(),
      description: c.description(),
      options: optionsOf(c),
      args: c.registeredArguments.map((a) => {
        const n = a.name();
        if (n === 'image') return 'image' as const;
        if (n === 'file') return 'file' as const;
        if (n === 'shell') return 'shell' as const;
        if (n === 'command') return 'command' as const;
        return 'other' as const;
      }),
    }));
  // Commander's own `help [command]`.
  commands.push({ name: 'help', description: 'help for a command, with examples', options: [], args: ['command'] });
  return { global: [...optionsOf(program), { flags: ['-h', '--help'], description: 'help', takesValue: false }], commands };
}

export function bashCompletion(program: Command): string {
  const { global, commands } = specs(program);
  const words = (opts: Spec['options']) => opts.flatMap((o) => o.flags).join(' ');
  const valued = [...global, ...commands.flatMap((c) => c.options)].filter((o) => o.takesValue).flatMap((o) => o.flags);
  const names = commands.map((c) => c.name).join(' ');
  const optionCases = commands
    .filter((c) => c.options.length > 0)
    .map((c) => `      ${c.name}) opts="${words(c.options)}" ;;`)
    .join('\n');
  const argCases = commands
    .flatMap((c) => c.args.map((kind, i) => ({ key: `${c.name}:${i}`, kind })))
    .filter((a) => a.kind !== 'other')
    .map(({ key, kind }) => {
      const action = {
        image: 'COMPREPLY=($(compgen -W "$(imgctl __images 2>/dev/null)" -- "$cur"))',
        file: 'compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur"))',
        shell: 'COMPREPLY=($(compgen -W "bash zsh" -- "$cur"))',
        command: `COMPREPLY=($(compgen -W "${names}" -- "$cur"))`,
      }[kind as 'image' | 'file' | 'shell' | 'command'];
      return `    ${key}) ${action} ;;`;
    })
    .join('\n');
  return `# bash completion for imgctl. Load it with: source <(imgctl completion bash)
# or install it: imgctl completion bash > ~/.local/share/bash-completion/completions/imgctl
_imgctl() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]}
  local cmd="" argn=0 i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      ${valued.join('|')}) ((i++)) ;;
      -*) ;;
      *) if [[ -z $cmd ]]; then cmd=\${COMP_WORDS[i]}; else ((argn++)); fi ;;
    esac
  done
  case "$prev" in
    ${valued.join('|')}) return 0 ;;
  esac
  if [[ $cur == -* ]]; then
    local opts=""
    case "$cmd" in
${optionCases}
    esac
    COMPREPLY=($(compgen -W "$opts ${words(global)}" -- "$cur"))
    return 0
  fi
  if [[ -z $cmd ]]; then
    COMPREPLY=($(compgen -W "${names}" -- "$cur"))
    return 0
  fi
  case "$cmd:$argn" in
${argCases}
  esac
  return 0
}
complete -F _imgctl imgctl
`;
}

/** Text for a zsh _arguments spec inside single quotes: no brackets, colons escaped, quotes closed and reopened. */
const zshText = (text: string): string => text.replace(/[[\]]/g, '').replace(/:/g, '\\:').replace(/'/g, "'\\''");

function zshOption(o: Spec['options'][number]): string {
  const value = o.takesValue ? ':value:' : '';
  if (o.flags.length === 1) return `'${o.flags[0]}[${zshText(o.description)}]${value}'`;
  return `'(${o.flags.join(' ')})'{${o.flags.join(',')}}'[${zshText(o.description)}]${value}'`;
}

export function zshCompletion(program: Command): string {
  const { global, commands } = specs(program);
  const describe = commands.map((c) => `    '${c.name}:${zshText(c.description)}'`).join('\n');
  const cases = commands
    .map((c) => {
      const args = c.args.map((kind, i) => {
        const action = { image: '_imgctl_images', file: '_files', shell: '(bash zsh)', command: '{_describe command commands}', other: '' }[
          kind
        ];
        return `'${i + 1}:${kind}:${action}'`;
      });
      const spec = [...c.options.map(zshOption), ...args].join(' ');
      return `        ${c.name}) _arguments $global ${spec} ;;`;
    })
    .join('\n');
  return `#compdef imgctl
# zsh completion for imgctl. Load it with: source <(imgctl completion zsh)
# or install it as _imgctl in a directory of your $fpath.
_imgctl_images() {
  local -a images
  images=(\${(f)"$(imgctl __images 2>/dev/null)"})
  _describe 'image' images
}

_imgctl() {
  local curcontext="$curcontext" state line
  local -a global commands
  global=(${global.map(zshOption).join(' ')})
  commands=(
${describe}
  )
  _arguments -C $global '1:command:->command' '*::arg:->args'
  case $state in
    command) _describe -t commands 'imgctl command' commands ;;
    args)
      case $line[1] in
${cases}
      esac
      ;;
  esac
}

if [[ $zsh_eval_context[-1] == loadautoload ]]; then
  _imgctl "$@"
else
  compdef _imgctl imgctl
fi
`;
}
