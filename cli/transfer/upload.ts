/**
 * `imgctl upload`: open an upload session, read the file once, in order, PUT
 * its parts in parallel straight to S3 while hashing them (send-parts.ts),
 * complete with that sha1 as the expected checksum (the service refuses
 * bytes that differ), wait for the service's own hash and compare it. The
 * session and the file's identity are saved before the first byte moves, so
 * a run that dies is resumed by running the same command: the session route
 * tells which parts S3 already holds and only the rest go.
 */
import type { Stats } from 'node:fs';
import { access, constants, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Api, UploadRoutes } from '../api.js';
import { setInterruptHint, type Output } from '../context.js';
import { Failure, RequestRefused, UsageError, VerificationFailed } from '../errors.js';
import { bytes, duration } from '../format.js';
import { Progress } from '../progress.js';
import type { UploadSession } from '../types.js';
import { sha1File } from './hash.js';
import { sendParts } from './send-parts.js';
import {
  loadUploadRecord,
  lockUpload,
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
  /** Bytes per second for the whole transfer (--limit-rate). */
  limitRate?: number;
}

/**
 * Where an upload goes: the image's own upload routes (admin token), or a
 * capture job's (the job's credential). Everything else about the transfer
 * is the same.
 */
export interface UploadChannel extends UploadRoutes {
  /** Names the resume record and the lock: the image uid, or `capture-<job>`. */
  key: string;
  /**
   * The checksum the service recorded, compared with the file's. Absent where
   * the caller may not read the image: there `ready` itself says the
   * service's hash equalled the sha1 the completion declared.
   */
  recordedChksum?(): Promise<string>;
  /** What to run again: to resume, to see the outcome, to start over. */
  hints: { resume: string; check: string; restart: string };
}

function imageChannel(api: Api, uid: string, id: string, file: string): UploadChannel {
  return {
    key: uid,
    ...api.imageUploads(uid),
    recordedChksum: async () => (await api.info(uid)).chksum,
    hints: {
      resume: `the upload stays open; run \`imgctl upload ${id} ${file}\` again to resume it`,
      check: `the service is checking the upload; \`imgctl upload ${id} ${file}\` again waits for the result, \`imgctl info ${id}\` shows the content`,
      restart: `imgctl upload --restart ${id} ${file}`,
    },
  };
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
  /** Sending the parts, in this run. */
  transfer_seconds: number;
}

const TERMINAL = new Set(['ready', 'failed', 'aborted', 'expired']);

export async function upload(api: Api, out: Output, id: string, file: string, options: UploadOptions): Promise<UploadResult> {
  const started = performance.now();
  const identity = await identify(file);
  const image = await api.getImage(id);
  const uid = image.uid;
  // Known now: no reason to read and send gigabytes for a completion the service will refuse.
  if (image.frozen) throw new RequestRefused(403, `image "${image.name}" is frozen; unfreeze it first (imgctl unfreeze ${image.name})`);

  // One imgctl at a time per image: two would share (and fight over) one session.
  return uploadVia(imageChannel(api, uid, id, file), out, file, options, { identity, started });
}

/** Uploads `file` through `channel`: resumable, one run at a time per channel key. */
export async function uploadVia(
  channel: UploadChannel,
  out: Output,
  file: string,
  options: UploadOptions,
  known: { identity?: FileIdentity; started?: number } = {},
): Promise<UploadResult> {
  const started = known.started ?? performance.now();
  const identity = known.identity ?? (await identify(file));
  const lock = await lockUpload(channel.key);
  try {
    return await uploadLocked({ channel, out, identity, file, options, started });
  } finally {
    await lock.release();
  }
}

/** What uploadVia() has established before taking the lock. */
interface Upload {
  channel: UploadChannel;
  out: Output;
  identity: FileIdentity;
  file: string;
  options: UploadOptions;
  started: number;
}

