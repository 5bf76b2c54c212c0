/**
 * The console's deployed sign-in, Cognito's hosted UI with the authorization
 * code and PKCE, run in Chromium against a local stand-in for Cognito
 * (cognito-fixture.ts). The page gets the config.json the stack deploys for
 * Cognito (infra/constructs/console-site.ts; test/infra/console-site.test.ts
 * holds that file to the same reading), pointing at the stand-in.
 */
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsoleConfig } from '../../console/src/config.js';
import { loadKeys } from '../../local/tokens.js';
import { createImage, stack } from '../integration/api.js';
import { consoleUrl, launch, text, visible } from './browser.js';
import { CLIENT_ID, type Provider, startProvider } from './cognito-fixture.js';

let browser: Browser;
let provider: Provider;

beforeAll(async () => {
  browser = await launch();
  provider = await startProvider({
    keys: await loadKeys(stack().dataDir),
    consoleUrl: consoleUrl(),
    users: { carol: ['admins'], dave: [] },
    // Inside the console's renewal margin: its first API call renews the token first.
    codeTokenSeconds: 30,
  });
});
afterAll(async () => {
  await browser?.close();
  await provider?.close();
});

/** A browser context whose console is configured for Cognito, as the deployed stack writes config.json. */
async function cognitoContext(): Promise<{ context: BrowserContext; page: Page; apiTokens: string[] }> {
  const context = await browser.newContext();
  const config: ConsoleConfig = {
    api: '/api/v1',
    auth: { kind: 'cognito', domain: provider.url, clientId: CLIENT_ID, scopes: ['openid', 'profile', 'email'] },
    groupsClaim: 'cognito:groups',
    adminGroup: 'admins',
    userClaim: 'username',
  };
  await context.route(`${consoleUrl()}config.json`, (route) => route.fulfill({ json: config }));
  const page = await context.newPage();
  const apiTokens: string[] = [];
  page.on('request', (request: Request) => {
    const auth = request.headers()['authorization'];
    if (request.url().startsWith(`${consoleUrl()}api/`) && auth) apiTokens.push(auth.replace(/^Bearer /, ''));
  });
  return { context, page, apiTokens };
}

async function signInAs(page: Page, user: string): Promise<void> {
  await page.goto(consoleUrl());
  await page.getByRole('button', { name: 'Sign in with Cognito' }).click();
  await page.waitForURL(`${provider.url}/oauth2/authorize?**`);
  await page.getByLabel('Username').fill(user);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

const session = (page: Page) => page.evaluate('({ ...sessionStorage })') as Promise<Record<string, string>>;

describe('Cognito sign-in (hosted UI, authorization code with PKCE)', () => {
  it('signs an admin in, renews the short-lived token before calling the API, and signs out through /logout', async () => {
    const { name } = await createImage();
    const { context, page, apiTokens } = await cognitoContext();
    await signInAs(page, 'carol');
    await visible(page.getByText('carol (admin)'));
    // The code and state are gone from the address bar; the list came from the API.
    expect(new URL(page.url()).search).toBe('');
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByRole('button', { name: 'Search' }).click();
    await visible(page.getByRole('row').filter({ hasText: name }));
    await visible(page.getByRole('button', { name: 'New image' }));

    // The code bought a 30 s token; the console renewed it once and sent only the renewed one.
    expect(provider.events.filter((e) => e.startsWith('token:'))).toEqual(['token:authorization_code', 'token:refresh_token']);
    expect(apiTokens.length).toBeGreaterThan(0);
    expect(new Set(apiTokens)).toEqual(new Set([provider.accessTokens.at(-1)]));
    const kept = await session(page);
    expect(kept['image-service.token']).toBe(provider.accessTokens.at(-1));
    const refresh = kept['image-service.refresh'];
    expect(refresh).toBeTruthy();

    // The console is at its own URL before and after /logout, and shows the sign-in
    // button before it leaves: wait for the page that /logout sends the browser back to.
    const back = page.waitForResponse((r) => r.url() === consoleUrl() && r.request().isNavigationRequest());
    await page.getByRole('button', { name: 'Sign out' }).click();
    await back;
    await page.waitForLoadState('load');
    await visible(page.getByRole('button', { name: 'Sign in with Cognito' }));
    expect(provider.events.slice(-2)).toEqual(['revoke', 'logout']);
    expect(provider.revoked(refresh ?? '')).toBe(true);
    expect(await session(page)).toEqual({});
    expect(provider.refused).toEqual([]);
    await context.close();
  });

  it('shows a user without the admin group as a reader', async () => {
    const { context, page } = await cognitoContext();
    await signInAs(page, 'dave');
    await visible(page.getByText('dave (reader)'));
    await page.getByRole('button', { name: 'Search' }).waitFor();
    expect(await page.getByRole('button', { name: 'New image' }).count()).toBe(0);
    expect(provider.refused).toEqual([]);
    await context.close();
  });

  it('refuses an answer that does not match its request, and shows the reason of a refused sign-in', async () => {
    const { context, page } = await cognitoContext();
    await page.goto(`${consoleUrl()}?code=forged&state=forged`);
    await text(page.getByRole('alert'), 'does not match the request');
    expect(provider.events.at(-1)).not.toBe('token:authorization_code');
    await page.goto(`${consoleUrl()}?error=access_denied&error_description=User%20is%20disabled.`);
    await text(page.getByRole('alert'), 'User is disabled.');
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
    await context.close();
  });
});
