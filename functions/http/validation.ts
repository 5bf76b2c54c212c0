import type * as z from 'zod/mini';
import { invalid } from '../core/errors.js';

/** Validates with zod and turns its issues into one readable reason. */
export function parseWith<S extends z.ZodMiniType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const reasons = result.error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    return path === '' ? issue.message : `${path}: ${issue.message}`;
  });
  throw invalid(`invalid ${what}: ${reasons.join('; ')}`);
}