async function uploadLocked({ channel, out, identity, file, options, started }: Upload): Promise<UploadResult> {
  const uid = channel.key;
  let record = await loadUploadRecord(uid);
  let session: UploadSession | undefined;
  if (record) {
    const found = await reuse(channel, out, record, identity, options.restart);
    if (found) session = found;
    else {
      await removeUploadRecord(uid);
      record = undefined;
    }
  }

  if (!record || !session) {
    // No sha1 yet: it comes from the read that sends the parts, with the completion.
    session = await channel.start({
      size: identity.size,
      ...(options.partSize !== undefined ? { part_size: options.partSize } : {}),
      ...(options.fmt !== undefined ? { fmt: options.fmt } : {}),
    });
    record = {
      version: 1,
      image: uid,
      upload_id: session.upload_id,
      part_size: session.part_size,
      started_at: new Date().toISOString(),
      ...identity,
    };
    await saveUploadRecord(record);
    out.debug(`started upload ${session.upload_id}: ${session.part_count} parts of ${bytes(session.part_size)}`);
  }

  let partsSent = 0;
  let partsResumed = 0;
  let transferSeconds = 0;
  let sha1 = record.sha1;
  if (session.state === 'uploading') {
    setInterruptHint(channel.hints.resume);
    const uploadId = session.upload_id;
    const sent = await sendParts(() => channel.describe(uploadId), out, identity.path, session, options);
    partsSent = sent.sent;
    partsResumed = sent.resumed;
    transferSeconds = sent.seconds;
    sha1 = sent.sha1;
    // Parts sent from earlier reads must be of the same file: it must not have changed meanwhile.
    if (!sameFile(await identify(file), identity)) {
      throw new Failure(`${file} changed while it was being read; upload it again when it is no longer written to`);
    }
    if (session.sha1 && session.sha1 !== sha1) {
      throw new VerificationFailed(
        `${file} hashes to sha1:${sha1}, but upload ${session.upload_id} was started for sha1:${session.sha1}; the file changed: run with --restart`,
      );
    }
    // Kept for a run that dies after the completion: it then checks without reading the file again.
    record = { ...record, sha1 };
    await saveUploadRecord(record);
    session = await channel.complete(session.upload_id, sent.parts, sha1);
    out.debug(`completed upload ${session.upload_id} with sha1 ${sha1}; state ${session.state}`);
  }
  // Completed by an earlier run that did not live to save its sha1: hash the file to check.
  sha1 ??= await hashWithProgress(identity, out);
  setInterruptHint(channel.hints.check);

  const result: UploadResult = {
    image: uid,
    upload_id: session.upload_id,
    size: identity.size,
    sha1,
    state: session.state,
    parts_sent: partsSent,
    parts_resumed: partsResumed,
    seconds: 0,
    transfer_seconds: transferSeconds,
  };
  if (!options.wait && !TERMINAL.has(session.state)) {
    result.seconds = (performance.now() - started) / 1000;
    return result;
  }

  session = await waitForResult(channel, out, session, options.waitTimeoutMs, channel.hints.restart);
  await removeUploadRecord(uid);
  result.state = session.state;
  if (session.state !== 'ready') {
    const reason = session.reason ?? `the upload ended ${session.state}`;
    if (/sha1 mismatch/i.test(reason)) throw new VerificationFailed(`upload ${session.upload_id} failed verification: ${reason}`);
    throw new RequestRefused(409, `upload ${session.upload_id} ${session.state}: ${reason}`);
  }
  // Ready means the service's hash equalled the sha1 the completion declared; where the image may be read, compare its record too.
  const chksum = channel.recordedChksum ? await channel.recordedChksum() : `sha1:${session.sha1 ?? ''}`;
  result.chksum = chksum;
  result.seconds = (performance.now() - started) / 1000;
  if (chksum !== `sha1:${sha1}`) {
    throw new VerificationFailed(`the service reports ${chksum}, but ${file} hashes to sha1:${sha1}`);
  }
  return result;
}

async function identify(file: string): Promise<FileIdentity> {
  const path = resolve(file);
  let s: Stats;
  try {
    s = await stat(path);
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (!s.isFile()) throw new UsageError(`${file} is not a regular file`);
  if (s.size === 0) throw new UsageError(`${file} is empty; an image needs at least one byte`);
  // Readable now, before a session is opened on the service for it.
  try {
    await access(path, constants.R_OK);
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return { path, size: s.size, mtimeMs: s.mtimeMs };
}

/** The saved session if it is still usable for this file; aborts it when the file is another. */
async function reuse(
  channel: UploadChannel,
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
    await channel.abort(record.upload_id).catch(() => undefined);
    return undefined;
  }
  let session: UploadSession;
  try {
    session = await channel.describe(record.upload_id);
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

async function waitForResult(
  channel: UploadChannel,
  out: Output,
  session: UploadSession,
  timeoutMs: number,
  restart: string,
): Promise<UploadSession> {
  if (TERMINAL.has(session.state)) return session;
  out.note('waiting for the service to check the sha1...');
  // The service's own hash, as far as it got: a bar rather than a silent wait on a large image.
  const bar = new Progress(session.size, 'checking ', { enabled: out.progress });
  let shown = 0;
  let staleSaid = false;
  const deadline = Date.now() + timeoutMs;
  let current = session;
  try {
    for (let delay = 100; !TERMINAL.has(current.state); delay = Math.min(delay * 1.5, 2000)) {
      if (Date.now() > deadline) {
        throw new Failure(
          current.stale
            ? staleText(current, restart)
            : `the service is still checking upload ${session.upload_id} after ${duration(timeoutMs / 1000)}; run the same command again to keep waiting`,
        );
      }
      await new Promise((r) => setTimeout(r, delay));
      current = await channel.describe(session.upload_id);
      const hashed = current.hashed ?? 0;
      if (hashed > shown) {
        bar.add(hashed - shown);
        shown = hashed;
      }
      if (current.stale && !staleSaid) {
        staleSaid = true;
        out.note(staleText(current, restart));
      }
    }
  } finally {
    bar.stop();
  }
  return current;
}

/** What a stale session means and what to do, in words. */
function staleText(s: UploadSession, restart: string): string {
  const left = Math.max(0, (s.max_redrives ?? 0) - (s.redrives ?? 0));
  return (
    `upload ${s.upload_id} is stale: the service has stopped working on it (its hasher run was lost). ` +
    `The service's sweeper drives it again by itself (${left} more tries, then it fails it); ` +
    `waiting helps only until then. To start over now: ${restart}`
  );
}
