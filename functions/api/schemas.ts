/**
 * Request shapes, validated at the edge. Optional text fields take `null` to
 * clear them; empty strings are refused so that "unset" has one spelling.
 */
import * as z from 'zod';

export const NAME_RULE = 'must start with a letter and contain only letters, digits, ".", "_" and "-"';

export const imageName = z
  .string({ error: 'must be a string' })
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .regex(/^[A-Za-z][A-Za-z0-9._-]*$/, NAME_RULE)
  .refine((n) => !/^[0-9a-fA-F]{32}$/.test(n), 'must not look like a UID (32 hex characters)');

const text = (max: number) =>
  z
    .string({ error: 'must be a string or null' })
    .min(1, 'must not be empty (use null to clear it)')
    .max(max, `must be at most ${max} characters`);

/** A UID or a name of another image. */
const imageRef = z.string({ error: 'must be a UID or a name' }).min(1, 'must not be empty').max(128, 'is too long');

const flag = z.boolean({ error: 'must be true or false' });

export const EDITABLE = ['name', 'description', 'frozen', 'parent', 'distro'] as const;
export const READ_ONLY = ['uid', 'content', 'last_modified', 'last_modified_by', 'last_modified_on'] as const;

const fields = {
  name: imageName,
  description: text(4096).nullable(),
  frozen: flag,
  parent: imageRef.nullable(),
  distro: text(256).nullable(),
};

export const createBody = z.strictObject({
  name: fields.name,
  description: fields.description.optional(),
  frozen: fields.frozen.optional(),
  parent: fields.parent.optional(),
  distro: fields.distro.optional(),
});

/** PUT: every editable field; absent optional ones are cleared. */
export const replaceBody = createBody;

export const patchBody = z
  .strictObject({
    name: fields.name.optional(),
    description: fields.description.optional(),
    frozen: fields.frozen.optional(),
    parent: fields.parent.optional(),
    distro: fields.distro.optional(),
  })
  .refine((b) => Object.keys(b).length > 0, `give at least one of ${EDITABLE.join(', ')}`);

export const cloneBody = z.strictObject({
  name: fields.name,
  description: fields.description.optional(),
});

const limit = z.coerce
  .number({ error: 'must be a number' })
  .int('must be a whole number')
  .min(1, 'must be at least 1')
  .max(1000, 'must be at most 1000');

export const listQuery = z.strictObject({
  limit: limit.optional(),
  next: z.string().min(1).optional(),
  name: z.string().min(1).optional(),
  parent: z.string().min(1).optional(),
  distro: z.string().min(1).optional(),
});

/* Content */

const wholeNumber = (what: string) => z.number({ error: `${what} must be a number` }).int(`${what} must be a whole number`);

export const startUploadBody = z.strictObject({
  size: wholeNumber('size').min(1, 'size must be at least 1 byte'),
  sha1: z
    .string({ error: 'must be a string' })
    .regex(/^(sha1:)?[0-9a-fA-F]{40}$/, 'must be 40 hex characters, optionally prefixed "sha1:"')
    .transform((s) => s.replace(/^sha1:/, '').toLowerCase())
    .optional(),
  part_size: wholeNumber('part_size').min(1).optional(),
  fmt: z
    .string({ error: 'must be a string' })
    .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'must be 1-32 lower-case letters, digits, "_" or "-"')
    .optional(),
});

export const completeUploadBody = z.strictObject({
  parts: z
    .array(
      z.strictObject({
        part_number: wholeNumber('part_number').min(1).max(10_000),
        etag: z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(256),
      }),
      { error: 'must be a list of {part_number, etag}' },
    )
    .min(1, 'must list at least one part')
    .max(10_000),
});

export const downloadQuery = z.strictObject({
  redirect: z.enum(['true', 'false'], { error: 'must be true or false' }).optional(),
  parts: z.coerce.number({ error: 'must be a number' }).int().min(1).max(10_000).optional(),
});

export const noQuery = z.strictObject({});
