/**
 * Accessibility basics over the console's views: every control (field, list,
 * check box, button, link) has an accessible name, as Chromium's
 * accessibility tree computes it (Playwright's ARIA snapshot), and every
 * view has a heading to navigate by.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImage, stack } from '../integration/api.js';
import { consoleUrl, launch, newPage, signIn } from './browser.js';

let browser: Browser;
beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

const CONTROLS = ['textbox', 'searchbox', 'combobox', 'listbox', 'checkbox', 'radio', 'spinbutton', 'slider', 'button', 'link', 'switch'];

/** Controls in the page's accessibility tree that have no name, as the snapshot lists them. */
async function unnamedControls(page: Page): Promise<string[]> {
  const snapshot = await page.locator('body').ariaSnapshot();
  // A named node reads `- role "name"`; an unnamed one `- role` (maybe followed by `:` or attributes in brackets).
  return snapshot
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => {
      const m = /^- (\w+)(.*)$/.exec(line);
      return m?.[1] !== undefined && CONTROLS.includes(m[1]) && !/^\s*"/.test(m[2] ?? '');
    });
}

async function expectAccessible(page: Page, view: string): Promise<void> {
  expect(await unnamedControls(page), view).toEqual([]);
  expect(await page.getByRole('heading', { level: 2 }).count(), `${view}: a heading`).toBeGreaterThan(0);
}

describe('accessibility', () => {
  it('names every control of the sign-in, list, new-image and image views', async () => {
    const { uid } = await createImage({ distro: 'a11y', description: 'labelled' });
    const { context, page } = await newPage(browser);

    await page.goto(consoleUrl());
    await page.getByLabel('Token').waitFor();
    await expectAccessible(page, 'sign-in');

    await signIn(page, stack().tokens.admin);
    await page.getByRole('row').nth(1).waitFor();
    await expectAccessible(page, 'list');

    await page.getByRole('button', { name: 'New image' }).click();
    await page.getByRole('heading', { name: 'New image' }).waitFor();
    await expectAccessible(page, 'new image');

    await page.goto(`${consoleUrl()}#/image/${uid}`);
    await page.getByText('labelled').first().waitFor();
    await expectAccessible(page, 'image');
    await context.close();
  });

  it('finds an unnamed control (the check itself works)', async () => {
    const { context, page } = await newPage(browser);
    await page.setContent('<main><h2>t</h2><input type="text"><button></button><label>Named <input></label></main>');
    expect(await unnamedControls(page)).toEqual(['- textbox', '- button']);
    await context.close();
  });
});
