/** Small helpers shared by benchmarks: timing external commands, rates, formatting. */
import { spawn } from 'node:child_process';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** Decimal megabytes per second, the unit disks, networks and `dd` report. */
export function mbPerSec(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000);
}

export function fmt(value: number, digits = 1): string {
  return value.toFixed(digits);
}

/** "ok" or "MISSED" against a target, for a line a reader can scan. */
export function verdict(value: number, target: number, higherIsBetter = true): string {
  return (higherIsBetter ? value >= target : value <= target) ? 'ok' : 'MISSED';
}

export interface TimedRun {
  ms: number;
  stdout: string;
}

/** Runs a command to completion, measuring its wall time; rejects on a non-zero exit. */
export function timeCommand(command: string, args: string[]): Promise<TimedRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.once('error', reject);
    child.once('close', (code) => {
      const ms = performance.now() - started;
      if (code === 0) resolve({ ms, stdout: Buffer.concat(out).toString('utf8') });
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}`));
    });
  });
}

/** Runs `fn` `times` times and keeps the fastest: the least disturbed by the rest of the machine. */
export async function best<T extends { ms: number }>(times: number, fn: () => Promise<T>): Promise<T> {
  let winner: T | undefined;
  for (let i = 0; i < times; i++) {
    const run = await fn();
    if (!winner || run.ms < winner.ms) winner = run;
  }
  if (!winner) throw new Error('best() needs at least one run');
  return winner;
}

/** The median run by time (the upper one of an even count): steadier than the best on a shared machine. */
export function median<T extends { ms: number }>(runs: readonly T[]): T {
  const sorted = [...runs].sort((a, b) => a.ms - b.ms);
  const mid = sorted[Math.floor(sorted.length / 2)];
  if (!mid) throw new Error('median() needs at least one run');
  return mid;
}
