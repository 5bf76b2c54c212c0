/** The web console in Chromium, against the test run's local stack. */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP } from '../../infra/constructs/console-site.js';
import { call, createImage, stack, uniqueName } from '../integration/api.js';
import { consoleUrl, count, exactText, launch, newPage, signIn, text, visible } from './browser.js';

let browser: Browser;
let dir: string;

beforeAll(async () => {
  browser = await launch();
  dir = await mkdtemp(join(tmpdir(), 'console-test-'));
});
afterAll(async () => {
  await browser?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const sha1 = (data: Buffer): string => createHash('sha1').update(data).digest('hex');

async function openImage(page: Page, uid: string): Promise<void> {
  await page.goto(`${consoleUrl()}#/image/${uid}`);
  await page.getByRole('heading', { level: 2 }).waitFor();
}

describe('sign-in', () => {
  it('takes a token, keeps it in sessionStorage only, shows the role, and signs out', async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, stack().tokens.admin);
    await visible(page.getByText('admin1 (admin)'));
    // Evaluated in the page (a string: this file is compiled without the DOM's types).
    const stored = (await page.evaluate('({ session: Object.keys(sessionStorage), cookie: document.cookie })')) as {
      session: string[];
      cookie: string;
    };
    expect(stored.session).toContain('image-service.token');
    expect(stored.cookie).toBe('');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await visible(page.getByLabel('Token'));
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    await context.close();
  });

  it("refuses a bad token with the API's reason, and works with the keyboard alone", async () => {
    const { context, page } = await newPage(browser);
    await page.goto(consoleUrl());
    await page.keyboard.press('Tab'); // header link
    await page.getByLabel('Token').focus();
    await page.keyboard.type(stack().tokens.expired);
    await page.keyboard.press('Enter');
    await text(page.getByRole('alert'), 'the token has expired');
    await page.getByLabel('Token').fill(stack().tokens.reader);
    await page.keyboard.press('Enter');
    await visible(page.getByText('reader1 (reader)'));
    await context.close();
  });
});

