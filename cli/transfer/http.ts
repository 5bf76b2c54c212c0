/**
 * Byte transfers to and from presigned S3 URLs with node:http(s): a part PUT
 * sends its buffer with an exact Content-Length and nothing else (the URL
 * carries the signature; extra checksum headers would break it); a range
 * GET streams into the target file at its offset. Keep-alive agents reuse
 * connections across parts.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { FileHandle } from 'node:fs/promises';
import type { RateLimit } from './rate-limit.js';

const IDLE_TIMEOUT_MS = 60_000;
const WRITE_BLOCK = 1024 * 1024;

const agents = {
  http: new HttpAgent({ keepAlive: true, maxSockets: 64 }),
  https: new HttpsAgent({ keepAlive: true, maxSockets: 64 }),
};

/** S3 answered with an error status; `code` is S3's error code when the body names one. */
export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    body: string,
  ) {
    super(`HTTP ${status}${code ? ` ${code}` : ''}${body ? `: ${s3Message(body)}` : ''}`);
    this.name = 'HttpStatusError';
  }
}

function s3Message(body: string): string {
  const m = /<Message>([^<]*)<\/Message>/.exec(body);
  return (m?.[1] ?? body).slice(0, 300);
}

/** The URL no longer works (expired or otherwise refused): ask for a fresh one. */
export const isExpiredUrl = (error: unknown): boolean =>
  error instanceof HttpStatusError &&
  (error.status === 403 || error.code === 'ExpiredToken' || error.code === 'AccessDenied' || error.code === 'RequestExpired');

/** Worth another try: network errors, timeouts, 5xx, 408, 429 (and expired URLs, after renewal). */
export function isRetryable(error: unknown): boolean {
  if (error instanceof HttpStatusError) return error.status >= 500 || error.status === 408 || error.status === 429 || isExpiredUrl(error);
  return true;
}

function send(method: string, url: string, headers: Record<string, string | number>) {
  const u = new URL(url);
  const secure = u.protocol === 'https:';
  const req = (secure ? httpsRequest : httpRequest)(u, { method, headers, agent: secure ? agents.https : agents.http });
  req.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(new Error(`no data for ${IDLE_TIMEOUT_MS / 1000} s`)));
  return req;
}

function responseOf(req: ReturnType<typeof send>): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
  });
}

async function failIfError(res: IncomingMessage): Promise<void> {
  const status = res.statusCode ?? 0;
  if (status >= 200 && status < 300) return;
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks).toString('utf8');
  throw new HttpStatusError(status, /<Code>([^<]*)<\/Code>/.exec(body)?.[1], body);
}

/**
 * PUTs `data` (one part, already read and hashed) to a presigned part URL;
 * returns S3's ETag. Written in blocks with backpressure, so `onBytes` follows
 * what the socket took (negative on failure, to undo). If S3 answers before
 * the body is through (an expired URL is refused up front), writing stops.
 */
export async function putBuffer(url: string, data: Buffer, onBytes: (n: number) => void, limit?: RateLimit): Promise<string> {
  let sent = 0;
  const req = send('PUT', url, { 'content-length': data.length });
  const response = responseOf(req);
  let answered = false;
  // Also keeps an early rejection from counting as unhandled while we write.
  const settled = response.then(
    () => (answered = true),
    () => (answered = true),
  );
  try {
    const blockSize = limit?.blockSize ?? WRITE_BLOCK;
    for (let off = 0; off < data.length && !answered; off += blockSize) {
      const block = data.subarray(off, Math.min(off + blockSize, data.length));
      if (limit) await limit.take(block.length);
      const more = req.write(block);
      sent += block.length;
      onBytes(block.length);
      if (!more) await Promise.race([new Promise((r) => req.once('drain', r)), settled]);
    }
    if (!answered) req.end();
    const res = await response;
    await failIfError(res);
    res.resume();
    const etag = res.headers.etag;
    if (!etag) throw new Error('S3 answered the part PUT without an ETag header');
    if (sent !== data.length) throw new Error(`S3 answered after ${sent} of ${data.length} bytes`);
    return etag;
  } catch (error) {
    onBytes(-sent);
    // The connection may hold half a body: never hand it back to the agent.
    req.destroy();
    throw error;
  }
}

/**
 * GETs bytes `start..end` (inclusive) of `url` into `file` at the same
 * offsets. `onBytes` sees every block written (negative on failure).
 */
export async function getRangeInto(
  url: string,
  start: number,
  end: number,
  file: FileHandle,
  onBytes: (n: number) => void,
  limit?: RateLimit,
): Promise<void> {
  let written = 0;
  try {
    const req = send('GET', url, { range: `bytes=${start}-${end}` });
    const response = responseOf(req);
    req.end();
    const res = await response;
    await failIfError(res);
    const expected = end - start + 1;
    if (res.statusCode !== 206 && !(res.statusCode === 200 && start === 0 && Number(res.headers['content-length']) === expected)) {
      res.resume();
      throw new Error(`S3 answered a range request with ${res.statusCode} (no 206 Partial Content)`);
    }
    // Blocks of about WRITE_BLOCK go to the file with one vectored write, without copying.
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      const blocks = pending;
      const n = pendingBytes;
      pending = [];
      pendingBytes = 0;
      await writeAll(file, blocks, n, start + written);
      written += n;
      onBytes(n);
    };
    for await (const chunk of res) {
      const buf = chunk as Buffer;
      if (written + pendingBytes + buf.length > expected) throw new Error(`S3 sent more than the ${expected} bytes asked for`);
      // Not reading the socket while waiting is what slows the sender down.
      if (limit) await limit.take(buf.length);
      pending.push(buf);
      pendingBytes += buf.length;
      if (pendingBytes >= WRITE_BLOCK) await flush();
    }
    await flush();
    if (written !== expected) throw new Error(`the range ended after ${written} of ${expected} bytes`);
  } catch (error) {
    onBytes(-written);
    throw error;
  }
}

async function writeAll(file: FileHandle, blocks: Buffer[], length: number, position: number): Promise<void> {
  const { bytesWritten } = await file.writev(blocks, position);
  if (bytesWritten === length) return;
  // A short write (rare): finish the rest block by block.
  const rest = Buffer.concat(blocks, length).subarray(bytesWritten);
  let off = 0;
  while (off < rest.length) {
    const r = await file.write(rest, off, rest.length - off, position + bytesWritten + off);
    off += r.bytesWritten;
  }
}

export function closeAgents(): void {
  agents.http.destroy();
  agents.https.destroy();
}
