/**
 * `imgctl capture`: build a squashfs of a node's root with mksquashfs and
 * upload it into an image through a capture job. With an admin token,
 * `imgctl capture IMAGE` starts the job itself; on a node that has only a
 * job's credential (`--credential` or IMGCTL_CAPTURE_CREDENTIAL), the job
 * names the image. Either way the upload is the parallel multipart one of
 * `imgctl upload`, through the job's routes, and the service checks it
 * before the image switches to it.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { Api } from '../api.js';
import { Credentials } from '../auth.js';
import { loadSettings, normalizeUrl, type Connection } from '../config.js';
import { Failure, UsageError } from '../errors.js';
import { bytes, duration, table, time } from '../format.js';
import {
  buildSquashfs,
  checkSpace,
  COMPRESSORS,
  DEFAULT_COMPRESSOR,
  DEFAULT_EXCLUDES,
  mksquashfsVersion,
  relativePattern,
} from '../capture/squashfs.js';
import type { GlobalOptions } from '../program.js';
import type { CaptureJob } from '../types.js';
import { uploadVia, type UploadChannel } from '../transfer/upload.js';
import { DEFAULTS } from './content.js';
import { intOption, rateOption, type ContextOf } from './shared.js';

const CREDENTIAL_ENV = 'IMGCTL_CAPTURE_CREDENTIAL';
const CREDENTIAL = /^([0-9a-f]{32})\.[A-Za-z0-9_-]{43}$/;

interface CaptureOptions {
  root: string;
  exclude: string[];
  compress?: (typeof COMPRESSORS)[number];
  credential?: string;
  node?: string;
  tmpDir?: string;
  concurrency: number;
  retries: number;
  waitTimeout: number;
  limitRate?: number;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function register(program: Command, ctx: ContextOf): void {
  program
    .command('captures')
    .description("an image's capture jobs and their state")
    .argument('<image>', 'UID or name')
    .action(async (image: string, _o: object, cmd: Command) => {
      const c = ctx(cmd);
      const jobs = await (await c.api()).listCaptures(image);
      c.out.print(c.out.json ? JSON.stringify(jobs, null, 2) : jobTable(jobs));
    });

  program
    .command('revoke-capture')
    .description('revoke a capture job whose credential was not used up (its open upload is aborted)')
    .argument('<image>', 'UID or name')
    .argument('<capture_id>', 'the job')
    .action(async (image: string, captureId: string, _o: object, cmd: Command) => {
      const c = ctx(cmd);
      const job = await (await c.api()).revokeCapture(image, captureId);
      c.out.print(c.out.json ? JSON.stringify(job, null, 2) : `capture ${job.capture_id}: ${job.state} (${job.reason ?? ''})`);
    });

  program
    .command('capture')
    .description(
      "capture a node's root file system into an image: mksquashfs, then a checked upload (admin token, or a capture job's credential)",
    )
    .argument('[image]', 'UID or name (with an admin token; with a credential the job names the image)')
    .option('--root <dir>', 'the tree to capture', '/')
    .option('--exclude <pattern>', 'leave out PATTERN, relative to the root (mksquashfs -wildcards); repeatable', collect, [])
    .addOption(new Option('--compress <comp>', `compression (default: the job's, else ${DEFAULT_COMPRESSOR})`).choices(COMPRESSORS))
    .option('--credential <id.secret>', `a capture job's credential (or ${CREDENTIAL_ENV}, which keeps it out of ps)`)
    .option('--node <name>', 'with an admin token: the node recorded on the job (default: this host name)')
    .option('--tmp-dir <dir>', 'where the squashfs is built (default: TMPDIR or /tmp); it needs room for it')
    .option('-c, --concurrency <n>', 'parts in flight at once', intOption(1, 64), DEFAULTS.uploadConcurrency)
    .option('--retries <n>', 'retries per part, with backoff', intOption(0, 100), DEFAULTS.retries)
    .option('--wait-timeout <minutes>', "how long to wait for the service's check", intOption(1), DEFAULTS.waitMinutes)
    .option('--limit-rate <rate>', 'at most RATE bytes/s for the upload, e.g. 20M', rateOption)
    .action(async (image: string | undefined, o: CaptureOptions, cmd: Command) => {
      const c = ctx(cmd);
      const credential = o.credential ?? (process.env[CREDENTIAL_ENV] || undefined);
      if (credential !== undefined && image !== undefined) {
        throw new UsageError(`give IMAGE (with an admin token) or a capture credential, not both: the credential's job names its image`);
      }
      if (credential === undefined && image === undefined) {
        throw new UsageError(
          `name the IMAGE to capture into (with an admin token), or give a capture job's credential (--credential or ${CREDENTIAL_ENV})`,
        );
      }
      // Before anything is asked of the service: the tool and the tree are there.
      const version = await mksquashfsVersion();
      const root = resolve(o.root);
      const rootStat = await stat(root).catch(() => undefined);
      if (!rootStat?.isDirectory()) throw new UsageError(`--root ${o.root} is not a directory`);
      const mine = o.exclude.map(relativePattern);

      let secret = credential;
      let created: CaptureJob | undefined;
      if (secret === undefined) {
        const api = await c.api();
        const job = await api.startCapture(image ?? '', {
          uid: o.node ?? hostname().split('.')[0] ?? 'node',
          ...(mine.length > 0 ? { exclude: mine } : {}),
          ...(o.compress !== undefined ? { compress: o.compress } : {}),
        });
        c.out.note(`started capture ${job.capture_id} of image ${job.image} for node ${job.node}`);
        secret = job.credential;
        created = job;
      }
      const m = CREDENTIAL.exec(secret.trim());
      if (!m?.[1]) throw new UsageError("the capture credential must be <capture id>.<secret>, as the job's command gives it");
      const captureId = m[1];
      const api = new Api(await captureConnection(cmd, secret.trim()), { log: (line) => c.out.debug(line) });

      // The answer that started the job is the job; a job of a given credential is asked for.
      const job = created ?? (await api.captureStatus(captureId));
      if (job.state !== 'pending' && job.state !== 'uploading') {
        throw new Failure(`capture ${captureId} is ${job.state}${job.reason ? ` (${job.reason})` : ''}; ask for a new job`);
      }
      const compress = o.compress ?? (job.compress as CaptureOptions['compress'] | null) ?? DEFAULT_COMPRESSOR;
      const base = resolve(o.tmpDir ?? tmpdir());
      const work = await mkdtemp(join(base, 'imgctl-capture-'));
      // The squashfs must not capture itself when it is built inside the tree.
      const inside = relative(root, work);
      const excludes = [...new Set([...DEFAULT_EXCLUDES, ...job.exclude, ...mine, ...(inside.startsWith('..') ? [] : [inside])])];
      const started = performance.now();
      try {
        const space = await checkSpace(root, work);
        c.out.note(
          `${version}: building the squashfs of ${root} (about ${bytes(space.tree)} in ${space.files} entries, ${compress}) in ${work}`,
        );
        const file = join(work, 'capture.squashfs');
        await buildSquashfs({ root, out: file, excludes, compress, workDir: work, progress: c.out.progress });
        const size = (await stat(file)).size;
        c.out.note(`squashfs: ${bytes(size)}; uploading it into image ${job.image}`);
        const result = await uploadVia(captureChannel(api, captureId), c.out, file, {
          concurrency: o.concurrency,
          retries: o.retries,
          wait: true,
          waitTimeoutMs: o.waitTimeout * 60_000,
          restart: false,
          ...(o.limitRate !== undefined ? { limitRate: o.limitRate } : {}),
        });
        const ended = await api.captureStatus(captureId);
        const report = {
          capture_id: captureId,
          image: job.image,
          root,
          compress,
          excludes,
          size: result.size,
          chksum: result.chksum ?? `sha1:${result.sha1}`,
          state: ended.state,
          seconds: (performance.now() - started) / 1000,
        };
        if (c.out.json) c.out.print(JSON.stringify(report, null, 2));
        else
          c.out.print(
            `${root}: captured into image ${job.image}, ${bytes(report.size)} ${compress} squashfs, ${report.chksum} checked by the service (${duration(report.seconds)})`,
          );
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    });
}

/** The API with the job's credential: `Authorization: Capture <id>.<secret>`, never a token. */
async function captureConnection(cmd: Command, credential: string): Promise<Connection> {
  const settings = await loadSettings(cmd.optsWithGlobals<GlobalOptions>(), { ignoreBrokenFile: true });
  if (!settings.url) throw new UsageError("no API URL: pass --url (the job's command has it) or set IMGCTL_URL");
  return { url: normalizeUrl(settings.url.value), credentials: new Credentials(credential), scheme: 'Capture' };
}

/** The job's routes for the upload path of `imgctl upload`. */
function captureChannel(api: Api, captureId: string): UploadChannel {
  return {
    key: `capture-${captureId}`,
    ...api.captureUploads(captureId),
    hints: {
      resume: 'the capture stops here; run the same imgctl capture again to build and upload it anew',
      check: `the service is checking the capture; its job shows the outcome (imgctl captures IMAGE)`,
      restart: 'imgctl capture again with the same credential (it is good until the upload completes)',
    },
  };
}

function jobTable(jobs: CaptureJob[]): string {
  if (jobs.length === 0) return 'no capture jobs';
  return table(
    ['CAPTURE', 'NODE', 'STATE', 'CREATED', 'BY', 'REASON'],
    jobs.map((j) => [j.capture_id, j.node, j.state, time(j.created_at), j.created_by, j.reason ?? '']),
  );
}
