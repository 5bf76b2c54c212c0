/**
 * Capture jobs: created and revoked by admins, run by a node with the job's
 * credential. The node's upload is an ordinary upload session of the image
 * (uploads/service.ts): the hasher checks it and switches it in, so the
 * image keeps its old content until then. A job's end state is read from its
 * upload session and written back on the first read that sees it.
 */
import { config } from '../config.js';
import { conflict, invalid, notFound, ServiceError } from '../errors.js';
import { isUid, newUid, nowSeconds } from '../ids.js';
import { capturesPartition, keys, type CaptureItem, type CaptureState } from '../db/schema.js';
import type { Actor } from '../images/model.js';
import { frozenError, getImage } from '../images/service.js';
import { sortableMs } from '../uploads/model.js';
import { getUpload } from '../uploads/repository.js';
import * as uploads from '../uploads/service.js';
import { formatCredential, newSecret, secretHash } from './credential.js';
import { CAPTURE_FMT, type Compressor } from './model.js';
import type { CaptureContext } from './authorize.js';
import { getCapture, listCaptures as listItems, putCapture, replaceInCapture, updateCapture } from './repository.js';

export interface CaptureRequest {
  /** The node being captured. */
  uid: string;
  exclude?: string[];
  compress?: Compressor;
}

/** What anyone allowed to see a job sees; never its secret. */
export interface CaptureView {
  capture_id: string;
  image: string;
  node: string;
  exclude: string[];
  compress: string | null;
  state: CaptureState;
  reason?: string;
  upload_id: string | null;
  created_at: number;
  created_by: string;
  credential_expires: number;
  ended_at?: number;
}

/** A new job: its view, the credential (shown this once) and the command to run on the node. */
export interface StartedCapture extends CaptureView {
  credential: string;
  command: string;
}

const OPEN: readonly CaptureState[] = ['pending', 'uploading'];

export async function startCapture(imageId: string, request: CaptureRequest, actor: Actor, apiUrl: string): Promise<StartedCapture> {
  const image = await getImage(imageId);
  // Known now: a capture into a frozen image could never be switched in.
  if (image.frozen) throw frozenError(image);
  const id = newUid();
  const secret = newSecret();
  const now = nowSeconds();
  const credentialExpires = Math.ceil(now + config.captureCredentialTtlSeconds);
  const item: CaptureItem = {
    ...keys.capture(id),
    kind: 'capture',
    capture_id: id,
    image_uid: image.uid,
    node: request.uid,
    exclude: request.exclude ?? [],
    ...(request.compress !== undefined ? { compress: request.compress } : {}),
    state: 'pending',
    secret_sha256: secretHash(secret),
    credential_expires: credentialExpires,
    created_at: now,
    created_by: actor.user,
    created_on: actor.site,
    expires_at: credentialExpires + config.captureRetentionSeconds,
    gsi1pk: capturesPartition(image.uid),
    gsi1sk: `${sortableMs(now * 1000)}#${id}`,
  };
  await putCapture(item);
  const credential = formatCredential(id, secret);
  return { ...view(item), credential, command: commandFor(credential, apiUrl) };
}

/**
 * The one command for the node. The credential goes in the environment, not
 * the arguments, where every user of the node could read it (ps). The job's
 * excludes and compression are read from the job by imgctl itself.
 */
function commandFor(credential: string, apiUrl: string): string {
  return `IMGCTL_CAPTURE_CREDENTIAL=${credential} imgctl --url ${apiUrl} capture --root /`;
}

export async function listCaptures(imageId: string): Promise<CaptureView[]> {
  const image = await getImage(imageId);
  const items = await listItems(image.uid);
  return Promise.all(items.map(async (item) => view(await settle(item))));
}

/** Revokes a job whose credential was not used up: it is refused from now on, and an open upload is aborted. */
export async function revokeCapture(imageId: string, captureId: string, actor: Actor): Promise<CaptureView> {
  const image = await getImage(imageId);
  const job = await jobOfImage(image.uid, image.name, captureId);
  const reason = `revoked by ${actor.user}`;
  const ended = { state: 'failed' as const, reason, revoked: true, ended_at: nowSeconds() };
  if (!(await updateCapture(job.capture_id, OPEN, ended))) {
    const now = await settle((await getCapture(job.capture_id)) ?? job);
    throw conflict(`capture ${captureId} is ${now.state}: its credential was used already (or it ended); there is nothing to revoke`);
  }
  if (job.upload_id !== undefined) {
    await uploads.abortUpload(image.uid, job.upload_id).catch((error: unknown) => {
      // Already completed, aborted or gone: nothing of it is left open.
      if (!(error instanceof ServiceError && (error.kind === 'conflict' || error.kind === 'not_found'))) throw error;
    });
  }
  return view({ ...job, ...ended });
}

async function jobOfImage(imageUid: string, imageName: string, captureId: string): Promise<CaptureItem> {
  const job = isUid(captureId) ? await getCapture(captureId) : undefined;
  if (!job || job.image_uid !== imageUid) throw notFound(`no capture job "${captureId}" for image "${imageName}"`);
  return job;
}

/*
 * The node's side, with the job's credential. The authorizer has checked it
 * and hands over what it read of the job (CaptureContext, read for this very
 * request: its answers are not cached, infra/image-service-stack.ts), so the
 * job is read here only where its record is the answer (its status) or to
 * say why a write was refused. Each write is conditional on the job as it
 * then is, so a change since the authorizer's read is refused, never undone.
 */

/** The job as its node sees it: what to exclude and how to compress, and, after the upload, the service's verdict. */
export async function captureStatus(captureId: string): Promise<CaptureView> {
  return view(await settle(await openJob(captureId)));
}

