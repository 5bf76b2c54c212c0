/** A small HTTP client for the tests: talks to the local stack like any client would. */
import { inject } from 'vitest';

export const stack = () => inject('stack');

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: { success: boolean; data?: T; reason?: string; next?: string };
  text: string;
}

export interface CallOptions {
  token?: string | null;
  body?: unknown;
  /** Sent as is, not JSON-encoded. */
  raw?: string | Buffer;
  headers?: Record<string, string>;
}

export async function call<T = unknown>(method: string, path: string, options: CallOptions = {}): Promise<ApiResponse<T>> {
  const token = options.token === undefined ? stack().tokens.admin : options.token;
  const headers: Record<string, string> = { ...options.headers };
  if (token !== null) headers['authorization'] = `Bearer ${token}`;
  let body: string | Buffer | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${stack().apiUrl}${path}`, { method, headers, body, redirect: 'manual' });
  const text = await res.text();
  let parsed: ApiResponse<T>['body'];
  try {
    parsed = JSON.parse(text) as ApiResponse<T>['body'];
  } catch {
    parsed = { success: false, reason: `not JSON: ${text.slice(0, 200)}` };
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

let counter = 0;
/** A name no other test uses. */
export const uniqueName = (prefix = 'img'): string => `${prefix}-${process.pid}-${Date.now().toString(36)}-${(counter++).toString(36)}`;

export async function createImage(fields: Record<string, unknown> = {}): Promise<{ uid: string; name: string }> {
  const name = (fields['name'] as string | undefined) ?? uniqueName();
  const res = await call<string>('POST', '/images', { body: { name, ...fields } });
  if (res.status !== 201 || typeof res.body.data !== 'string') {
    throw new Error(`create ${name} failed: ${res.status} ${res.text}`);
  }
  return { uid: res.body.data, name };
}
