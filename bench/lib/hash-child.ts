/**
 * The hasher benchmark's child: hashes one object of the local S3 by parallel
 * ranged GETs, alone in its process, and prints what it measured as one JSON
 * line. The benchmark builds this file with the Lambda functions' esbuild
 * options (infra/bundling.ts) and runs the bundle, so what is timed is the
 * code Lambda runs. Run through tsx, the same code made a full garbage
 * collection per range and took ~40% more CPU per byte.
 *
 *   node hash-child.mjs <endpoint> <bucket> <key> <size> <concurrency> <rangeSize> [mode]
 *
 * mode: `native` (node:crypto, what a run that fits its deadline uses),
 * `checkpointed` (the same with the hasher's periodic progress callback), or
 * `resumable` (hash-wasm, its state taken at every checkpoint: what a run
 * that would not finish pays; core/uploads/finish.ts chooses), or
 * `resumable-unsaved` (hash-wasm, no checkpoints: what the resumable hash
 * costs apart from saving its state).
 */
import {
  createHashingS3Client,
  hashRanges,
  resumableSha1,
  s3RangeFetcher,
  type HashRangesOptions,
} from '../../functions/core/hashing/index.js';

const MODES = ['native', 'checkpointed', 'resumable', 'resumable-unsaved'] as const;
export type HashChildMode = (typeof MODES)[number];
/** The benchmark checkpoints far more often than the hasher (every 5 s), so that the cost shows. */
const CHECKPOINT_INTERVAL_MS = 1000;

export interface HashChildResult {
  sha1: string;
  /** From the first request to the digest. */
  ms: number;
  /** CPU time of the whole process over the same span, worker threads included. */
  cpuMs: number;
  maxRssBytes: number;
  retries: number;
  maxBufferedBytes: number;
  checkpoints: number;
}

const positive = (name: string, raw: string | undefined): number => {
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return value;
};

async function main(argv: string[]): Promise<void> {
  const [endpoint, bucket, key] = argv;
  if (!endpoint || !bucket || !key) {
    throw new Error('usage: hash-child <endpoint> <bucket> <key> <size> <concurrency> <rangeSize>');
  }
  const size = positive('size', argv[3]);
  const concurrency = positive('concurrency', argv[4]);
  const rangeSize = positive('rangeSize', argv[5]);
  const mode = (argv[6] ?? 'native') as HashChildMode;
  if (!MODES.includes(mode)) throw new Error(`unknown mode ${mode}`);
  const client = createHashingS3Client({
    concurrency,
    config: {
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    },
  });
  let checkpoints = 0;
  const saved: Uint8Array[] = [];
  const resumable = mode === 'resumable' || mode === 'resumable-unsaved';
  const checkpointed = mode === 'checkpointed' || mode === 'resumable';
  const extra: Partial<HashRangesOptions> = {
    ...(resumable ? { sha1: await resumableSha1() } : {}),
    ...(checkpointed
      ? {
          checkpointIntervalMs: CHECKPOINT_INTERVAL_MS,
          onCheckpoint: ({ state }) => {
            checkpoints++;
            if (state) saved.push(state);
          },
        }
      : {}),
  };
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const result = await hashRanges({
    size,
    rangeSize,
    concurrency,
    fetchRange: s3RangeFetcher({ client, bucket, key }),
    ...extra,
  });
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  client.destroy();
  const out: HashChildResult = {
    sha1: result.sha1,
    ms,
    cpuMs: (cpu.user + cpu.system) / 1000,
    maxRssBytes: process.resourceUsage().maxRSS * 1024, // reported in KiB
    retries: result.stats.retries,
    maxBufferedBytes: result.stats.maxBufferedBytes,
    checkpoints,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

await main(process.argv.slice(2));