export async function captureStartUpload(job: CaptureContext, request: uploads.StartRequest): Promise<uploads.SessionView> {
  if (request.fmt !== undefined && request.fmt !== CAPTURE_FMT) {
    throw invalid(`fmt must be ${CAPTURE_FMT}: a capture is a squashfs, checked as one`);
  }
  const session = await uploads.startUpload(job.image_uid, { ...request, fmt: CAPTURE_FMT }, await starterOf(job));
  const replaced = await replaceInCapture(job.capture_id, OPEN, { state: 'uploading', upload_id: session.upload_id });
  if (!replaced) {
    await uploads.abortUpload(job.image_uid, session.upload_id).catch(() => undefined);
    throw await notUsable(job.capture_id);
  }
  // The job's earlier upload, if one was left open (the node started over): only the latest one counts.
  // The write names it, so an upload another start put in meanwhile is not left open.
  if (replaced.upload_id !== undefined) await uploads.abortUpload(job.image_uid, replaced.upload_id).catch(() => undefined);
  return session;
}

export async function captureDescribeUpload(job: CaptureContext, uploadId: string): Promise<uploads.SessionView> {
  await assertJobUpload(job, uploadId);
  return uploads.describeUpload(job.image_uid, uploadId);
}

/** Completes the job's upload; this uses up the credential (the job moves to `hashing` first, so only one completion proceeds). */
export async function captureCompleteUpload(
  job: CaptureContext,
  uploadId: string,
  parts: { part_number: number; etag: string }[],
  sha1?: string,
): Promise<uploads.SessionView> {
  // The write is conditional on the job uploading this upload: no check before it.
  if (!(await updateCapture(job.capture_id, ['uploading'], { state: 'hashing' }, { uploadId }))) {
    // Not found if the upload is no longer the job's; otherwise the job is no longer uploading it.
    await jobWithUpload(job.capture_id, uploadId);
    throw conflict(`capture ${job.capture_id} is no longer uploading upload ${uploadId}; it cannot be completed`);
  }
  try {
    return await uploads.completeUpload(job.image_uid, uploadId, parts, sha1);
  } catch (error) {
    // Refused (wrong parts, say): the node may fix it and complete again.
    await updateCapture(job.capture_id, ['hashing'], { state: 'uploading' }, { uploadId });
    throw error;
  }
}

export async function captureAbortUpload(job: CaptureContext, uploadId: string): Promise<uploads.SessionView> {
  await assertJobUpload(job, uploadId);
  return uploads.abortUpload(job.image_uid, uploadId);
}

/** Who started the job, in whose name its upload starts: from the context, or (an earlier authorizer's) from the job. */
async function starterOf(job: CaptureContext): Promise<{ user: string; site: string }> {
  if (job.created_by !== undefined && job.created_on !== undefined) return { user: job.created_by, site: job.created_on };
  const read = await openJob(job.capture_id);
  return { user: read.created_by, site: read.created_on };
}

async function openJob(captureId: string): Promise<CaptureItem> {
  const job = await getCapture(captureId);
  if (!job) throw notFound(`no capture job "${captureId}"`);
  return job;
}

/** Why a job refused an upload: the state it has now (settled as a read settles it). */
async function notUsable(captureId: string): Promise<ServiceError> {
  const job = await settle(await openJob(captureId));
  if (OPEN.includes(job.state)) return conflict(`capture ${captureId} was revoked or completed meanwhile`);
  return conflict(`capture ${captureId} is ${job.state}${job.reason ? ` (${job.reason})` : ''}`);
}

/** Not found unless the upload is the job's: as the authorizer read it, or else as the job now stands. */
async function assertJobUpload(job: CaptureContext, uploadId: string): Promise<void> {
  if (job.upload_id !== uploadId) await jobWithUpload(job.capture_id, uploadId);
}

async function jobWithUpload(captureId: string, uploadId: string): Promise<CaptureItem> {
  const job = await openJob(captureId);
  if (job.upload_id !== uploadId) throw notFound(`no upload "${uploadId}" for capture ${captureId}`);
  return job;
}

/**
 * The job's state as it now stands: `hashing` ends with its upload session
 * (ready, or failed with the session's reason); a job still open when its
 * credential expired failed. Written back once seen (conditional, so only
 * the first reader writes).
 */
async function settle(job: CaptureItem): Promise<CaptureItem> {
  let end: { state: 'ready' | 'failed'; reason?: string } | undefined;
  if (job.state === 'hashing' && job.upload_id !== undefined) {
    const session = await getUpload(job.upload_id);
    if (!session) end = { state: 'failed', reason: 'its upload session is gone (expired)' };
    else if (session.state === 'ready') end = { state: 'ready' };
    else if (session.state !== 'hashing' && session.state !== 'uploading') {
      end = { state: 'failed', reason: session.reason ?? `its upload ended ${session.state}` };
    }
  } else if (OPEN.includes(job.state) && job.credential_expires <= nowSeconds()) {
    end = { state: 'failed', reason: 'the credential expired before a capture was uploaded' };
  }
  if (!end) return job;
  const ended = { ...end, ended_at: nowSeconds() };
  await updateCapture(job.capture_id, [job.state], ended);
  return { ...job, ...ended };
}

function view(job: CaptureItem): CaptureView {
  return {
    capture_id: job.capture_id,
    image: job.image_uid,
    node: job.node,
    exclude: job.exclude,
    compress: job.compress ?? null,
    state: job.state,
    ...(job.reason !== undefined ? { reason: job.reason } : {}),
    upload_id: job.upload_id ?? null,
    created_at: job.created_at,
    created_by: job.created_by,
    credential_expires: job.credential_expires,
    ...(job.ended_at !== undefined ? { ended_at: job.ended_at } : {}),
  };
}
