/**
 * A content upload from the browser, as imgctl does it: parts PUT in parallel
 * straight to S3 through the presigned URLs, each retried on its own, then
 * completed, then followed while the service checks the file.
 *
 * Resume: the session id is kept in localStorage with the file's name, size
 * and date. Choosing the same file again for the same image asks the session
 * which parts S3 already holds and sends only the others.
 */
import { type Api, ApiError, type ContentInfo, enc, type UploadSession } from './api.js';

export type Phase = 'starting' | 'uploading' | 'completing' | 'checking' | 'ready' | 'failed' | 'cancelled';

export interface Progress {
  phase: Phase;
  total: number;
  /** Bytes S3 holds or has received so far. */
  sent: number;
  /** Bytes per second sent by this run. */
  rate: number;
  /** Seconds left at the current rate. */
  eta: number | undefined;
  /** Parts that were already in S3 when this run began (a resumed upload). */
  resumedParts: number;
  partCount: number;
  state?: string;
  /** While the service checks: bytes of `total` it has hashed so far. */
  hashed?: number;
  sha1?: string;
  reason?: string;
}

const CONCURRENCY = 4;
const MIB = 1024 * 1024;
/**
 * Parts of 5-64 MiB, aiming at 16 or more per file: enough to keep every
 * connection busy and to lose little on a reload. The service raises it when
 * a file would need more than S3's 10,000 parts.
 */
const partSizeFor = (size: number): number => Math.min(64 * MIB, Math.max(5 * MIB, Math.ceil(size / 16 / MIB) * MIB));
const ATTEMPTS = 6;
/** Take fresh URLs this long before the old ones expire. */
const URL_MARGIN_S = 120;
const POLL_MS = 500;

interface Saved {
  upload_id: string;
  name: string;
  size: number;
  lastModified: number;
}

const savedKey = (image: string): string => `image-service.upload.${image}`;

export function savedUpload(image: string): Saved | undefined {
  try {
    const value = localStorage.getItem(savedKey(image));
    return value ? (JSON.parse(value) as Saved) : undefined;
  } catch {
    return undefined;
  }
}

const sameFile = (saved: Saved, file: File): boolean =>
  saved.name === file.name && saved.size === file.size && saved.lastModified === file.lastModified;

export class Upload {
  private session: UploadSession | undefined;
  private readonly etags = new Map<number, string>();
  private readonly urls = new Map<number, string>();
  private urlsExpire = 0;
  private readonly loaded = new Map<number, number>();
  private readonly requests = new Set<XMLHttpRequest>();
  private refreshing: Promise<void> | undefined;
  private cancelled = false;
  private doneBytes = 0;
  private startedBytes = 0;
  private startedAt = 0;
  private progress: Progress;

  constructor(
    private readonly api: Api,
    private readonly image: string,
    private readonly file: File,
    private readonly fmt: string | undefined,
    private readonly report: (p: Progress) => void,
  ) {
    this.progress = { phase: 'starting', total: file.size, sent: 0, rate: 0, eta: undefined, resumedParts: 0, partCount: 0 };
  }

  private emit(change: Partial<Progress>): void {
    this.progress = { ...this.progress, ...change };
    this.report(this.progress);
  }

  async run(): Promise<Progress> {
    try {
      const session = await this.openSession();
      this.session = session;
      this.take(session);
      this.progress.resumedParts = this.etags.size;
      this.startedBytes = this.doneBytes;
      this.startedAt = performance.now();
      this.emit({ phase: 'uploading', partCount: session.part_count, sent: this.doneBytes });
      const missing: number[] = [];
      for (let n = 1; n <= session.part_count; n++) if (!this.etags.has(n)) missing.push(n);
      await Promise.all(Array.from({ length: Math.min(CONCURRENCY, missing.length) }, () => this.worker(missing)));
      this.check();
      this.emit({ phase: 'completing', sent: this.file.size, eta: 0 });
      const parts = [...this.etags].sort(([a], [b]) => a - b).map(([part_number, etag]) => ({ part_number, etag }));
      await this.api.call('POST', `/image/${enc(this.image)}/content/upload/${enc(session.upload_id)}`, { parts });
      localStorage.removeItem(savedKey(this.image));
      return await this.follow(session.upload_id);
    } catch (error) {
      if (this.cancelled) return this.progress;
      this.emit({ phase: 'failed', reason: (error as Error).message });
      return this.progress;
    }
  }

  /** Stops sending and aborts the session: S3 drops the parts. */
  async cancel(): Promise<void> {
    this.cancelled = true;
    for (const xhr of this.requests) xhr.abort();
    localStorage.removeItem(savedKey(this.image));
    this.emit({ phase: 'cancelled' });
    if (this.session) {
      await this.api.call('DELETE', `/image/${enc(this.image)}/content/upload/${enc(this.session.upload_id)}`).catch(() => undefined);
    }
  }

  private check(): void {
    if (this.cancelled) throw new Error('cancelled');
  }

