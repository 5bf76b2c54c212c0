/**
 * Request shapes, validated at the edge. Optional text fields take `null` to
 * clear them; empty strings are refused so that "unset" has one spelling.
 * A schema's `error` is what zod says for every issue without a message of
 * its own, so each check below names its limit: otherwise a string over a
 * length limit would be told it "must be a string".
 *
 * zod/mini rather than zod: the same validation with a tree-shakable API,
 * about 75 KiB less in every function's bundle. Only the English messages
 * are loaded, for the cases below that give none of their own.
 */
import * as z from 'zod/mini';
import { en } from 'zod/locales';
import { looksLikeUid, MAX_NAME_LENGTH, NAME_PATTERN } from '../core/ids.js';
import { STAMP_KEYS } from '../core/images/model.js';
import { COMPRESSORS, MAX_EXCLUDE_LENGTH, MAX_EXCLUDES, type Compressor } from '../core/capture/model.js';

z.config(en());

export const NAME_RULE = 'must start with a letter and contain only letters, digits, ".", "_" and "-"';

export const imageName = z
  .string({ error: (issue) => (issue.input === null ? 'cannot be cleared: an image always has a name' : 'must be a string') })
  .check(
    z.minLength(1, 'must not be empty'),
    z.maxLength(MAX_NAME_LENGTH, `must be at most ${MAX_NAME_LENGTH} characters`),
    z.regex(NAME_PATTERN, NAME_RULE),
    z.refine((n: string) => !looksLikeUid(n), 'must not look like a UID (32 hex characters)'),
  );

/**
 * Control characters other than tab and line breaks (terminal escape sequences
 * among them: records end up in `imgctl list`), and lone UTF-16 surrogates,
 * which are no text at all and which DynamoDB refuses.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what this pattern refuses.
const UNPRINTABLE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]|\p{Cs}/u;

const text = (max: number) =>
  z.string({ error: 'must be a string or null' }).check(
    z.minLength(1, 'must not be empty (use null to clear it)'),
    z.maxLength(max, `must be at most ${max} characters`),
    z.refine((t: string) => !UNPRINTABLE.test(t), 'must not contain control characters (other than tab and line breaks) or broken UTF-16'),
  );

/** A UID or a name of another image. */
const imageRef = z
  .string({ error: 'must be a UID or a name' })
  .check(z.minLength(1, 'must not be empty'), z.maxLength(MAX_NAME_LENGTH, `must be at most ${MAX_NAME_LENGTH} characters`));

const flag = z.boolean({ error: 'must be true or false' });

export const EDITABLE = ['name', 'description', 'frozen', 'parent', 'distro'] as const;
export const READ_ONLY = ['uid', 'content', 'last_modified', 'last_modified_by', 'last_modified_on'] as const;

const fields = {
  name: imageName,
  description: z.nullable(text(4096)),
  frozen: flag,
  parent: z.nullable(imageRef),
  distro: z.nullable(text(256)),
};

export const createBody = z.strictObject({
  name: fields.name,
  description: z.optional(fields.description),
  frozen: z.optional(fields.frozen),
  parent: z.optional(fields.parent),
  distro: z.optional(fields.distro),
});

/** PUT: every editable field; absent optional ones are cleared. */
export const replaceBody = createBody;

export const patchBody = z
  .strictObject({
    name: z.optional(fields.name),
    description: z.optional(fields.description),
    frozen: z.optional(fields.frozen),
    parent: z.optional(fields.parent),
    distro: z.optional(fields.distro),
  })
  .check(z.refine((b: object) => Object.keys(b).length > 0, `give at least one of ${EDITABLE.join(', ')}`));

export const cloneBody = z.strictObject({
  name: fields.name,
  description: z.optional(fields.description),
});

/** A query parameter holding a count: decimal digits only (no "1e2", "0x10" or empty value). */
const count = (max: number) =>
  z.pipe(
    z.string().check(z.regex(/^\d{1,15}$/, 'must be a whole number')),
    z.pipe(
      z.transform((s: string) => Number(s)),
      z.number().check(z.minimum(1, 'must be at least 1'), z.maximum(max, `must be at most ${max}`)),
    ),
  );

const limit = count(1000);

const nonEmpty = z.string().check(z.minLength(1, 'must not be empty'));

/**
 * A name, UID or cursor. API Gateway joins a repeated parameter with commas,
 * which none of them contains: say so instead of matching nothing. (A distro
 * is free text and may hold a comma.)
 */
const single = z.string().check(
  z.minLength(1, 'must not be empty'),
  z.refine((v: string) => !v.includes(','), 'must be given once (a repeated parameter arrives joined with commas)'),
);

