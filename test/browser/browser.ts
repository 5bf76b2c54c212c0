/**
 * A real browser for the console's tests: Debian's chromium driven by
 * playwright-core (which downloads nothing). Missing chromium fails the tests
 * with what to install; .ci/run installs it.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { stack } from '../integration/api.js';

export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

export async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium), as .ci/run does`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--headless',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** The console's URL: the API's origin, as `npm start` prints it. */
export const consoleUrl = (): string => `${new URL(stack().apiUrl).origin}/`;

export async function newPage(browser: Browser): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  return { context, page };
}

export async function signIn(page: Page, token: string): Promise<void> {
  await page.goto(consoleUrl());
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/* Waiting on the page: Playwright's own assertions live in @playwright/test, which this project does not use. */
const WAIT = { timeout: 30_000, interval: 100 };

export async function visible(locator: Locator, timeout = WAIT.timeout): Promise<void> {
  await locator.first().waitFor({ state: 'visible', timeout });
}

/** Waits until the text of the (first) element contains `want`, or matches it. */
export async function text(locator: Locator, want: string | RegExp, timeout = WAIT.timeout): Promise<void> {
  await expect
    .poll(async () => ((await locator.count()) > 0 ? ((await locator.first().textContent()) ?? '') : ''), { ...WAIT, timeout })
    .toMatch(typeof want === 'string' ? new RegExp(want.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : want);
}

export async function exactText(locator: Locator, want: string, timeout = WAIT.timeout): Promise<void> {
  await expect
    .poll(async () => ((await locator.count()) > 0 ? (await locator.first().textContent())?.trim() : undefined), { ...WAIT, timeout })
    .toBe(want);
}

export async function count(locator: Locator, n: number): Promise<void> {
  await expect.poll(() => locator.count(), WAIT).toBe(n);
}
