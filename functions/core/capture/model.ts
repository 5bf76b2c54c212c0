/**
 * Capture jobs: a service in AWS cannot reach into a cluster's nodes, so a
 * capture runs the other way round. An admin creates a job for an image; the
 * node runs `imgctl capture` with the job's single-use credential, builds a
 * squashfs of its root with mksquashfs and uploads it through the job's
 * routes into the image's usual upload path; the hasher checks it and
 * switches it in like any upload. The job's state follows its upload.
 */
export type { CaptureItem, CaptureState } from '../db/schema.js';

/** mksquashfs's compressors (`-comp`), and `none` (`-noI -noD -noF -noX`). */
export const COMPRESSORS = ['gzip', 'xz', 'zstd', 'lz4', 'lzo', 'none'] as const;
export type Compressor = (typeof COMPRESSORS)[number];

/** Content a capture produces: always a squashfs, checked by the hasher. */
export const CAPTURE_FMT = 'cwsquash';

export const MAX_EXCLUDES = 256;
export const MAX_EXCLUDE_LENGTH = 4096;
