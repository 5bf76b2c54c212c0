/** The command tree: global options, then one module per group of commands. */
import { Command } from 'commander';
import { Api } from './api.js';
import { loadSettings, requireConnection, type SettingFlags } from './config.js';
import type { Context, Output } from './context.js';
import * as captureCommands from './commands/capture.js';
import * as configCommands from './commands/config.js';
import * as contentCommands from './commands/content.js';
import * as imageCommands from './commands/images.js';
import { bashCompletion, zshCompletion } from './completion.js';
import { UsageError } from './errors.js';
import { addExamples } from './help.js';

export interface GlobalOptions extends SettingFlags {
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

export function output(o: GlobalOptions): Output {
  const quiet = o.quiet === true;
  const verbose = o.verbose === true;
  return {
    json: o.json === true,
    quiet,
    verbose,
    progress: !quiet && process.stderr.isTTY === true,
    print: (text) => process.stdout.write(`${text}\n`),
    note: (text) => {
      if (!quiet) process.stderr.write(`${text}\n`);
    },
    debug: (text) => {
      if (verbose) process.stderr.write(`[imgctl] ${text}\n`);
    },
  };
}

function contextOf(cmd: Command): Context {
  const o = cmd.optsWithGlobals<GlobalOptions>();
  const out = output(o);
  let api: Api | undefined;
  return {
    out,
    api: async () => {
      api ??= new Api(
        requireConnection(await loadSettings(o), (line) => out.debug(line)),
        { log: (line) => out.debug(line) },
      );
      return api;
    },
  };
}

export function buildProgram(): Command {
  const program = new Command('imgctl')
    .description('Command-line client of the Image Service: image records, and parallel resumable content transfers')
    .version('0.1.0')
    .option('--url <url>', 'API base URL, e.g. https://HOST/api/v1 (or IMGCTL_URL)')
    .option('--token <jwt>', 'bearer token (or IMGCTL_TOKEN)')
    .option('--token-command <cmd>', 'a command that prints a fresh token, run when the token is due (or IMGCTL_TOKEN_COMMAND)')
    .option('--json', "print the API's data as JSON")
    .option('-q, --quiet', 'no progress bars or status lines')
    .option('-v, --verbose', 'log requests and transfer steps on stderr')
    .showHelpAfterError('(run imgctl help for usage)')
    .exitOverride()
    .addHelpText(
      'after',
      `
Settings come from --url/--token, then IMGCTL_URL/IMGCTL_TOKEN, then the config file
($XDG_CONFIG_HOME/imgctl/config.json; \`imgctl login\` writes it).
\`imgctl help COMMAND\` shows a command's options and examples.
Exit codes: 0 ok, 1 request refused or failed, 2 usage (bad arguments, whether
imgctl or the service (HTTP 400) finds them), 3 verification failed, 130 interrupted.`,
    );
  configCommands.register(program, contextOf);
  imageCommands.register(program, contextOf);
  contentCommands.register(program, contextOf);
  captureCommands.register(program, contextOf);
  program
    .command('completion')
    .description('print the shell completion script for bash or zsh')
    .argument('<shell>', 'bash or zsh')
    .action((shell: string) => {
      if (shell === 'bash') process.stdout.write(bashCompletion(program));
      else if (shell === 'zsh') process.stdout.write(zshCompletion(program));
      else throw new UsageError(`no completion for "${shell}"; there is one for bash and one for zsh`);
    });
  // For completion: the image names, one a line; nothing at all when the API cannot be asked.
  program.command('__images', { hidden: true }).action(async (_o: object, cmd: Command) => {
    try {
      const list = await (await contextOf(cmd).api()).listAll({});
      process.stdout.write(
        Object.values(list)
          .map((r) => `${r.name}\n`)
          .join(''),
      );
    } catch {
      // Completion stays quiet.
    }
  });
  addExamples(program);
  return program;
}
