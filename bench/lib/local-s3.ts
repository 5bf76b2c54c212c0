/**
 * A local S3 (s3rver) for benchmarks and tests: in this process with
 * `startS3rver`, or in a child process with `spawnS3rver` so that its CPU does
 * not compete with the code being measured.
 *
 * Run directly (`node --import tsx bench/lib/local-s3.ts <dir> <bucket>...`) it
 * serves until its parent goes away, and reports its endpoint over IPC.
 */
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

interface S3rverOptions {
  port: number;
  address: string;
  silent: boolean;
  directory: string;
  configureBuckets: { name: string }[];
}
interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: S3rverOptions) => S3rverInstance;

// s3rver ships no types; loading it through require keeps this typed without a global `declare module`.
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;

export interface LocalS3 {
  endpoint: string;
  close(): Promise<void>;
}

export async function startS3rver(directory: string, buckets: string[]): Promise<LocalS3> {
  const server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const { port } = await server.run();
  return { endpoint: `http://127.0.0.1:${port}`, close: () => server.close() };
}

/** s3rver in a child process; it exits when closed or when this process dies. */
export async function spawnS3rver(directory: string, buckets: string[]): Promise<LocalS3> {
  const child = fork(fileURLToPath(import.meta.url), [directory, ...buckets], {
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
  const [directory, ...buckets] = process.argv.slice(2);
  if (!directory || !process.send) {
    console.error('usage: forked with IPC, args <directory> <bucket>...');
    process.exit(2);
  }
  const s3 = await startS3rver(directory, buckets);
  // Die with the parent, whatever way it goes.
  process.on('disconnect', () => process.exit(0));
  process.send(s3.endpoint);
}