export const listQuery = z.strictObject({
  limit: z.optional(limit),
  next: z.optional(single),
  name: z.optional(single),
  parent: z.optional(single),
  distro: z.optional(nonEmpty),
});

/* Content */

const wholeNumber = (what: string, min: number, max?: number) =>
  z
    .number({ error: `${what} must be a number` })
    .check(
      z.int(`${what} must be a whole number`),
      z.minimum(min, `${what} must be at least ${min}`),
      ...(max === undefined ? [] : [z.maximum(max, `${what} must be at most ${max}`)]),
    );

/** A sha1 as hex, optionally `sha1:`-prefixed, in any case; kept as lower-case hex. */
const sha1 = z.pipe(
  z
    .string({ error: 'must be a string' })
    .check(z.regex(/^(sha1:)?[0-9a-fA-F]{40}$/, 'must be 40 hex characters, optionally prefixed "sha1:"')),
  z.transform((s: string) => s.replace(/^sha1:/, '').toLowerCase()),
);

export const startUploadBody = z.strictObject({
  size: wholeNumber('size', 1),
  sha1: z.optional(sha1),
  part_size: z.optional(wholeNumber('part_size', 1)),
  fmt: z.optional(
    z.string({ error: 'must be a string' }).check(
      z.regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'must be 1-32 lower-case letters, digits, "_" or "-"'),
      z.refine((f: string) => !(STAMP_KEYS as readonly string[]).includes(f), {
        error: `must not be one of ${STAMP_KEYS.join(', ')}: the record's content keeps its stamp under those names`,
      }),
    ),
  ),
});

/** S3's ETags are a quoted MD5 with a suffix; this bounds what a client may send back. */
const MAX_ETAG_LENGTH = 256;

export const completeUploadBody = z.strictObject({
  parts: z
    .array(
      z.strictObject({
        part_number: wholeNumber('part_number', 1, 10_000),
        etag: z
          .string({ error: 'must be a string' })
          .check(z.minLength(1, 'must not be empty'), z.maxLength(MAX_ETAG_LENGTH, `must be at most ${MAX_ETAG_LENGTH} characters`)),
      }),
      { error: 'must be a list of {part_number, etag}' },
    )
    .check(z.minLength(1, 'must list at least one part'), z.maxLength(10_000, "must list at most 10000 parts (S3's limit)")),
  /** A client that hashes while it sends can only declare the sha1 now. */
  sha1: z.optional(sha1),
});

export const downloadQuery = z.strictObject({
  redirect: z.optional(z.enum(['true', 'false'], { error: 'must be true or false' })),
  parts: z.optional(count(1000)),
});

/* Capture */

/** A node's UID or host name: recorded with the job, never contacted. */
const nodeName = z
  .string({ error: 'must be a string naming the node (its UID or host name)' })
  .check(
    z.regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'must be 1-128 letters, digits, ".", "_", ":" or "-", starting with a letter or digit'),
  );

const excludePattern = z.string({ error: 'must be a string' }).check(
  z.minLength(1, 'must not be empty'),
  z.maxLength(MAX_EXCLUDE_LENGTH, `must be at most ${MAX_EXCLUDE_LENGTH} characters`),
  z.refine((t: string) => !UNPRINTABLE.test(t) && !/[\t\n\r]/.test(t), 'must not contain control characters'),
);

/**
 * The reference page's capture body: `uid` (the node), `exclude`, `credentials`, `compress`.
 * `credentials` would be what a head node uses to log in to the node; this service never
 * connects to a node (the node runs the capture and uploads it), so it is refused rather
 * than stored where it would serve nothing.
 */
export const captureBody = z.strictObject({
  uid: nodeName,
  exclude: z.optional(
    z.pipe(
      z.union([excludePattern, z.array(excludePattern).check(z.maxLength(MAX_EXCLUDES, `must list at most ${MAX_EXCLUDES} patterns`))], {
        error: 'must be a pattern or a list of patterns (relative to the captured root, as mksquashfs -wildcards -e takes them)',
      }),
      z.transform((v: string | string[]) => (typeof v === 'string' ? [v] : v)),
    ),
  ),
  credentials: z.optional(
    z.unknown().check(
      z.refine((v: unknown) => v === null, {
        error:
          "is not accepted: this service never connects to a node, so it has no use for credentials to one; run the command the answer gives on the node instead (it authenticates with the job's own single-use credential)",
      }),
    ),
  ),
  compress: z.optional(
    z.pipe(
      z.union([z.enum(COMPRESSORS), z.boolean()], { error: `must be one of ${COMPRESSORS.join(', ')} (or true for gzip, false for none)` }),
      z.transform((v: Compressor | boolean): Compressor => (v === true ? 'gzip' : v === false ? 'none' : v)),
    ),
  ),
});
