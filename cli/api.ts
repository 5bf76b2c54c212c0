/**
 * The API client: one method per route, each returning the envelope's `data`
 * or throwing RequestRefused with the service's reason. Network failures,
 * 502/503/504 and 429 are retried a few times on idempotent calls (reads,
 * and the writes that may be repeated), after the Retry-After the service
 * sends or the backoff; other writes are not (a write that timed out may
 * have happened). A 401 is retried once with a renewed token when there is
 * a way to renew it (auth.ts): the authorizer refused the request before
 * anything ran, so even a write may be sent again.
 */
import { Failure, RequestRefused } from './errors.js';
import type { Connection } from './config.js';
import { withRetry } from './transfer/retry.js';
import type { CaptureJob, ContentInfo, ContentStat, DownloadLink, ImageList, ImageRecord, StartedCapture, UploadSession } from './types.js';

interface Envelope<T> {
  success: boolean;
  data?: T;
  reason?: string;
  next?: string;
}

type Query = Record<string, string | number | undefined>;

interface CallInit {
  query?: Query;
  body?: unknown;
  /** Safe to send again after a 503 or a lost connection. Default: GET only. */
  idempotent?: boolean;
}

export interface ApiOptions {
  /** Called with one line per request, for --verbose. */
  log?: (line: string) => void;
}

/** Retries of an idempotent call after a network failure, a 502/503/504 or a 429. */
const READ_RETRIES = 5;
const RETRY_STATUS = new Set([429, 502, 503, 504]);
const MAX_RETRY_AFTER_MS = 30_000;

/** A call that failed in a way worth another attempt; `waitMs`: how long the service asked to wait. */
class TryAgain extends Error {
  constructor(
    message: string,
    readonly waitMs?: number,
  ) {
    super(message);
  }
}

/** Retry-After in ms (seconds or an HTTP date), capped; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - now;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}

const enc = encodeURIComponent;

/** An upload session's routes (cli/transfer/upload.ts drives them). */
export interface UploadRoutes {
  start(body: { size: number; sha1?: string; part_size?: number; fmt?: string }): Promise<UploadSession>;
  describe(uploadId: string): Promise<UploadSession>;
  /** `sha1` (hex): the expected checksum, from the read that sent the parts. */
  complete(uploadId: string, parts: { part_number: number; etag: string }[], sha1: string): Promise<UploadSession>;
  abort(uploadId: string): Promise<UploadSession>;
}

export class Api {
  constructor(
    readonly connection: Connection,
    private readonly options: ApiOptions = {},
  ) {}

