/** The API client: Bearer token, the envelope unwrapped, its reason as the error. */
import type { components } from './types.js';

export type Image = components['Image'];
export type UploadSession = components['UploadSession'];
export type DownloadLink = components['DownloadLink'];
export type ContentInfo = components['ContentInfo'];

export class ApiError extends Error {
  constructor(
    readonly status: number,
    reason: string,
  ) {
    super(reason);
  }
}

export interface Answer<T> {
  data: T;
  next?: string;
  etag: string | null;
}

export class Api {
  constructor(
    private readonly base: string,
    /** The token for each call (auth.ts renews it shortly before it expires). */
    private readonly token: () => Promise<string>,
    private readonly onUnauthorized: (reason: string) => void,
  ) {}

  async call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer<T>> {
    let token: string;
    try {
      token = await this.token();
    } catch (error) {
      const reason = (error as Error).message;
      this.onUnauthorized(reason);
      throw new ApiError(401, reason);
    }
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new ApiError(0, `the service cannot be reached (${(error as Error).message})`);
    }
    const text = await res.text();
    let envelope: { success?: boolean; data?: T; reason?: string; next?: string; message?: string };
    try {
      envelope = JSON.parse(text) as typeof envelope;
    } catch {
      throw new ApiError(res.status, `the service answered ${res.status} without a JSON body`);
    }
    if (!res.ok || envelope.success !== true) {
      const reason = envelope.reason ?? envelope.message ?? `HTTP ${res.status}`;
      if (res.status === 401) this.onUnauthorized(reason);
      throw new ApiError(res.status, reason);
    }
    return { data: envelope.data as T, ...(envelope.next ? { next: envelope.next } : {}), etag: res.headers.get('etag') };
  }

  get = <T>(path: string) => this.call<T>('GET', path);
}

export const enc = encodeURIComponent;
