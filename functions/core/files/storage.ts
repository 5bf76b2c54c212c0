/**
 * The S3 side of content files: multipart uploads, presigned URLs and object
 * removal. Every URL is signed for one operation on one key.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  NotFound,
  NoSuchUpload,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { presignS3, s3 } from '../clients.js';
import { config } from '../config.js';
import { ServiceError } from '../errors.js';

export interface StoredPart {
  part_number: number;
  size: number;
  etag: string;
}

export async function createMultipart(key: string): Promise<string> {
  const out = await s3().send(
    new CreateMultipartUploadCommand({ Bucket: config.bucketName, Key: key, ContentType: 'application/octet-stream' }),
  );
  if (!out.UploadId) throw new Error(`S3 gave no UploadId for ${key}`);
  return out.UploadId;
}

/** How long URLs signed now will really work. */
export interface UrlLifetime {
  /** X-Amz-Expires. */
  seconds: number;
  /** When they stop working, epoch seconds: what the API returns as `expires`. */
  expires: number;
}

/** A URL the credentials would cut below this is not worth handing out: the caller retries on fresh ones. */
const MIN_URL_SECONDS = 60;

/**
 * A presigned URL dies with the credentials that signed it, whatever its
 * X-Amz-Expires says (DESIGN.md, "Known traps"). So the lifetime is the
 * configured one cut to the signing credentials' expiry, when the SDK knows
 * it. The SDK refreshes credentials within 5 minutes of their expiry, so the
 * cut only bites with short sessions; with none known, the configured value stands.
 */
export async function urlLifetime(): Promise<UrlLifetime> {
  const credentials = await presignS3().config.credentials();
  const now = Date.now();
  const asked = config.uploadUrlExpirySeconds;
  const left = credentials.expiration === undefined ? asked : Math.floor((credentials.expiration.getTime() - now) / 1000);
  const seconds = Math.min(asked, left);
  // Only the credentials' cut can make a URL too short to use; a short configured lifetime is a choice.
  if (left < asked && left < MIN_URL_SECONDS) {
    throw new ServiceError('unavailable', 'the service is renewing its credentials; retry in a few seconds');
  }
  return { seconds, expires: Math.floor(now / 1000) + seconds };
}

export function presignPart(key: string, uploadId: string, partNumber: number, lifetime: UrlLifetime): Promise<string> {
  return getSignedUrl(
    presignS3(),
    new UploadPartCommand({ Bucket: config.bucketName, Key: key, UploadId: uploadId, PartNumber: partNumber }),
    { expiresIn: lifetime.seconds },
  );
}

export function presignGet(key: string, downloadName: string, lifetime: UrlLifetime): Promise<string> {
  return getSignedUrl(
    presignS3(),
    new GetObjectCommand({
      Bucket: config.bucketName,
      Key: key,
      ResponseContentDisposition: `attachment; filename="${downloadName}"`,
    }),
    { expiresIn: lifetime.seconds },
  );
}

/** Every part S3 holds for the upload, in part order; undefined when the upload is gone. */
export async function listParts(key: string, uploadId: string): Promise<StoredPart[] | undefined> {
  const parts: StoredPart[] = [];
  let marker: string | undefined;
  try {
    do {
      const out = await s3().send(
        new ListPartsCommand({ Bucket: config.bucketName, Key: key, UploadId: uploadId, PartNumberMarker: marker }),
      );
      for (const p of out.Parts ?? []) {
        if (p.PartNumber !== undefined && p.ETag !== undefined) {
          parts.push({ part_number: p.PartNumber, size: p.Size ?? 0, etag: p.ETag });
        }
      }
      marker = out.IsTruncated ? out.NextPartNumberMarker : undefined;
    } while (marker);
  } catch (error) {
    if (error instanceof NoSuchUpload) return undefined;
    throw error;
  }
  return parts;
}

export async function completeMultipart(key: string, uploadId: string, parts: { part_number: number; etag: string }[]) {
  await s3().send(
    new CompleteMultipartUploadCommand({
      Bucket: config.bucketName,
      Key: key,
      UploadId: uploadId,
      MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.part_number, ETag: p.etag })) },
    }),
  );
}

export async function abortMultipart(key: string, uploadId: string): Promise<void> {
  try {
    await s3().send(new AbortMultipartUploadCommand({ Bucket: config.bucketName, Key: key, UploadId: uploadId }));
  } catch (error) {
    if (!(error instanceof NoSuchUpload)) throw error;
  }
}

/** Idempotent: deleting a missing object succeeds on S3. */
export async function deleteObject(key: string): Promise<void> {
  await s3().send(new DeleteObjectCommand({ Bucket: config.bucketName, Key: key }));
}

/** The first `length` bytes of an object (fewer if it is shorter), with one ranged GET. */
export async function readHead(key: string, length: number): Promise<Uint8Array> {
  const out = await s3().send(new GetObjectCommand({ Bucket: config.bucketName, Key: key, Range: `bytes=0-${length - 1}` }));
  if (!out.Body) throw new Error(`S3 gave no body for the first ${length} bytes of ${key}`);
  return out.Body.transformToByteArray();
}

/** Whether the object exists. */
export async function objectExists(key: string): Promise<boolean> {
  try {
    await s3().send(new HeadObjectCommand({ Bucket: config.bucketName, Key: key }));
    return true;
  } catch (error) {
    if (error instanceof NotFound || (error as { name?: string }).name === 'NotFound') return false;
    throw error;
  }
}
