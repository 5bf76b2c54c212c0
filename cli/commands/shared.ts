/** Helpers the command modules share. */
import { InvalidArgumentError, type Command } from 'commander';
import type { Context } from '../context.js';
import { parseSize } from '../format.js';

/** Builds the context for a command from its (and the program's) options. */
export type ContextOf = (cmd: Command) => Context;

export const intOption =
  (min: number, max = Number.MAX_SAFE_INTEGER) =>
  (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}`);
    return n;
  };

export const sizeOption = (value: string): number => {
  try {
    const n = parseSize(value);
    if (n < 1) throw new Error('must be at least 1 byte');
    return n;
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
};
