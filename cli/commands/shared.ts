/** Helpers the command modules share. */
import { InvalidArgumentError, type Command } from 'commander';
import type { Context } from '../context.js';
import { bytes as formatBytes, parseSize } from '../format.js';
import { parseRate } from '../transfer/rate-limit.js';

/** Builds the context for a command from its (and the program's) options. */
export type ContextOf = (cmd: Command) => Context;

export const intOption =
  (min: number, max = Number.MAX_SAFE_INTEGER) =>
  (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}`);
    return n;
  };

/** A size option (e.g. `64M`) within [min, max] bytes: a usage error (exit 2) otherwise. */
export const sizeIn =
  (min: number, max: number, why = '') =>
  (value: string): number => {
    try {
      const n = parseSize(value);
      if (n < min) throw new Error(`must be at least ${formatBytes(min)}${why}`);
      if (n > max) throw new Error(`must be at most ${formatBytes(max)}${why}`);
      return n;
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  };

export const sizeOption = sizeIn(1, Number.MAX_SAFE_INTEGER);

/** S3's bounds on a part: 5 MiB (all but the last) to 5 GiB. */
export const partSizeOption = sizeIn(5 * 1024 ** 2, 5 * 1024 ** 3, " (S3's limits for a part)");

/** `--limit-rate`: bytes per second, curl style (`20M`). */
export const rateOption = (value: string): number => {
  try {
    return parseRate(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
};
