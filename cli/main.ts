/**
 * imgctl's entry point: runs the command and turns its outcome into an exit
 * code (0 ok, 1 refused or failed, 2 usage, 3 verification failed, 130
 * interrupted) with one readable line on stderr.
 */
import { CommanderError } from 'commander';
import { getInterruptHint } from './context.js';
import { CliError, EXIT, RequestRefused } from './errors.js';
import { buildProgram } from './program.js';
import { closeAgents } from './transfer/http.js';

function explain(error: RequestRefused): string {
  const hint = error.status === 401 ? ' (the token is missing, invalid or expired: run `imgctl login` or set IMGCTL_TOKEN)' : '';
  return `refused (HTTP ${error.status}): ${error.reason}${hint}`;
}

export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed its message already; help and --version end with 0.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof RequestRefused) {
      process.stderr.write(`imgctl: ${explain(error)}\n`);
      return error.exitCode;
    }
    if (error instanceof CliError) {
      process.stderr.write(`imgctl: ${error.message}\n`);
      return error.exitCode;
    }
    const verbose = process.argv.includes('-v') || process.argv.includes('--verbose');
    process.stderr.write(`imgctl: ${verbose && error instanceof Error ? error.stack : String((error as Error).message ?? error)}\n`);
    return EXIT.refused;
  } finally {
    closeAgents();
  }
}

// `imgctl list | head` closes the pipe early: the reader has what it wanted, so stop quietly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(EXIT.ok);
  throw error;
});

process.once('SIGINT', () => {
  const hint = getInterruptHint();
  process.stderr.write(`\nimgctl: interrupted${hint ? `; ${hint}` : ''}\n`);
  process.exit(EXIT.interrupted);
});

process.exitCode = await run(process.argv);
