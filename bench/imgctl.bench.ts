/**
 * imgctl against `aws s3 cp` and rclone: upload and download of a 1 GiB
 * random file through the local stack (imgctl: API + presigned part URLs; the
 * peers: straight to the same local S3), in the same run, best of RUNS each.
 * Targets: upload ≥ 1.5 × aws s3 cp and ≥ 1.0 × rclone, download ≥ 1.0 × both.
 *
 * imgctl's upload time covers what the command does before it returns with
 * --no-wait: the session, one read of the file that both hashes it (sha1,
 * sent with the completion as the expected checksum) and fills the parts
 * sent in parallel, and the completion (S3 assembling the object). The
 * service's own check afterwards (the hasher re-reading the object) has no
 * counterpart in `aws s3 cp`; it is measured once on its own line. Download
 * times include imgctl's sha1 verification. Between runs the stack is let
 * settle so that no hasher competes with the next measurement. The upload's
 * peak RSS (GNU time, when installed) shows the part buffers' bound:
 * (concurrency + 1) × part size, 5 × 64 MiB with the defaults.
 *
 * `aws` is Debian's awscli (/usr/bin/aws, AWS CLI v2), installed with apt-get
 * when missing (as root); without it the comparison is skipped, not failed.
 * An `aws` found elsewhere on PATH (a pip-installed v1, say) is not used: it is
 * a different client with different defaults (v1 adds a CRC32 to every part).
 *
 * rclone is Debian's rclone package (/usr/bin/rclone), installed the same way,
 * run with its fastest multi-thread settings at imgctl's concurrency and part
 * size: uploads in 64 MiB chunks, `-c` at once, without the MD5 it would
 * otherwise compute in a pass of its own (--s3-disable-checksum); downloads
 * in `-c` streams (--multi-thread-streams, cutoff below the file size). It
 * refuses to talk to an endpoint while AWS_CA_BUNDLE is set, so it runs
 * without it. rclone checks neither direction end to end; imgctl does (sha1),
 * so the download is also timed as rclone followed by `sha1sum`, the check a
 * user of rclone would add.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULTS } from '../cli/commands/content.js';
import { startLocalStack } from '../local/stack.js';
import { fmt, GiB, MiB, mbPerSec, timeCommand, verdict, type TimedRun } from './lib/measure.js';
import { contentKey } from '../functions/core/db/schema.js';

const SIZE = GiB;
const RUNS = 3;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const IMGCTL = join(root, 'cli/bin/imgctl.js');
const GNU_TIME = '/usr/bin/time';
/** Where Debian's awscli and rclone packages put their commands. */
const AWS = '/usr/bin/aws';
const RCLONE = '/usr/bin/rclone';

/** The first line `COMMAND --version` prints, or undefined when it is not installed. */
function versionOf(command: string): string | undefined {
  const run = spawnSync(command, ['--version'], { encoding: 'utf8' });
  return run.status === 0 ? run.stdout.trim().split('\n')[0] : undefined;
}

