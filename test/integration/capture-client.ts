/** Capture jobs for the tests: started with an admin token, then driven with the job's credential as a node would. */
import { request } from 'node:http';
import type { CaptureView, StartedCapture } from '../../functions/core/capture/service.js';
import { call, stack, type ApiResponse, type CallOptions } from './api.js';
import { expectData, PART, uploadParts, type CompletedPart, type Session } from './upload-client.js';

export type { CaptureView, StartedCapture };

export async function startCapture(image: string, body: Record<string, unknown> = { uid: 'node0001' }): Promise<StartedCapture> {
  return expectData(await call<StartedCapture>('POST', `/image/${encodeURIComponent(image)}/capture`, { body }), 201, `capture ${image}`);
}

/** A call with `Authorization: Capture <credential>` and no Bearer token. */
export const withCredential = (credential: string, options: CallOptions = {}): CallOptions => ({
  ...options,
  token: null,
  headers: { ...options.headers, authorization: `Capture ${credential}` },
});

export const jobOf = (credential: string): string => credential.split('.')[0] ?? '';

export const captureStatus = (credential: string) => call<CaptureView>('GET', `/capture/${jobOf(credential)}`, withCredential(credential));

export const captureStart = (credential: string, body: Record<string, unknown>) =>
  call<Session>('PUT', `/capture/${jobOf(credential)}/content`, withCredential(credential, { body }));

export const captureComplete = (credential: string, uploadId: string, parts: CompletedPart[]) =>
  call<Session>('POST', `/capture/${jobOf(credential)}/content/upload/${uploadId}`, withCredential(credential, { body: { parts } }));

/** Uploads `data` with the credential and completes; returns the accepted session. */
export async function captureUpload(credential: string, data: Buffer): Promise<Session> {
  const session = expectData(await captureStart(credential, { size: data.length, part_size: PART }), 201, 'capture upload');
  const parts = await uploadParts(session, data);
  return expectData(await captureComplete(credential, session.upload_id, parts), 202, 'capture completion');
}

/** Polls the job (with the admin's list) until it has ended. */
export async function waitForJob(image: string, captureId: string, timeoutMs = 30_000): Promise<CaptureView> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 25; ; delay = Math.min(delay * 2, 250)) {
    const list = expectData(await call<CaptureView[]>('GET', `/image/${encodeURIComponent(image)}/capture`), 200, 'list captures');
    const job = list.find((j) => j.capture_id === captureId);
    if (job && (job.state === 'ready' || job.state === 'failed')) return job;
    if (Date.now() >= deadline) throw new Error(`capture ${captureId} did not end within ${timeoutMs} ms (last: ${job?.state})`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

/** A GET with a JSON body, which fetch refuses to send: node:http does. */
export function getWithBody(path: string, body: unknown, token: string): Promise<ApiResponse<StartedCapture>> {
  const url = new URL(`${stack().apiUrl}${path}`);
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'GET',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const headers = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers.set(k, v);
          resolve({ status: res.statusCode ?? 0, headers, body: JSON.parse(raw) as ApiResponse<StartedCapture>['body'], text: raw });
        });
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}