describe('images', () => {
  it('lets an admin create, edit, freeze, unfreeze, clone and delete, showing the reason of a refusal', async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, stack().tokens.admin);
    const name = uniqueName('web');
    await page.getByRole('button', { name: 'New image' }).click();
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByLabel('Distro').fill('rocky9');
    await page.getByLabel('Description').fill('made in a browser');
    await page.getByRole('button', { name: 'Create' }).click();
    await visible(page.getByRole('heading', { level: 2, name }));
    const uid = (await page.locator('dd.mono').first().textContent())!;
    const created = await call<{ distro: string; description: string }>('GET', `/image/${uid}`);
    expect(created.body.data).toMatchObject({ distro: 'rocky9', description: 'made in a browser' });

    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByRole('region', { name: 'Edit' }).getByLabel('Distro').fill('rocky10');
    await page.getByRole('button', { name: 'Save' }).click();
    await visible(page.getByRole('button', { name: 'Edit' }));
    await visible(page.getByText('rocky10'));
    expect((await call<{ distro: string }>('GET', `/image/${uid}`)).body.data?.distro).toBe('rocky10');

    await page.getByRole('button', { name: 'Freeze' }).click();
    await visible(page.getByRole('button', { name: 'Unfreeze' }));
    expect((await call<{ frozen: boolean }>('GET', `/image/${uid}`)).body.data?.frozen).toBe(true);
    // A frozen image refuses deletion: the envelope's reason is shown.
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Delete image' }).click();
    await text(page.getByRole('alert'), 'frozen');
    await page.getByRole('button', { name: 'Unfreeze' }).click();
    await visible(page.getByRole('button', { name: 'Freeze' }));

    await page.getByRole('button', { name: 'Clone' }).click();
    const cloneName = `${name}-clone`;
    await page.getByLabel('Name of the clone').fill(cloneName);
    await page.getByRole('button', { name: 'Create clone' }).click();
    await visible(page.getByRole('heading', { level: 2, name: cloneName }));
    await visible(page.getByRole('link', { name })); // the parent, by name

    // A name that is taken: 409 and its reason.
    await page.getByRole('button', { name: 'Clone' }).click();
    await page.getByLabel('Name of the clone').fill(name);
    await page.getByRole('button', { name: 'Create clone' }).click();
    await text(page.getByRole('alert'), 'HTTP 409');

    await openImage(page, uid);
    await visible(page.getByRole('region', { name: 'Children' }).getByRole('link', { name: cloneName }));
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Delete image' }).click();
    await visible(page.getByRole('heading', { level: 2, name: 'Images' }));
    expect((await call('GET', `/image/${uid}`)).status).toBe(404);
    await context.close();
  });

  it('shows a reader everything read-only, and searches, filters and pages the list', async () => {
    const distro = uniqueName('distro');
    const names: string[] = [];
    for (let i = 0; i < 12; i++) names.push((await createImage({ distro, description: `number ${i}` })).name);
    const { context, page } = await newPage(browser);
    await signIn(page, stack().tokens.reader);
    await count(page.getByRole('button', { name: 'New image' }), 0);

    // Ten a page: Next to the last two, and back.
    await page.getByLabel('Distro').fill(distro);
    await page.getByLabel('Per page').selectOption('10');
    await page.getByRole('button', { name: 'Search' }).click();
    // The unfiltered first page may also show eleven rows: wait for ten of this distro.
    await count(page.getByRole('row').filter({ hasText: distro }), 10);
    await count(page.getByRole('row'), 11); // a header and ten images
    await page.getByRole('button', { name: 'Next page' }).click();
    await visible(page.getByText('Page 2'));
    await count(page.getByRole('row'), 3);
    expect(await page.getByRole('button', { name: 'Next page' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Previous page' }).click();
    await visible(page.getByText('Page 1'));
    await count(page.getByRole('row'), 11);

    await page.getByLabel('Distro').fill('');
    await page.getByLabel('Name', { exact: true }).fill(names[1]!);
    await page.getByRole('button', { name: 'Search' }).click();
    await count(page.getByRole('row'), 2);

    await page.getByLabel('Name', { exact: true }).fill(names[0]!);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('link', { name: names[0]! }).click();
    await visible(page.getByText('number 0'));
    for (const action of ['Edit', 'Freeze', 'Clone', 'Delete image', 'Upload']) {
      await count(page.getByRole('button', { name: action, exact: true }), 0);
    }
    await context.close();
  });
});

describe('content', () => {
  /** 16 MiB and a bit: four parts of 5 MiB, the last one short. */
  async function contentFile(): Promise<{ path: string; data: Buffer }> {
    const data = randomBytes(16 * 1024 * 1024 + 12345);
    const path = join(dir, `${uniqueName('file')}.img`);
    await writeFile(path, data);
    return { path, data };
  }

  it('uploads in parallel parts with progress, shows the sha1, and downloads the same bytes', async () => {
    const { uid } = await createImage();
    const { path, data } = await contentFile();
    const { context, page } = await newPage(browser);
    await signIn(page, stack().tokens.admin);
    await openImage(page, uid);
    const puts: string[] = [];
    page.on('request', (r) => r.method() === 'PUT' && r.url().startsWith(stack().s3Endpoint) && puts.push(r.url()));
    await page.getByLabel('Content file').setInputFiles(path);
    await page.getByLabel('Format (optional)').fill('raw');
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    await text(page.getByRole('status').and(page.locator('[data-phase=uploading]')), /of 16\.0 MiB, .*\/s, .* left/);
    await exactText(page.getByLabel('sha1'), sha1(data), 60_000);
    expect(puts).toHaveLength(4);
    const info = await call<{ chksum: string; fmt: string }>('GET', `/image/${uid}/content/info`);
    expect(info.body.data).toMatchObject({ chksum: `sha1:${sha1(data)}`, fmt: 'raw' });

    await page.reload();
    const downloading = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download' }).click();
    const download = await downloading;
    const saved = await download.path();
    expect(sha1(await readFile(saved))).toBe(sha1(data));
    await context.close();
  });

  it('resumes after a reload, sending only the parts S3 does not hold', async () => {
    const { uid } = await createImage();
    const { path, data } = await contentFile();
    const { context, page } = await newPage(browser);
    await signIn(page, stack().tokens.admin);
    await openImage(page, uid);

    // Parts 1 and 2 reach S3; 3 and 4 hang until the page goes away.
    const held: Route[] = [];
    let through = 0;
    const twoParts = new Promise<void>((resolve) => {
      void page.route(`${stack().s3Endpoint}/**`, async (route) => {
        const partNumber = new URL(route.request().url()).searchParams.get('partNumber');
        if (route.request().method() === 'PUT' && (partNumber === '3' || partNumber === '4')) {
          held.push(route);
          return;
        }
        const response = await route.fetch();
        await route.fulfill({ response });
        if (route.request().method() === 'PUT' && ++through === 2) resolve();
      });
    });
    await page.getByLabel('Content file').setInputFiles(path);
    await page.getByLabel('Format (optional)').fill('raw');
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    await twoParts;
    expect(held.length).toBeGreaterThan(0);
    // Reload with the parts still held: they die with the page and never reach S3.
    await page.reload();
    await page.unrouteAll({ behavior: 'ignoreErrors' });

    await text(page.getByRole('note'), 'was interrupted');
    const puts: string[] = [];
    page.on('request', (r) => r.method() === 'PUT' && r.url().startsWith(stack().s3Endpoint) && puts.push(r.url()));
    await page.getByLabel('Content file').setInputFiles(path);
    await page.getByLabel('Format (optional)').fill('raw');
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    await exactText(page.getByLabel('sha1'), sha1(data), 60_000);
    await text(page.getByRole('status'), 'resumed: 2 of 4 parts');
    expect(puts.map((u) => new URL(u).searchParams.get('partNumber')).sort()).toEqual(['3', '4']);
    await context.close();
  });

  it('cancels an upload: the session is aborted', async () => {
    const { uid } = await createImage();
    const { path } = await contentFile();
    const { context, page } = await newPage(browser);
    await signIn(page, stack().tokens.admin);
    await openImage(page, uid);
    let uploadId: string | undefined;
    page.on('response', async (r) => {
      if (r.request().method() === 'PUT' && r.url().endsWith(`/image/${uid}/content`)) {
        uploadId = ((await r.json()) as { data: { upload_id: string } }).data.upload_id;
      }
    });
    // Hold every part so that the upload is surely in flight when cancelled.
    await page.route(`${stack().s3Endpoint}/**`, (route) => (route.request().method() === 'PUT' ? undefined : route.continue()));
    await page.getByLabel('Content file').setInputFiles(path);
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    await page.getByRole('button', { name: 'Cancel upload' }).click();
    await exactText(page.getByRole('status'), 'Cancelled');
    await expect
      .poll(async () => (await call<{ state: string }>('GET', `/image/${uid}/content/upload/${uploadId}`)).body.data?.state)
      .toBe('aborted');
    expect(await page.evaluate("Object.keys(localStorage).filter((k) => k.startsWith('image-service.upload.'))")).toEqual([]);
    await page.unrouteAll({ behavior: 'ignoreErrors' });
    await context.close();
  });
});

describe('static files', () => {
  it('serves the OpenAPI description without a token, and a reference page that loads nothing from elsewhere', async () => {
    const res = await fetch(`${consoleUrl()}api/v1/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toContain('/api/v1/image/{id}/content/upload/{upload_id}');

    const { context, page } = await newPage(browser);
    const elsewhere: string[] = [];
    const origin = new URL(consoleUrl()).origin;
    page.on('request', (r) => !r.url().startsWith(origin) && !r.url().startsWith('data:') && elsewhere.push(r.url()));
    await page.goto(`${consoleUrl()}reference/`);
    await visible(page.getByText('Create an image').first(), 30_000);
    expect(elsewhere).toEqual([]);
    await context.close();
  });

  it('runs the reference page and the sign-in page under the deployed Content-Security-Policy', async () => {
    const { context, page } = await newPage(browser);
    const origin = new URL(consoleUrl()).origin;
    // CloudFront adds the header (infra/constructs/console-site.ts); here the test does.
    await page.route(`${origin}/**`, async (route) => {
      const res = await route.fetch();
      await route.fulfill({ response: res, headers: { ...res.headers(), 'content-security-policy': CONSOLE_CSP } });
    });
    const refused: string[] = [];
    page.on('console', (m) => /Content Security Policy/i.test(m.text()) && refused.push(m.text()));
    page.on('pageerror', (e) => refused.push(e.message));
    await page.goto(`${consoleUrl()}reference/`);
    await visible(page.getByText('Create an image').first(), 30_000);
    await page.goto(consoleUrl());
    await visible(page.getByLabel('Token'));
    expect(refused).toEqual([]);
    await page.unrouteAll({ behavior: 'ignoreErrors' });
    await context.close();
  });
});
