/**
 * The local S3 (local/s3.ts) for benchmarks and tests: in this process with
 * `startS3rver`, or in a child process with `spawnS3rver` so that its CPU does
 * not compete with the code being measured.
 *
 * Run directly (`node --import tsx bench/lib/local-s3.ts <dir> <bucket>...`) it
 * serves until its parent goes away, and reports its endpoint over IPC.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { startLocalS3 } from '../../local/s3.js';

export interface LocalS3 {
  endpoint: string;
  close(): Promise<void>;
}

export async function startS3rver(directory: string, bucket: string): Promise<LocalS3> {
  const s3 = await startLocalS3({ directory, bucket });
  return { endpoint: s3.endpoint, close: () => s3.close() };
}

/** s3rver in a child process; it exits when closed or when this process dies. */
export async function spawnS3rver(directory: string, bucket: string): Promise<LocalS3> {
  const child = fork(fileURLToPath(import.meta.url), [directory, bucket], {
    // S3 serves from machines of its own; here the local S3 shares the two cores
    // with the code measured. Serving 1 GiB took it ~1.9 CPU-seconds with V8's
    // concurrent collector, mostly collecting the buffers of its reads, and
    // ~0.7 s with a single-threaded one.
    execArgv: ['--single-threaded-gc', '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const endpoint = await new Promise<string>((resolve, reject) => {
    child.once('message', (message) => resolve(String(message)));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`s3rver child exited early (${code})`)));
  });
  return {
    endpoint,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
}

/** A client for s3rver: its fixed credentials, path-style URLs, and no checksums it does not understand. */
export function localS3Client(endpoint: string, config: S3ClientConfig = {}): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...config,
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [directory, bucket] = process.argv.slice(2);
  if (!directory || !bucket || !process.send) {
    console.error('usage: forked with IPC, args <directory> <bucket>');
    process.exit(2);
  }
  const s3 = await startS3rver(directory, bucket);
  // Die with the parent, whatever way it goes.
  process.on('disconnect', () => process.exit(0));
  process.send(s3.endpoint);
}
