export { splitRanges, type ByteRange } from './ranges.js';
export {
  DEFAULT_BUFFERED_RANGES,
  hashRanges,
  type FetchRange,
  type HashRangesOptions,
  type HashResult,
  type HashStats,
  type RangeBody,
} from './parallel-hash.js';
export {
  createHashingS3Client,
  hashS3Object,
  isRetryableS3Error,
  s3RangeFetcher,
  type HashingS3ClientOptions,
  type HashS3ObjectOptions,
  type HashS3ObjectResult,
  type S3RangeFetcherOptions,
} from './s3-range-fetcher.js';
export {
  HashAbortedError,
  HashDeadlineError,
  HashError,
  RangeFetchError,
  RangeLengthError,
  Sha1Error,
  type HashCheckpoint,
} from './errors.js';
export { nativeSha1, resumableSha1, type Sha1 } from './sha1.js';