/** A Debian package's command (its version), installing the package if it is missing and we may. */
function ensurePackage(command: string, pkg: string): string | undefined {
  const found = versionOf(command);
  if (found) return found;
  if (process.getuid?.() !== 0 || spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status !== 0) {
    console.log(`${pkg} missing and apt-get unavailable (or not root): skipping the comparison with it`);
    return undefined;
  }
  console.log(`${pkg} missing: apt-get install ${pkg} ...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  spawnSync('apt-get', ['install', '-y', '-qq', pkg], { stdio: 'inherit', env });
  const installed = versionOf(command);
  if (!installed) console.log(`${pkg} could not be installed: skipping the comparison with it`);
  return installed;
}

async function writeRandomFile(path: string, size: number): Promise<void> {
  const fh = await open(path, 'w');
  try {
    const block = 64 * MiB;
    for (let off = 0; off < size; off += block) {
      const n = Math.min(block, size - off);
      await fh.write(randomBytes(n), 0, n, off);
    }
  } finally {
    await fh.close();
  }
}

const dir = await mkdtemp(join(tmpdir(), 'imgctl-bench-'));
const stack = await startLocalStack({ dataDir: join(dir, 'stack'), port: 0 });
try {
  const token = await stack.token('bench', { admin: true });
  const home = join(dir, 'home');
  const env = {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_STATE_HOME: join(home, '.state'),
    IMGCTL_URL: stack.apiUrl,
    IMGCTL_TOKEN: token,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_DEFAULT_REGION: 'us-east-1',
    // rclone's remote "bench:", configured from the environment alone.
    RCLONE_CONFIG_BENCH_TYPE: 's3',
    RCLONE_CONFIG_BENCH_PROVIDER: 'Other',
    RCLONE_CONFIG_BENCH_ENDPOINT: stack.s3Endpoint,
    RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: 'S3RVER',
    RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: 'S3RVER',
    RCLONE_CONFIG_BENCH_REGION: 'us-east-1',
  };
  Object.assign(process.env, env);
  const imgctl = (...args: string[]) => timeCommand(process.execPath, [IMGCTL, '--quiet', ...args]);

  // Random bytes are not a squashfs file: uploaded as fmt raw, which the service stores as declared.
  const file = join(dir, 'image.bin');
  await writeRandomFile(file, SIZE);
  await imgctl('create', 'BenchImage');

  /**
   * No hasher still reading the last upload while the next run is timed, and
   * no write-back of the gigabytes the last run wrote: flushed here, it would
   * otherwise take CPU and disk from whichever run comes next.
   */
  const settle = async () => {
    await stack.settled();
    spawnSync('sync');
    await new Promise((r) => setTimeout(r, 500));
  };

  const peer = ensurePackage(AWS, 'awscli');
  const awsOk = peer !== undefined;
  if (peer) console.log(`peer: ${peer}`);
  const aws = (...args: string[]) => timeCommand(AWS, ['s3', 'cp', ...args, '--endpoint-url', stack.s3Endpoint, '--only-show-errors']);
  const rcloneVersion = ensurePackage(RCLONE, 'rclone');
  const rcloneOk = rcloneVersion !== undefined;
  if (rcloneVersion) console.log(`peer: ${rcloneVersion}`);
  const c = String(DEFAULTS.uploadConcurrency);
  // rclone will not use an S3 endpoint while AWS_CA_BUNDLE is set (env -u drops it for rclone alone).
  const rclone = (...args: string[]) =>
    timeCommand('/usr/bin/env', ['-u', 'AWS_CA_BUNDLE', RCLONE, 'copyto', '--quiet', '--s3-no-check-bucket', ...args]);
  const rcloneUpload = (from: string, to: string) =>
    // --ignore-times: copy even though the target looks the same as the source.
    rclone('--ignore-times', '--s3-upload-concurrency', c, '--s3-chunk-size', '64M', '--s3-disable-checksum', from, to);
  const rcloneDownload = (from: string, to: string) =>
    rclone('--multi-thread-streams', String(DEFAULTS.downloadConcurrency), '--multi-thread-cutoff', '64M', from, to);

  /** A timed run, with the CPU the stack (in this process: gateway, handlers, local S3) spent meanwhile. */
  interface Measured extends TimedRun {
    stackCpuS: number;
  }
  const measure = async (fn: () => Promise<TimedRun>): Promise<Measured> => {
    await settle();
    const cpu = process.cpuUsage();
    const run = await fn();
    const used = process.cpuUsage(cpu);
    return { ...run, stackCpuS: (used.user + used.system) / 1e6 };
  };
  const keepBest = (a: Measured | undefined, b: Measured): Measured => (a && a.ms <= b.ms ? a : b);

  // Alternate the tools so that drift (page cache, disk write-back) hits both alike.
  let upload: Measured | undefined;
  let awsUp: Measured | undefined;
  let rcloneUp: Measured | undefined;
  // Random bytes are no squashfs: the bench uploads them as raw.
  const uploadArgs = ['upload', 'BenchImage', file, '--fmt', 'raw', '--restart'];
  for (let i = 0; i < RUNS; i++) {
    upload = keepBest(upload, await measure(() => imgctl(...uploadArgs, '--no-wait')));
    if (awsOk) awsUp = keepBest(awsUp, await measure(() => aws(file, `s3://${stack.bucket}/bench/aws-upload.bin`)));
    if (rcloneOk) rcloneUp = keepBest(rcloneUp, await measure(() => rcloneUpload(file, `bench:${stack.bucket}/bench/rclone-upload.bin`)));
  }
  // The same command, waiting for the service's check (what a user runs),
  // under GNU time for its peak memory (the part buffers dominate it).
  const rssFile = join(dir, 'upload.maxrss');
  const withRss = spawnSync(GNU_TIME, ['--version'], { stdio: 'ignore' }).status === 0;
  const full = await measure(() =>
    withRss
      ? timeCommand(GNU_TIME, ['-f', '%M', '-o', rssFile, process.execPath, IMGCTL, '--quiet', ...uploadArgs])
      : imgctl(...uploadArgs),
  );
  const peakRssMiB = withRss ? Number((await readFile(rssFile, 'utf8')).trim().split('\n').at(-1)) / 1024 : undefined;
  await settle();
  const info = JSON.parse((await imgctl('--json', 'info', 'BenchImage')).stdout) as { chksum: string; size: number };
  if (info.size !== SIZE) throw new Error(`the service reports ${info.size} bytes, not ${SIZE}`);
  const record = JSON.parse((await imgctl('--json', 'show', 'BenchImage')).stdout) as { content: Record<string, unknown> };
  const entry = Object.values(record.content).find((c): c is { uid: string } => typeof c === 'object' && c !== null && 'uid' in c);
  if (!entry) throw new Error('the image has no content file uid');

  const target = join(dir, 'download.bin');
  const awsTarget = join(dir, 'aws-download.bin');
  const rcloneTarget = join(dir, 'rclone-download.bin');
  let download: Measured | undefined;
  let awsDown: Measured | undefined;
  let rcloneDown: Measured | undefined;
  let rcloneChecked: Measured | undefined;
  for (let i = 0; i < RUNS; i++) {
    await rm(target, { force: true });
    download = keepBest(download, await measure(() => imgctl('download', 'BenchImage', target)));
    if (awsOk) {
      await rm(awsTarget, { force: true });
      awsDown = keepBest(awsDown, await measure(() => aws(`s3://${stack.bucket}/${contentKey(entry.uid)}`, awsTarget)));
    }
    if (rcloneOk) {
      await rm(rcloneTarget, { force: true });
      rcloneDown = keepBest(
        rcloneDown,
        await measure(() => rcloneDownload(`bench:${stack.bucket}/${contentKey(entry.uid)}`, rcloneTarget)),
      );
      // The same download checked as imgctl checks it: rclone, then sha1sum against the service's chksum.
      await rm(rcloneTarget, { force: true });
      rcloneChecked = keepBest(
        rcloneChecked,
        await measure(async () => {
          const fetched = await rcloneDownload(`bench:${stack.bucket}/${contentKey(entry.uid)}`, rcloneTarget);
          const summed = await timeCommand('sha1sum', [rcloneTarget]);
          if (`sha1:${summed.stdout.split(' ')[0]}` !== info.chksum) throw new Error('rclone downloaded other bytes');
          return { ms: fetched.ms + summed.ms, stdout: '' };
        }),
      );
    }
  }
  if (!upload || !download) throw new Error('no runs');

  const row = (name: string, r: Measured) =>
    console.log(
      `${name.padEnd(50)} ${fmt(r.ms / 1000, 2).padStart(6)} s  ${fmt(mbPerSec(SIZE, r.ms)).padStart(6)} MB/s   stack CPU ${fmt(r.stackCpuS).padStart(5)} s`,
    );
  console.log(`1 GiB through the local stack, best of ${RUNS} (2 cores: the local S3 is one Node.js thread)`);
  row('imgctl upload --no-wait (one read: sha1 + parts)', upload);
  row('imgctl upload (+ waiting for the service sha1 check)', full);
  if (peakRssMiB !== undefined) {
    // 64 MiB: the service's default part size, which the benchmark keeps.
    const c = DEFAULTS.uploadConcurrency;
    console.log(`imgctl upload peak RSS ${fmt(peakRssMiB, 0)} MiB (part buffers at most (${c} + 1) × 64 MiB = ${(c + 1) * 64} MiB)`);
  }
  if (awsUp) row('aws s3 cp upload', awsUp);
  if (rcloneUp) row(`rclone copyto upload (${c} × 64 MiB chunks, no MD5)`, rcloneUp);
  row('imgctl download (parallel ranges + sha1 check)', download);
  if (awsDown) row('aws s3 cp download', awsDown);
  if (rcloneDown) row(`rclone copyto download (${DEFAULTS.downloadConcurrency} streams, no check)`, rcloneDown);
  if (rcloneChecked) row('rclone copyto download, then sha1sum', rcloneChecked);
  if (awsUp && awsDown) {
    const up = awsUp.ms / upload.ms;
    const down = awsDown.ms / download.ms;
    console.log(`upload ratio ${fmt(up, 2)} × aws s3 cp (target ≥ 1.5: ${verdict(up, 1.5)})`);
    console.log(`download ratio ${fmt(down, 2)} × aws s3 cp (target ≥ 1.0: ${verdict(down, 1.0)})`);
    console.log(`(upload ratio counting the service's check too: ${fmt(awsUp.ms / full.ms, 2)})`);
  }
  if (rcloneUp && rcloneDown) {
    const up = rcloneUp.ms / upload.ms;
    const down = rcloneDown.ms / download.ms;
    console.log(`upload ratio ${fmt(up, 2)} × rclone (target ≥ 1.0: ${verdict(up, 1.0)})`);
    console.log(`download ratio ${fmt(down, 2)} × rclone (target ≥ 1.0: ${verdict(down, 1.0)})`);
    if (rcloneChecked) {
      const checked = rcloneChecked.ms / download.ms;
      console.log(
        `download ratio ${fmt(checked, 2)} × rclone + sha1sum (both end with the file's sha1 checked; rclone alone checks nothing here)`,
      );
    }
  }
} finally {
  await stack.stop();
  await rm(dir, { recursive: true, force: true });
}
