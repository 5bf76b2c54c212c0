/**
 * `imgctl upload`: hash the file (sha1, sent as the expected checksum so the
 * service refuses bytes that differ), open an upload session, PUT the parts
 * in parallel straight to S3, complete, wait for the service's own hash and
 * compare it. The session and the file's identity are saved before the first
 * byte moves, so a run that dies is resumed by running the same command: the
 * session route tells which parts S3 already holds and only the rest go.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Api } from '../api.js';
import { killAfter, setInterruptHint, type Output } from '../context.js';
import { Failure, RequestRefused, UsageError, VerificationFailed } from '../errors.js';
import { bytes, duration, rate } from '../format.js';
import { Progress } from '../progress.js';
import type { UploadSession } from '../types.js';
import { sha1File } from './hash.js';
import { isExpiredUrl, putFileRange } from './http.js';
import { pool, withRetry } from './retry.js';
import {
  loadUploadRecord,
  removeUploadRecord,
  sameFile,
  saveUploadRecord,
  type FileIdentity,
  type UploadRecord,
} from './state.js';

export interface UploadOptions {
  concurrency: number;
  partSize?: number;
  fmt?: string;
  retries: number;
  wait: boolean;
  waitTimeoutMs: number;
  restart: boolean;
}

export interface UploadResult {
  image: string;
  upload_id: string;
  size: number;
  sha1: string;
  state: string;
  chksum?: string;
  parts_sent: number;
  parts_resumed: number;
  seconds: number;
}

const TERMINAL = new Set(['ready', 'failed', 'aborted', 'expired']);

export async function upload(api: Api, out: Output, id: string, file: string, options: UploadOptions): Promise<UploadResult> {
  const started = performance.now();
  const identity = await identify(file);
  const image = await api.getImage(id);
  const uid = image.uid;

  let record = await loadUploadRecord(uid);
  let session: UploadSession | undefined;
  if (record) {
    const found = await reuse(api, out, record, identity, options.restart);
    if (found) session = found;
    else {
      await removeUploadRecord(uid);
      record = undefined;
    }
  }

  if (!record || !session) {
    const sha1 = await hashWithProgress(identity, out);
    const again = await identify(file);
    if (!sameFile(again, identity)) throw new Failure(`${file} changed while it was being read; upload it when it is no longer written to`);
    session = await api.startUpload(uid, {
      size: identity.size,
      sha1,
      ...(options.partSize !== undefined ? { part_size: options.partSize } : {}),
      ...(options.fmt !== undefined ? { fmt: options.fmt } : {}),
    });
    record = {
      version: 1,
      image: uid,
      upload_id: session.upload_id,
      sha1,
      part_size: session.part_size,
      started_at: new Date().toISOString(),
      ...identity,
    };
    await saveUploadRecord(record);
    out.debug(`started upload ${session.upload_id}: ${session.part_count} parts of ${bytes(session.part_size)}`);
  }

  let partsSent = 0;
  let partsResumed = 0;
  if (session.state === 'uploading') {
    setInterruptHint(`the upload stays open; run \`imgctl upload ${id} ${file}\` again to resume it`);
    const sent = await sendParts(api, out, uid, identity.path, session, options);
    partsSent = sent.sent;
    partsResumed = sent.resumed;
    session = await api.completeUpload(uid, session.upload_id, sent.parts);
    out.debug(`completed upload ${session.upload_id}; state ${session.state}`);
  }
  setInterruptHint(
    `the service is checking the upload; \`imgctl upload ${id} ${file}\` again waits for the result, \`imgctl info ${id}\` shows the content`,
  );

  const result: UploadResult = {
    image: uid,
    upload_id: session.upload_id,
    size: identity.size,
    sha1: record.sha1,
    state: session.state,
    parts_sent: partsSent,
    parts_resumed: partsResumed,
    seconds: 0,
  };
  if (!options.wait && !TERMINAL.has(session.state)) {
    result.seconds = (performance.now() - started) / 1000;
    return result;
  }

  session = await waitForResult(api, out, uid, session, options.waitTimeoutMs);
  await removeUploadRecord(uid);
  result.state = session.state;
  if (session.state !== 'ready') {
    const reason = session.reason ?? `the upload ended ${session.state}`;
    if (/sha1 mismatch/i.test(reason)) throw new VerificationFailed(`upload ${session.upload_id} failed verification: ${reason}`);
    throw new RequestRefused(409, `upload ${session.upload_id} ${session.state}: ${reason}`);
  }
  const info = await api.info(uid);
  result.chksum = info.chksum;
  result.seconds = (performance.now() - started) / 1000;
  if (info.chksum !== `sha1:${record.sha1}`) {
    throw new VerificationFailed(`the service reports ${info.chksum} for ${image.name}, but ${file} hashes to sha1:${record.sha1}`);
  }
  return result;
}

async function identify(file: string): Promise<FileIdentity> {
  const path = resolve(file);
  let s;
  try {
    s = await stat(path);
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (!s.isFile()) throw new UsageError(`${file} is not a regular file`);
  if (s.size === 0) throw new UsageError(`${file} is empty; an image needs at least one byte`);
  return { path, size: s.size, mtimeMs: s.mtimeMs };
}

/** The saved session if it is still usable for this file; aborts it when the file is another. */
async function reuse(
  api: Api,
  out: Output,
  record: UploadRecord,
  identity: FileIdentity,
  restart: boolean,
): Promise<UploadSession | undefined> {
  if (restart || !sameFile(record, identity)) {
    out.note(
      restart
        ? `discarding the interrupted upload ${record.upload_id}`
        : `the interrupted upload ${record.upload_id} was for ${record.path} (${bytes(record.size)}, another file or since changed); starting over`,
    );
    await api.abortUpload(record.image, record.upload_id).catch(() => undefined);
    return undefined;
  }
  let session: UploadSession;
  try {
    session = await api.describeUpload(record.image, record.upload_id);
  } catch (error) {
    if (error instanceof RequestRefused && error.status === 404) {
      out.note(`the interrupted upload ${record.upload_id} is gone; starting over`);
      return undefined;
    }
    throw error;
  }
  if (session.state === 'uploading' || session.state === 'hashing' || session.state === 'ready') {
    if (session.state === 'uploading') {
      const have = session.parts_done?.length ?? 0;
      out.note(`resuming upload ${session.upload_id}: S3 holds ${have} of ${session.part_count} parts`);
    }
    return session;
  }
  out.note(`the interrupted upload ${record.upload_id} is ${session.state}${session.reason ? ` (${session.reason})` : ''}; starting over`);
  return undefined;
}

