/** What every command gets: the API client and the output channels chosen by the global flags. */
import type { Api } from './api.js';

export interface Output {
  json: boolean;
  quiet: boolean;
  verbose: boolean;
  /** Draw progress bars: stderr is a terminal and not --quiet. */
  progress: boolean;
  /** The command's result, on stdout. */
  print(text: string): void;
  /** Status for people, on stderr; silent with --quiet. */
  note(text: string): void;
  /** Details for --verbose, on stderr. */
  debug(text: string): void;
}

export interface Context {
  api(): Promise<Api>;
  out: Output;
}

/** What to tell the user if Ctrl-C arrives now. */
let interruptHint = '';
export const setInterruptHint = (hint: string): void => {
  interruptHint = hint;
};
export const getInterruptHint = (): string => interruptHint;

/** Test hooks: simulate a killed process after N units of work (see docs/cli.md, "Testing"). */
export function killAfter(variable: 'IMGCTL_TEST_KILL_AFTER_PARTS' | 'IMGCTL_TEST_KILL_AFTER_CHUNKS'): (count: number) => void {
  const raw = process.env[variable];
  const limit = raw === undefined ? NaN : Number(raw);
  if (!Number.isInteger(limit) || limit < 1) return () => undefined;
  return (count) => {
    if (count >= limit) process.kill(process.pid, 'SIGKILL');
  };
}

/**
 * Test hook: IMGCTL_TEST_PART_DELAY_MS holds each part's first PUT back that
 * long after its URL was taken, as a congested link would, so that a short
 * URL lifetime runs out on the way and the renewal path is exercised.
 */
export function partDelayMs(): number {
  const ms = Number(process.env['IMGCTL_TEST_PART_DELAY_MS'] ?? 0);
  return Number.isFinite(ms) && ms > 0 ? ms : 0;
}
