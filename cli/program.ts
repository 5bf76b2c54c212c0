/** The command tree: global options, then one module per group of commands. */
import { Command } from 'commander';
import { Api } from './api.js';
import { loadSettings, requireConnection, type SettingFlags } from './config.js';
import type { Context, Output } from './context.js';
import * as configCommands from './commands/config.js';
import * as contentCommands from './commands/content.js';
import * as imageCommands from './commands/images.js';

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
      api ??= new Api(requireConnection(await loadSettings(o), (line) => out.debug(line)), { log: (line) => out.debug(line) });
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
Exit codes: 0 ok, 1 request refused or failed, 2 usage, 3 verification failed.`,
    );
  configCommands.register(program, contextOf);
  imageCommands.register(program, contextOf);
  contentCommands.register(program, contextOf);
  return program;
}