  async envelope<T>(method: string, path: string, init: CallInit = {}): Promise<Envelope<T>> {
    const url = new URL(this.connection.url + path);
    for (const [k, v] of Object.entries(init.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: 'application/json' };
    let body: string | undefined;
    if (init.body !== undefined) {
      body = JSON.stringify(init.body);
      headers['content-type'] = 'application/json';
    }
    const transientRetries = (init.idempotent ?? method === 'GET') ? READ_RETRIES : 0;
    const credentials = this.connection.credentials;
    let renewed = false;
    const { res, text } = await withRetry(
      async (attempt) => {
        // The one attempt a 401 may add does not count against the others.
        const last = attempt - (renewed ? 1 : 0) >= transientRetries;
        const token = await credentials.token();
        headers['authorization'] = `${this.connection.scheme ?? 'Bearer'} ${token}`;
        const started = performance.now();
        let res: Response;
        try {
          res = await fetch(url, { method, headers, body, redirect: 'manual' });
        } catch (error) {
          const cause = (error as { cause?: { code?: string; message?: string } }).cause;
          const why = cause?.code ?? cause?.message ?? (error as Error).message;
          if (!last) throw new TryAgain(why);
          throw new Failure(`cannot reach ${this.connection.url} (${why}); check the URL (imgctl config) and your network`);
        }
        const text = await res.text();
        this.options.log?.(`${method} ${url.pathname}${url.search} -> ${res.status} (${Math.round(performance.now() - started)} ms)`);
        if (res.status === 401 && !renewed && (await credentials.refused(token))) {
          renewed = true;
          throw new TryAgain('HTTP 401, sending it again with a renewed token', 0);
        }
        if (!last && RETRY_STATUS.has(res.status)) {
          throw new TryAgain(`HTTP ${res.status}`, retryAfterMs(res.headers.get('retry-after')));
        }
        return { res, text };
      },
      {
        retries: transientRetries + 1,
        baseMs: 250,
        ...(this.options.log ? { log: this.options.log } : {}),
        maxMs: 2000,
        what: `${method} ${url.pathname}`,
        isRetryable: (error) => error instanceof TryAgain,
        waitMs: (error) => (error instanceof TryAgain ? error.waitMs : undefined),
      },
    );
    let parsed: Envelope<T> | undefined;
    try {
      parsed = JSON.parse(text) as Envelope<T>;
    } catch {
      parsed = undefined;
    }
    if (!parsed || typeof parsed !== 'object' || typeof parsed.success !== 'boolean') {
      throw new RequestRefused(res.status, `HTTP ${res.status} from ${url.pathname}, not the API's JSON: ${this.excerpt(text)}`, false);
    }
    if (!res.ok || !parsed.success) {
      throw new RequestRefused(res.status, parsed.reason ?? `HTTP ${res.status}`);
    }
    return parsed;
  }

  /**
   * A short, one-line excerpt of a body that is not the API's. A proxy or a
   * wrong URL may echo the request back: the token never reaches the output.
   */
  private excerpt(text: string): string {
    let clean = text
      .replace(/Bearer\s+[A-Za-z0-9._~+/=-]+/gi, 'Bearer [redacted]')
      // A JWT, whole or cut short, wherever it shows.
      .replace(/eyJ[A-Za-z0-9_-]{8,}(\.[A-Za-z0-9_-]*){0,2}/g, '[redacted]');
    for (const token of this.connection.credentials.seen) clean = clean.split(token).join('[redacted]');
    clean = clean.replace(/\s+/g, ' ').trim();
    return clean === '' ? '(empty body)' : clean.length > 200 ? `${clean.slice(0, 200)}...` : clean;
  }

  async data<T>(method: string, path: string, init: CallInit = {}): Promise<T> {
    return (await this.envelope<T>(method, path, init)).data as T;
  }

  /* Records */

  /** Every image matching the filters, following `next` to the end. */
  async listAll(filters: { name?: string; parent?: string; distro?: string; limit?: number }): Promise<ImageList> {
    const all: ImageList = {};
    let next: string | undefined;
    do {
      const page = await this.envelope<ImageList>('GET', '/images', { query: { ...filters, next } });
      Object.assign(all, page.data ?? {});
      next = page.next;
    } while (next !== undefined);
    return all;
  }

  getImage = (id: string) => this.data<ImageRecord>('GET', `/image/${enc(id)}`);
  createImage = (body: Record<string, unknown>) => this.data<string>('POST', '/images', { body });
  patchImage = (id: string, body: Record<string, unknown>) => this.data<ImageRecord>('PATCH', `/image/${enc(id)}`, { body });
  /** A PUT of every field: sending it twice leaves the record as sending it once. */
  replaceImage = (id: string, body: Record<string, unknown>) =>
    this.data<ImageRecord>('PUT', `/image/${enc(id)}`, { body, idempotent: true });
  deleteImage = (id: string) => this.data<string>('DELETE', `/image/${enc(id)}`);
  cloneImage = (id: string, body: Record<string, unknown>) => this.data<string>('POST', `/image/${enc(id)}/clone`, { body });

  /* Content */

  stat = (id: string) => this.data<ContentStat>('GET', `/image/${enc(id)}/content/stat`);
  info = (id: string) => this.data<ContentInfo>('GET', `/image/${enc(id)}/content/info`);
  downloadLink = (id: string, parts?: number) =>
    this.data<DownloadLink>('GET', `/image/${enc(id)}/content`, { query: { redirect: 'false', parts } });
  deleteContent = (id: string) => this.data<ImageRecord>('DELETE', `/image/${enc(id)}/content`);

  /** The upload routes of an image's content. */
  imageUploads = (id: string): UploadRoutes => this.uploadRoutes(`/image/${enc(id)}`);

  /* Capture: an admin's routes, then the node's (with a Capture connection) */

  startCapture = (id: string, body: { uid: string; exclude?: string[]; compress?: string }) =>
    this.data<StartedCapture>('POST', `/image/${enc(id)}/capture`, { body });
  listCaptures = (id: string) => this.data<CaptureJob[]>('GET', `/image/${enc(id)}/capture`);
  revokeCapture = (id: string, captureId: string) =>
    this.data<CaptureJob>('DELETE', `/image/${enc(id)}/capture/${enc(captureId)}`, { idempotent: true });

  captureStatus = (captureId: string) => this.data<CaptureJob>('GET', `/capture/${enc(captureId)}`);
  /** The same routes under the capture job, with its credential. */
  captureUploads = (captureId: string): UploadRoutes => this.uploadRoutes(`/capture/${enc(captureId)}`);

  /** Both trees have the same shape under `base`: PUT content, then the session's GET, POST and DELETE. */
  private uploadRoutes(base: string): UploadRoutes {
    const session = (uploadId: string) => `${base}/content/upload/${enc(uploadId)}`;
    return {
      start: (body) => this.data<UploadSession>('PUT', `${base}/content`, { body }),
      describe: (uploadId) => this.data<UploadSession>('GET', session(uploadId)),
      complete: (uploadId, parts, sha1) => this.data<UploadSession>('POST', session(uploadId), { body: { parts, sha1 } }),
      abort: (uploadId) => this.data<UploadSession>('DELETE', session(uploadId), { idempotent: true }),
    };
  }
}
