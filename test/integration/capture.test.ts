/**
 * Capture jobs over HTTP: an admin starts a job, a "node" uploads a squashfs
 * with the job's credential alone, and the job ends as its upload does.
 * (imgctl's side, mksquashfs included, is test/cli/capture.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { call, createImage, stack } from './api.js';
import {
  captureComplete,
  captureStart,
  captureStatus,
  captureUpload,
  getWithBody,
  startCapture,
  waitForJob,
  withCredential,
  type CaptureView,
} from './capture-client.js';
import { checkResponse } from './openapi-check.js';
import { expectData, makeContent, sha1Hex, uploadContent, uploadParts } from './upload-client.js';
import { makeSquashfs } from '../squashfs.js';

describe('capture jobs', () => {
  it('start: the answer gives the job, a credential shown once and the command; the list never shows the secret', async () => {
    const { uid, name } = await createImage();
    const job = await startCapture(name, { uid: 'node0001', exclude: ['var/cache/*', 'home'], compress: 'xz' });
    expect(job).toMatchObject({
      image: uid,
      node: 'node0001',
      exclude: ['var/cache/*', 'home'],
      compress: 'xz',
      state: 'pending',
      upload_id: null,
    });
    expect(job.credential).toMatch(new RegExp(`^${job.capture_id}\\.[A-Za-z0-9_-]{43}$`));
    expect(job.command).toContain(`IMGCTL_CAPTURE_CREDENTIAL=${job.credential}`);
    expect(job.command).toContain(`--url ${stack().apiUrl} capture`);
    expect(job.credential_expires - Date.now() / 1000).toBeGreaterThan(23 * 3600);

    const list = await call<CaptureView[]>('GET', `/image/${uid}/capture`, { token: stack().tokens.reader });
    expect(list.status).toBe(200);
    expect(list.body.data?.map((j) => j.capture_id)).toEqual([job.capture_id]);
    const secret = job.credential.split('.')[1]!;
    expect(list.text).not.toContain(secret);
    expect(list.text).not.toMatch(/credential"|secret/);
  });

  it('a GET carrying the JSON body starts a job (admin); a reader is refused', async () => {
    const { name } = await createImage();
    const path = `/image/${name}/capture`;
    const started = await getWithBody(path, { uid: 'node0002', compress: true }, stack().tokens.admin);
    const url = new URL(`${stack().apiUrl}${path}`);
    expect(checkResponse('GET', url, started.status, started.headers, started.text)).toBeUndefined();
    expect(started.status).toBe(201);
    expect(started.body.data).toMatchObject({ node: 'node0002', compress: 'gzip', state: 'pending' });
    const refused = await getWithBody(path, { uid: 'node0002' }, stack().tokens.reader);
    expect(checkResponse('GET', url, refused.status, refused.headers, refused.text)).toBeUndefined();
    expect(refused.status).toBe(403);
    expect(refused.body.reason).toMatch(/starts a capture and needs the admin role/);
  });

  it('refuses bad bodies with the reason, and credentials to the node', async () => {
    const { name } = await createImage();
    const cases: [Record<string, unknown>, RegExp][] = [
      [{}, /uid/],
      [{ uid: 'node 1' }, /uid: must be 1-128 letters/],
      [{ uid: 'n1', compress: 'bzip2' }, /compress: must be one of gzip, xz, zstd, lz4, lzo, none/],
      [{ uid: 'n1', exclude: [''] }, /exclude/],
      [{ uid: 'n1', credentials: { user: 'root', password: 'x' } }, /credentials: is not accepted: this service never connects to a node/],
      [{ uid: 'n1', extra: 1 }, /extra/],
    ];
    for (const [body, reason] of cases) {
      const res = await call('POST', `/image/${name}/capture`, { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.reason).toMatch(reason);
    }
    // null is "no credentials", as the page's optional key may be sent.
    expect((await call('POST', `/image/${name}/capture`, { body: { uid: 'n1', credentials: null, exclude: 'tmp/*' } })).status).toBe(201);
  });

  it('a node uploads a squashfs with the credential alone; the job ends ready and the image has it', async () => {
    const { name } = await createImage();
    const job = await startCapture(name, { uid: 'node0003' });
    const seen = expectData(await captureStatus(job.credential), 200, 'job status');
    expect(seen).toMatchObject({ capture_id: job.capture_id, state: 'pending' });
    const data = await makeSquashfs({ bytes: 64 * 1024, comp: 'gzip' });
    const accepted = await captureUpload(job.credential, data);
    expect(accepted.fmt).toBe('cwsquash');

    const ended = await waitForJob(name, job.capture_id);
    expect(ended).toMatchObject({ state: 'ready', upload_id: accepted.upload_id });
    const info = await call<{ chksum: string; fmt: string; size: number }>('GET', `/image/${name}/content/info`);
    expect(info.body.data).toMatchObject({ chksum: `sha1:${sha1Hex(data)}`, fmt: 'cwsquash', size: data.length });
    // The node can still read its job's verdict with the credential.
    expect((await captureStatus(job.credential)).body.data?.state).toBe('ready');
    const image = await call<{ content: Record<string, { last_modified_by?: string }> }>('GET', `/image/${name}`);
    expect(image.body.data?.content['last_modified_by']).toBe('admin1');
  });

  it('bytes that are not a squashfs fail the job with the reason; the image keeps its old content', async () => {
    const { name } = await createImage();
    const old = await uploadContent(name, makeContent(0, 1000));
    expect(old.state).toBe('ready');
    const before = (await call<{ chksum: string }>('GET', `/image/${name}/content/info`)).body.data?.chksum;

    const job = await startCapture(name);
    await captureUpload(job.credential, makeContent(0, 5000));
    const ended = await waitForJob(name, job.capture_id);
    expect(ended.state).toBe('failed');
    expect(ended.reason).toMatch(/squashfs/);
    expect((await call<{ chksum: string }>('GET', `/image/${name}/content/info`)).body.data?.chksum).toBe(before);
  });

  it('a capture upload is cwsquash: another fmt is refused', async () => {
    const { name } = await createImage();
    const job = await startCapture(name);
    const res = await captureStart(job.credential, { size: 100, fmt: 'raw' });
    expect(res.status).toBe(400);
    expect(res.body.reason).toMatch(/fmt must be cwsquash/);
  });

  it('a refused completion leaves the credential usable; a second job of the image is its own', async () => {
    const { name } = await createImage();
    const job = await startCapture(name);
    const data = await makeSquashfs({ bytes: 8192 });
    const session = expectData(await captureStart(job.credential, { size: data.length }), 201, 'start');
    const parts = await uploadParts(session, data);
    const wrong = await captureComplete(job.credential, session.upload_id, [{ part_number: 1, etag: '"0123"' }]);
    expect(wrong.status).toBe(400);
    expect((await captureStatus(job.credential)).body.data?.state).toBe('uploading');
    expect((await captureComplete(job.credential, session.upload_id, parts)).status).toBe(202);
    expect((await waitForJob(name, job.capture_id)).state).toBe('ready');
  });

  it("starting over aborts the earlier upload: only the latest is the job's", async () => {
    const { name } = await createImage();
    const job = await startCapture(name);
    const first = expectData(await captureStart(job.credential, { size: 10 }), 201, 'first start');
    const second = expectData(await captureStart(job.credential, { size: 10 }), 201, 'second start');
    const earlier = await call<{ state: string }>('GET', `/image/${name}/content/upload/${first.upload_id}`);
    expect(earlier.body.data?.state).toBe('aborted');
    expect((await captureStatus(job.credential)).body.data).toMatchObject({ state: 'uploading', upload_id: second.upload_id });
    const path = `/capture/${job.capture_id}/content/upload/${first.upload_id}`;
    const stale = await call('GET', path, withCredential(job.credential));
    expect(stale.status).toBe(404);
    expect(stale.body.reason).toBe(`no upload "${first.upload_id}" for capture ${job.capture_id}`);
  });

  it('revoke: the job fails as revoked, its open upload is aborted, and revoking again is a conflict', async () => {
    const { name } = await createImage();
    const job = await startCapture(name);
    const session = expectData(await captureStart(job.credential, { size: 10 }), 201, 'start');
    const revoked = await call<CaptureView>('DELETE', `/image/${name}/capture/${job.capture_id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.data).toMatchObject({ state: 'failed', reason: 'revoked by admin1' });
    const upload = await call<{ state: string }>('GET', `/image/${name}/content/upload/${session.upload_id}`);
    expect(upload.body.data?.state).toBe('aborted');
    const again = await call('DELETE', `/image/${name}/capture/${job.capture_id}`);
    expect(again.status).toBe(409);
    expect((await call('DELETE', `/image/${name}/capture/0123456789abcdef0123456789abcdef`)).status).toBe(404);
    expect((await captureStatus(job.credential)).status).toBe(403);
  });

  it('a frozen image takes no capture', async () => {
    const { name } = await createImage({ frozen: true });
    const res = await call('POST', `/image/${name}/capture`, { body: { uid: 'n1' } });
    expect(res.status).toBe(403);
    expect(res.body.reason).toMatch(/frozen/);
  });

  it('the credential header must be the job of the path', async () => {
    const { name } = await createImage();
    const job = await startCapture(name);
    const res = await call('GET', `/capture/${job.capture_id}`, withCredential(`${job.capture_id}.${'A'.repeat(43)}`));
    expect(res.status).toBe(403);
  });
});