async function hashWithProgress(identity: FileIdentity, out: Output): Promise<string> {
  const bar = new Progress(identity.size, 'sha1     ', { enabled: out.progress });
  try {
    const sha1 = await sha1File(identity.path, (n) => bar.add(n));
    out.debug(`sha1 ${sha1} (${bytes(identity.size)} in ${duration(bar.elapsedSeconds())})`);
    return sha1;
  } finally {
    bar.stop();
  }
}

const expectedSize = (s: UploadSession, n: number): number => (n < s.part_count ? s.part_size : s.size - s.part_size * (s.part_count - 1));

async function sendParts(
  api: Api,
  out: Output,
  uid: string,
  path: string,
  session: UploadSession,
  options: UploadOptions,
): Promise<{ parts: { part_number: number; etag: string }[]; sent: number; resumed: number }> {
  const etags = new Map<number, string>();
  for (const p of session.parts_done ?? []) if (p.size === expectedSize(session, p.part_number)) etags.set(p.part_number, p.etag);
  const resumed = etags.size;
  const todo: number[] = [];
  for (let n = 1; n <= session.part_count; n++) if (!etags.has(n)) todo.push(n);

  const urls = new Map<number, string>((session.parts ?? []).map((p) => [p.part_number, p.url]));
  let urlsExpire = session.expires ?? 0;
  let renewing: Promise<void> | undefined;
  const renew = (): Promise<void> =>
    (renewing ??= (async () => {
      const fresh = await api.describeUpload(uid, session.upload_id);
      if (fresh.state !== 'uploading') throw new Failure(`upload ${session.upload_id} is ${fresh.state}; it can no longer take parts`);
      for (const p of fresh.parts ?? []) urls.set(p.part_number, p.url);
      urlsExpire = fresh.expires ?? 0;
      out.debug(`renewed ${fresh.parts?.length ?? 0} part URLs`);
    })().finally(() => {
      renewing = undefined;
    }));
  const urlFor = async (n: number): Promise<string> => {
    // Renew a minute early: a 64 MiB part on a slow link takes a while.
    if (!urls.has(n) || Date.now() / 1000 > urlsExpire - 60) await renew();
    const url = urls.get(n);
    if (url === undefined) throw new Failure(`the service gave no URL for part ${n}`);
    return url;
  };

  const bar = new Progress(session.size, 'upload   ', { enabled: out.progress });
  bar.skip(todo.length === session.part_count ? 0 : session.size - todo.reduce((sum, n) => sum + expectedSize(session, n), 0));
  const onKill = killAfter('IMGCTL_TEST_KILL_AFTER_PARTS');
  let sent = 0;
  try {
    await pool(todo, options.concurrency, async (n) => {
      const length = expectedSize(session, n);
      const t = performance.now();
      const etag = await withRetry(
        async () => putFileRange(await urlFor(n), path, (n - 1) * session.part_size, length, (b) => bar.add(b)),
        {
          retries: options.retries,
          what: `part ${n}`,
          log: (line) => out.debug(line),
          beforeRetry: async (error) => {
            if (isExpiredUrl(error)) {
              urls.delete(n);
              await renew();
            }
          },
        },
      );
      etags.set(n, etag);
      sent++;
      out.debug(`part ${n}/${session.part_count} sent (${bytes(length)}, ${Math.round(performance.now() - t)} ms)`);
      onKill(sent);
    });
  } finally {
    bar.stop();
  }
  out.note(
    `uploaded ${bytes(session.size)}${resumed ? ` (${resumed} of ${session.part_count} parts were already there)` : ''} in ${duration(bar.elapsedSeconds())}, ${rate(bar.averageRate())}`,
  );
  const parts = [...etags].sort((a, b) => a[0] - b[0]).map(([part_number, etag]) => ({ part_number, etag }));
  return { parts, sent, resumed };
}

async function waitForResult(api: Api, out: Output, uid: string, session: UploadSession, timeoutMs: number): Promise<UploadSession> {
  if (TERMINAL.has(session.state)) return session;
  out.note('waiting for the service to check the sha1...');
  const deadline = Date.now() + timeoutMs;
  let current = session;
  for (let delay = 100; !TERMINAL.has(current.state); delay = Math.min(delay * 1.5, 2000)) {
    if (Date.now() > deadline) {
      throw new Failure(
        `the service is still checking upload ${session.upload_id} after ${duration(timeoutMs / 1000)}; run the same command again to keep waiting`,
      );
    }
    await new Promise((r) => setTimeout(r, delay));
    current = await api.describeUpload(uid, session.upload_id);
  }
  return current;
}
