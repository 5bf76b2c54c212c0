/**
 * The capture credential: `<capture id>.<secret>`, sent as
 * `Authorization: Capture <capture id>.<secret>`. The secret is 32 random
 * bytes (base64url), shown once when the job is created; the table keeps only
 * its sha256. Node built-ins only: the capture authorizer's bundle stays small.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const CREDENTIAL = /^([0-9a-f]{32})\.([A-Za-z0-9_-]{43})$/;

export interface CaptureCredential {
  captureId: string;
  secret: string;
}

export const newSecret = (): string => randomBytes(32).toString('base64url');

export const secretHash = (secret: string): string => createHash('sha256').update(secret, 'utf8').digest('hex');

export const formatCredential = (captureId: string, secret: string): string => `${captureId}.${secret}`;

/** `<capture id>.<secret>`, or undefined when it is not one. */
function parseCredential(text: string): CaptureCredential | undefined {
  const m = CREDENTIAL.exec(text.trim());
  return m?.[1] && m[2] ? { captureId: m[1], secret: m[2] } : undefined;
}

/** The credential of an `Authorization: Capture ...` header; undefined for any other header. */
export function credentialOfHeader(header: string | undefined): CaptureCredential | undefined {
  const m = /^Capture\s+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1] ? parseCredential(m[1]) : undefined;
}

/** Compares the secret's hash with the stored one in constant time. */
export function secretMatches(secret: string, storedSha256: string): boolean {
  const given = Buffer.from(secretHash(secret), 'hex');
  const stored = Buffer.from(storedSha256, 'hex');
  return given.length === stored.length && timingSafeEqual(given, stored);
}
