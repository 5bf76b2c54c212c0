/**
 * The console's browser upload against imgctl: 1 GiB of random bytes to the
 * same local stack, in the same run. Target: the browser at least half of
 * imgctl's rate.
 *
 * Both times cover the same work: the session, the parts sent in parallel
 * through presigned URLs, and the completion (imgctl with --no-wait returns
 * then; the console's progress leaves "uploading"/"completing" for the
 * service's check). The check itself (the hasher) is not timed; the stack is
 * let settle before each measurement so that no hasher competes with it.
 * The browser is Debian's chromium driven by playwright-core, as in
 * test/browser; without it the row is skipped, saying so.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { chromium } from 'playwright-core';
import { startLocalStack } from '../local/stack.js';
import { fmt, GiB, MiB, mbPerSec, timeCommand, verdict } from './lib/measure.js';

const SIZE = GiB;
const TARGET = 0.5;
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const IMGCTL = join(dirname(fileURLToPath(import.meta.url)), '..', 'cli/bin/imgctl.js');

if (!existsSync(CHROMIUM)) {
  console.log(`no browser at ${CHROMIUM} (apt-get install -y chromium): console upload row skipped`);
  process.exit(0);
}

async function writeRandomFile(path: string, size: number): Promise<void> {
  const fh = await open(path, 'w');
  try {
    for (let off = 0; off < size; off += 64 * MiB) {
      const n = Math.min(64 * MiB, size - off);
      await fh.write(randomBytes(n), 0, n, off);
    }
  } finally {
    await fh.close();
  }
}

const dir = await mkdtemp(join(tmpdir(), 'console-bench-'));
const stack = await startLocalStack({ dataDir: join(dir, 'stack'), port: 0 });
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless', '--disable-gpu'] });
try {
  const token = await stack.token('bench', { admin: true });
  const home = join(dir, 'home');
  Object.assign(process.env, {
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_STATE_HOME: join(home, '.state'),
    IMGCTL_URL: stack.apiUrl,
    IMGCTL_TOKEN: token,
  });
  const imgctl = (...args: string[]) => timeCommand(process.execPath, [IMGCTL, '--quiet', ...args]);
  const settle = async () => {
    await stack.settled();
    spawnSync('sync');
  };

  const file = join(dir, 'image.bin');
  await writeRandomFile(file, SIZE);
  await imgctl('create', 'CliBench');
  const uid = (await imgctl('create', 'ConsoleBench')).stdout.trim(); // create prints the UID

  await settle();
  const cli = await imgctl('upload', 'CliBench', file, '--no-wait');

  await settle();
  const origin = new URL(stack.apiUrl).origin;
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${origin}/`);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  await page.goto(`${origin}/#/image/${uid}`);
  await page.getByLabel('Content file').setInputFiles(file);
  const started = performance.now();
  await page.getByRole('button', { name: 'Upload', exact: true }).click();
  await page.locator('[data-phase=checking], [data-phase=ready], [data-phase=failed]').waitFor({ timeout: 30 * 60_000 });
  const browserMs = performance.now() - started;
  const phase = await page.locator('[role=status][data-phase]').getAttribute('data-phase');
  if (phase === 'failed') throw new Error(`the console's upload failed: ${await page.getByRole('status').textContent()}`);

  const cliRate = mbPerSec(SIZE, cli.ms);
  const browserRate = mbPerSec(SIZE, browserMs);
  const ratio = browserRate / cliRate;
  console.log(`upload 1 GiB  imgctl   ${fmt(cli.ms / 1000)} s  ${fmt(cliRate)} MB/s`);
  console.log(`upload 1 GiB  console  ${fmt(browserMs / 1000)} s  ${fmt(browserRate)} MB/s (chromium)`);
  console.log(`console / imgctl = ${fmt(ratio, 2)} (target >= ${TARGET}) ${verdict(ratio, TARGET)}`);
  await settle();
} finally {
  await browser.close();
  await stack.stop();
  await rm(dir, { recursive: true, force: true });
}
