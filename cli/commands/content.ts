/** Content: stat, info, upload, download. */
import type { Command } from 'commander';
import { bytes, duration, fields, time } from '../format.js';
import { defaultTarget, download } from '../transfer/download.js';
import { upload } from '../transfer/upload.js';
import { intOption, partSizeOption, rateOption, sizeOption, type ContextOf } from './shared.js';

export const DEFAULTS = {
  // Measured against the local S3 (bench/imgctl.bench.ts); raise -c on a long fat link to AWS.
  uploadConcurrency: 4,
  downloadConcurrency: 4,
  chunkSize: 16 * 1024 * 1024,
  retries: 6,
  waitMinutes: 60,
};

export function register(program: Command, ctx: ContextOf): void {
  program
    .command('stat')
    .description("the content's size and mtime")
    .argument('<image>', 'UID or name')
    .action(async (id: string, _o: object, cmd: Command) => {
      const c = ctx(cmd);
      const s = await (await c.api()).stat(id);
      c.out.print(
        c.out.json
          ? JSON.stringify(s, null, 2)
          : fields([
              ['size', `${bytes(s.size)} (${s.size} bytes)`],
              ['mtime', time(s.mtime)],
            ]),
      );
    });

  program
    .command('info')
    .description("the content's size, mtime, checksum, reference count and format")
    .argument('<image>', 'UID or name')
    .action(async (id: string, _o: object, cmd: Command) => {
      const c = ctx(cmd);
      const i = await (await c.api()).info(id);
      c.out.print(
        c.out.json
          ? JSON.stringify(i, null, 2)
          : fields([
              ['size', `${bytes(i.size)} (${i.size} bytes)`],
              ['mtime', time(i.mtime)],
              ['chksum', i.chksum],
              ['refcnt', String(i.refcnt)],
              ['fmt', i.fmt],
            ]),
      );
    });

  program
    .command('upload')
    .description("replace an image's content with FILE (parallel, resumable: run it again after an interruption)")
    .argument('<image>', 'UID or name')
    .argument('<file>', 'the image file')
    .option('-c, --concurrency <n>', 'parts in flight at once', intOption(1, 64), DEFAULTS.uploadConcurrency)
    .option('--part-size <size>', 'bytes per part, 5M to 5G, e.g. 64M (default: the service chooses, 64 MiB)', partSizeOption)
    .option('--fmt <fmt>', 'content format (default cwsquash)')
    .option('--retries <n>', 'retries per part, with backoff', intOption(0, 100), DEFAULTS.retries)
    .option('--no-wait', "return once the upload is complete, without waiting for the service's check")
    .option('--wait-timeout <minutes>', "how long to wait for the service's check", intOption(1), DEFAULTS.waitMinutes)
    .option('--restart', 'discard an interrupted upload of this image and start over')
    .option('--limit-rate <rate>', 'at most RATE bytes/s for the whole upload, e.g. 20M (k, M, G: 1024-based, as curl)', rateOption)
    .action(
      async (
        id: string,
        file: string,
        o: {
          concurrency: number;
          partSize?: number;
          fmt?: string;
          retries: number;
          wait: boolean;
          waitTimeout: number;
          restart?: boolean;
          limitRate?: number;
        },
        cmd: Command,
      ) => {
        const c = ctx(cmd);
        const r = await upload(await c.api(), c.out, id, file, {
          concurrency: o.concurrency,
          ...(o.partSize !== undefined ? { partSize: o.partSize } : {}),
          ...(o.fmt !== undefined ? { fmt: o.fmt } : {}),
          retries: o.retries,
          wait: o.wait,
          waitTimeoutMs: o.waitTimeout * 60_000,
          restart: o.restart === true,
          ...(o.limitRate !== undefined ? { limitRate: o.limitRate } : {}),
        });
        if (c.out.json) c.out.print(JSON.stringify(r, null, 2));
        else if (r.state === 'ready')
          c.out.print(`${file}: ${bytes(r.size)} uploaded to ${id}, ${r.chksum ?? ''} checked by the service (${duration(r.seconds)})`);
        else c.out.print(`${file}: ${bytes(r.size)} uploaded to ${id}; the service is checking it (upload ${r.upload_id})`);
      },
    );

  program
    .command('download')
    .description("download an image's content (parallel ranges, resumable, sha1 checked)")
    .argument('<image>', 'UID or name')
    .argument('[file]', 'target file (default: <name>.<fmt> here)')
    .option('-c, --concurrency <n>', 'ranges in flight at once', intOption(1, 64), DEFAULTS.downloadConcurrency)
    .option('--chunk-size <size>', 'bytes per range request, e.g. 16M', sizeOption, DEFAULTS.chunkSize)
    .option('--retries <n>', 'retries per range, with backoff', intOption(0, 100), DEFAULTS.retries)
    .option('-f, --force', 'overwrite FILE if it exists (a partial download is resumed without it)')
    .option('--limit-rate <rate>', 'at most RATE bytes/s for the whole download, e.g. 20M (k, M, G: 1024-based, as curl)', rateOption)
    .action(
      async (
        id: string,
        file: string | undefined,
        o: { concurrency: number; chunkSize: number; retries: number; force?: boolean; limitRate?: number },
        cmd: Command,
      ) => {
        const c = ctx(cmd);
        const api = await c.api();
        const target = await defaultTarget(api, id);
        const r = await download(api, c.out, target.uid, file ?? target.file, {
          concurrency: o.concurrency,
          chunkSize: o.chunkSize,
          retries: o.retries,
          force: o.force === true,
          ...(o.limitRate !== undefined ? { limitRate: o.limitRate } : {}),
        });
        if (c.out.json) c.out.print(JSON.stringify(r, null, 2));
        else c.out.print(`${r.file}: ${bytes(r.size)}, ${r.chksum} verified (${duration(r.seconds)})`);
      },
    );
}
