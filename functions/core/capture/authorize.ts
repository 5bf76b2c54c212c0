/**
 * What a capture credential may do, decided from its job alone: the capture
 * authorizer (functions/capture-authorizer.ts) and the local gateway call
 * this. A credential opens only the routes of its own job, and:
 * - `upload` routes (start, complete, abort the job's upload) while the job
 *   is `pending` or `uploading`: completing the upload uses it up;
 * - `status` routes (the job, its upload session) until it expires, so the
 *   node can wait for the service's check (a session that is no longer
 *   uploading hands out no URLs);
 * - nothing once the job is revoked or the credential has expired.
 * The handlers check the job's state again, with conditional writes.
 */
import type { CaptureItem } from '../db/schema.js';
import { secretMatches, type CaptureCredential } from './credential.js';

export type CaptureUse = 'status' | 'upload';

/**
 * What an allowed request's handler is told of its job (API Gateway's
 * `requestContext.authorizer.lambda`), so that it need not read the job
 * again: the job and its image, who started it (its upload is started in
 * their name), and its upload as the authorizer read it. The handlers' writes
 * stay conditional on the job, so a value this read no longer matches can
 * only be refused.
 */
export type CaptureContext = Pick<CaptureItem, 'capture_id' | 'image_uid' | 'upload_id'> &
  // Always given by this authorizer. An authorizer of an earlier release gave only the job and its
  // image; while a deploy has updated one function and not yet the other, the job is read for them.
  Partial<Pick<CaptureItem, 'created_by' | 'created_on'>>;

export type JobFacts = CaptureContext & Pick<CaptureItem, 'state' | 'secret_sha256' | 'credential_expires' | 'revoked'>;

export type Decision = { allow: true; context: CaptureContext } | { allow: false; why: string };

export function decide(
  credential: CaptureCredential | undefined,
  job: JobFacts | undefined,
  pathCaptureId: string | undefined,
  use: CaptureUse,
  nowSeconds: number,
): Decision {
  if (!credential) return { allow: false, why: 'no "Capture <id>.<secret>" credential' };
  if (pathCaptureId !== credential.captureId) return { allow: false, why: 'the credential is for another capture job' };
  if (!job || job.capture_id !== credential.captureId) return { allow: false, why: 'no such capture job' };
  if (!secretMatches(credential.secret, job.secret_sha256)) return { allow: false, why: 'wrong secret' };
  if (job.revoked === true) return { allow: false, why: 'the job was revoked' };
  if (job.credential_expires <= nowSeconds) return { allow: false, why: 'the credential expired' };
  if (use === 'upload' && job.state !== 'pending' && job.state !== 'uploading') {
    return { allow: false, why: `the job is ${job.state}: its credential was used` };
  }
  const { capture_id, image_uid, created_by, created_on, upload_id } = job;
  return { allow: true, context: { capture_id, image_uid, created_by, created_on, upload_id } };
}
