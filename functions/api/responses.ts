/**
 * What the handlers answer, as zod schemas: the source of the OpenAPI
 * description's response bodies (functions/api/openapi.ts). The handlers build
 * their answers from the core's types; the checks at the end of this file make
 * a field added to or removed from those types a compile error here, and the
 * integration tests validate every response against the generated document.
 */
import * as z from 'zod/mini';
import type { ContentEntry, ImageRecord } from '../core/images/model.js';
import type { DownloadLink } from '../core/content/service.js';
import type { SessionView } from '../core/uploads/service.js';
import type { CaptureView, StartedCapture } from '../core/capture/service.js';

const uid = z.string().check(z.regex(/^[0-9a-f]{32}$/), z.meta({ description: 'A UID: 32 lower-case hex characters.' }));
const epochSeconds = z.number().check(z.meta({ description: 'Epoch seconds (may be fractional).' }));
const chksum = z.string().check(z.regex(/^sha1:[0-9a-f]{40}$/), z.meta({ description: "`sha1:` and the file's sha1 in hex." }));

export const contentEntry = z.strictObject({
  size: z.number(),
  mtime: epochSeconds,
  chksum,
  filename: z.string(),
  uid,
});

/** `{<fmt>: entry}` plus the content's own stamp, or `{}` when the image has none. */
export const contentRecord = z.catchall(
  z.object({
    last_modified: z.optional(epochSeconds),
    last_modified_by: z.optional(z.string()),
    last_modified_on: z.optional(z.string()),
  }),
  contentEntry,
);

export const imageRecord = z.strictObject({
  uid,
  name: z.string(),
  description: z.nullable(z.string()),
  frozen: z.boolean(),
  parent: z.nullable(z.string()),
  distro: z.nullable(z.string()),
  content: contentRecord,
  last_modified: epochSeconds,
  last_modified_by: z.string(),
  last_modified_on: z.string(),
});

export const imageList = z.record(z.string(), imageRecord);

export const contentStat = z.strictObject({ size: z.number(), mtime: epochSeconds });

export const contentInfo = z.strictObject({
  size: z.number(),
  mtime: epochSeconds,
  chksum,
  refcnt: z.number(),
  fmt: z.string(),
});

export const downloadLink = z.strictObject({
  url: z.string(),
  expires: epochSeconds,
  size: z.number(),
  chksum,
  parts: z.optional(z.array(z.strictObject({ part_number: z.number(), start: z.number(), end: z.number(), range: z.string() }))),
});

export const uploadSession = z.strictObject({
  upload_id: z.string(),
  image: uid,
  state: z.enum(['uploading', 'hashing', 'ready', 'failed', 'aborted', 'expired']),
  reason: z.optional(z.string()),
  size: z.number(),
  part_size: z.number(),
  part_count: z.number(),
  fmt: z.string(),
  sha1: z.nullable(z.string()),
  hashed: z.optional(z.number().check(z.meta({ description: 'While hashing: bytes of `size` the service has hashed so far.' }))),
  stale: z.optional(
    z.boolean().check(
      z.meta({
        description: 'While hashing: nothing has moved for longer than one hasher run plus a margin; the sweeper drives it again.',
      }),
    ),
  ),
  redrives: z.optional(z.number().check(z.meta({ description: 'Re-drives so far without progress.' }))),
  max_redrives: z.optional(z.number().check(z.meta({ description: 'Re-drives without progress after which the session fails.' }))),
  parts_done: z.optional(z.array(z.strictObject({ part_number: z.number(), size: z.number(), etag: z.string() }))),
  parts: z.optional(z.array(z.strictObject({ part_number: z.number(), url: z.string() }))),
  expires: z.optional(epochSeconds),
  session_expires: epochSeconds,
});

export const captureJob = z.strictObject({
  capture_id: uid,
  image: uid,
  node: z.string().check(z.meta({ description: "The node being captured (the request's `uid`); recorded, never contacted." })),
  exclude: z
    .array(z.string())
    .check(z.meta({ description: "mksquashfs `-wildcards -e` patterns, relative to the root, on top of imgctl's defaults." })),
  compress: z.nullable(z.string()),
  state: z.enum(['pending', 'uploading', 'hashing', 'ready', 'failed']),
  reason: z.optional(z.string()),
  upload_id: z.nullable(z.string()),
  created_at: epochSeconds,
  created_by: z.string(),
  credential_expires: epochSeconds,
  ended_at: z.optional(epochSeconds),
});

export const startedCapture = z.strictObject({
  ...captureJob.shape,
  credential: z
    .string()
    .check(
      z.meta({ description: '`<capture_id>.<secret>`, shown this once: send it as `Authorization: Capture <credential>` (imgctl does).' }),
    ),
  command: z.string().check(z.meta({ description: 'The one command to run on the node.' })),
});

export const captureList = z.array(captureJob);

/** `{"success": true, "data": ...}`, as the reference page shows. */
export const success = <T extends z.core.SomeType>(data: T) => z.strictObject({ success: z.literal(true), data });

export const listSuccess = z.strictObject({
  success: z.literal(true),
  data: imageList,
  next: z.optional(z.string().check(z.meta({ description: 'Pass as `?next=` for the following page; absent on the last.' }))),
});

export const failure = z.strictObject({
  success: z.literal(false),
  reason: z.string().check(z.meta({ description: 'What went wrong and what to do.' })),
});

/* The schemas describe exactly the core's types: each must be assignable to the other. */
type Both<A, B> = [(a: A) => B, (b: B) => A];
/** The core types `content` as a loose index signature, which the schema states precisely: compare keys. */
type SameKeys<A, B> = [(a: keyof A) => keyof B, (b: keyof B) => keyof A];
export const typeChecks: [
  SameKeys<z.output<typeof imageRecord>, ImageRecord>,
  (a: z.output<typeof imageRecord>) => ImageRecord,
  Both<z.output<typeof contentEntry>, ContentEntry>,
  Both<z.output<typeof uploadSession>, SessionView>,
  // Optional fields pass Both either way: the keys must be the same too, so a field the core adds is described.
  SameKeys<z.output<typeof uploadSession>, SessionView>,
  Both<z.output<typeof downloadLink>, DownloadLink>,
  SameKeys<z.output<typeof downloadLink>, DownloadLink>,
  Both<z.output<typeof captureJob>, CaptureView>,
  SameKeys<z.output<typeof captureJob>, CaptureView>,
  Both<z.output<typeof startedCapture>, StartedCapture>,
  SameKeys<z.output<typeof startedCapture>, StartedCapture>,
] = [
  [(a) => a, (b) => b],
  (a) => a,
  [(a) => a, (b) => b],
  [(a) => a, (b) => b],
  [(a) => a, (b) => b],
  [(a) => a, (b) => b],
  [(a) => a, (b) => b],
  [(a) => a, (b) => b],
  [(a) => a, (b) => b],
  [(a) => a, (b) => b],
  [(a) => a, (b) => b],
];

export const uidData = uid;