  private async openSession(): Promise<UploadSession> {
    const saved = savedUpload(this.image);
    if (saved && sameFile(saved, this.file)) {
      try {
        const { data } = await this.api.get<UploadSession>(`/image/${enc(this.image)}/content/upload/${enc(saved.upload_id)}`);
        if (data.state === 'uploading' && data.size === this.file.size) return data;
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 404) throw error;
      }
    }
    const { data } = await this.api.call<UploadSession>('PUT', `/image/${enc(this.image)}/content`, {
      size: this.file.size,
      part_size: partSizeFor(this.file.size),
      ...(this.fmt ? { fmt: this.fmt } : {}),
    });
    const record: Saved = { upload_id: data.upload_id, name: this.file.name, size: this.file.size, lastModified: this.file.lastModified };
    localStorage.setItem(savedKey(this.image), JSON.stringify(record));
    return data;
  }

  /** Parts S3 holds and URLs for the rest, from a session answer. */
  private take(session: UploadSession): void {
    for (const part of session.parts_done ?? []) {
      if (!this.etags.has(part.part_number)) {
        this.etags.set(part.part_number, part.etag);
        this.doneBytes += part.size;
      }
    }
    for (const part of session.parts ?? []) this.urls.set(part.part_number, part.url);
    if (session.expires !== undefined) this.urlsExpire = session.expires;
  }

  private async urlFor(n: number): Promise<string> {
    const fresh = this.urlsExpire - URL_MARGIN_S > Date.now() / 1000;
    if (!fresh || !this.urls.has(n)) {
      if (!fresh) this.urls.clear();
      await this.refresh();
    }
    const url = this.urls.get(n);
    if (!url) throw new Error(`the service gave no URL for part ${n}`);
    return url;
  }

  private started(): UploadSession {
    if (!this.session) throw new Error('the upload has not started');
    return this.session;
  }

  /** One GET of the session at a time: it hands out up to 1000 URLs for missing parts. */
  private refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        const { data } = await this.api.get<UploadSession>(`/image/${enc(this.image)}/content/upload/${enc(this.started().upload_id)}`);
        if (data.state !== 'uploading') throw new Error(`the upload is ${data.state}${data.reason ? `: ${data.reason}` : ''}`);
        for (const part of data.parts ?? []) this.urls.set(part.part_number, part.url);
        if (data.expires !== undefined) this.urlsExpire = data.expires;
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  private async worker(queue: number[]): Promise<void> {
    const session = this.started();
    for (let n = queue.shift(); n !== undefined; n = queue.shift()) {
      this.check();
      const start = (n - 1) * session.part_size;
      const blob = this.file.slice(start, Math.min(start + session.part_size, this.file.size));
      for (let attempt = 1; ; attempt++) {
        try {
          const etag = await this.put(await this.urlFor(n), blob, n);
          this.etags.set(n, etag);
          this.doneBytes += blob.size;
          this.loaded.delete(n);
          break;
        } catch (error) {
          this.loaded.delete(n);
          this.check();
          const status = (error as { status?: number }).status;
          if (status === 403) this.urls.delete(n); // an expired or refused URL: ask for a new one
          if (attempt >= ATTEMPTS || (status !== undefined && status >= 400 && status < 500 && status !== 403 && status !== 408)) {
            throw new Error(`part ${n} failed after ${attempt} attempts: ${(error as Error).message}`);
          }
          await new Promise((r) => setTimeout(r, Math.min(8000, 250 * 2 ** attempt)));
        }
      }
    }
  }

  private put(url: string, blob: Blob, n: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      this.requests.add(xhr);
      const finish = (): boolean => this.requests.delete(xhr);
      xhr.open('PUT', url);
      xhr.upload.onprogress = (e) => {
        this.loaded.set(n, e.loaded);
        this.tick();
      };
      xhr.onload = () => {
        finish();
        const etag = xhr.getResponseHeader('etag');
        if (xhr.status >= 200 && xhr.status < 300 && etag) resolve(etag);
        else
          reject(
            Object.assign(new Error(xhr.status >= 300 ? `S3 answered ${xhr.status}` : 'S3 did not expose the ETag (CORS)'), {
              status: xhr.status,
            }),
          );
      };
      xhr.onerror = () => {
        finish();
        reject(new Error('the network failed'));
      };
      xhr.onabort = () => {
        finish();
        reject(new Error('aborted'));
      };
      xhr.send(blob);
    });
  }

  private lastTick = 0;
  private tick(): void {
    const now = performance.now();
    if (now - this.lastTick < 100) return;
    this.lastTick = now;
    let sent = this.doneBytes;
    for (const bytes of this.loaded.values()) sent += bytes;
    const seconds = (now - this.startedAt) / 1000;
    const rate = seconds > 0 ? (sent - this.startedBytes) / seconds : 0;
    this.emit({ sent, rate, eta: rate > 0 ? (this.file.size - sent) / rate : undefined });
  }

  /** The service's check: the session goes `hashing`, then `ready` (the sha1 is then the content's) or `failed`. */
  private async follow(uploadId: string): Promise<Progress> {
    this.emit({ phase: 'checking', state: 'hashing' });
    for (;;) {
      this.check();
      const { data } = await this.api.get<UploadSession>(`/image/${enc(this.image)}/content/upload/${enc(uploadId)}`);
      if (data.state === 'ready') {
        const { data: info } = await this.api.get<ContentInfo>(`/image/${enc(this.image)}/content/info`);
        this.emit({ phase: 'ready', state: data.state, sha1: info.chksum.replace(/^sha1:/, '') });
        return this.progress;
      }
      if (data.state !== 'hashing') {
        this.emit({ phase: 'failed', state: data.state, reason: data.reason ?? `the upload is ${data.state}` });
        return this.progress;
      }
      this.emit({ state: data.state, ...(data.hashed !== undefined ? { hashed: data.hashed } : {}) });
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }
}
