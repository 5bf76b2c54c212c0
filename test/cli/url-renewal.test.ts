/**
 * Expired part URLs are renewed. A separate local stack whose presigned URLs
 * live 3 s (UPLOAD_URL_EXPIRY_SECONDS=3), and an upload whose parts are each
 * held back 3.5 s after taking their URL (IMGCTL_TEST_PART_DELAY_MS), as on a
 * congested link. The local S3 refuses an expired URL (403 "Request has
 * expired"), so the upload only ends ready if imgctl renewed the URLs
 * through the session route and sent the parts again.
 *
 * Expired tokens are renewed too: an upload held by --limit-rate to longer
 * than the life of its 20 s tokens, which come from a token command
 * (`npm run token` with this stack's DATA_DIR), renews its token on the way
 * and goes on renewing part URLs and completing with the fresh one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countLines, expectCode, imgctl, newHome, ROOT, sha1OfFile } from './helpers.js';

const MIB = 1024 * 1024;
const URL_LIFETIME_S = 3;

let dataDir: string;
let home: string;
let child: ChildProcess | undefined;
let apiUrl: string;
let token: string;

/** A node script of the checkout, run through tsx with `env` over this process's environment. */
function nodeScript(args: string[], env: Record<string, string>): ChildProcess {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) base[k] = v;
  // Ports of the shared stack must not leak into this one.
  for (const k of ['PORT', 'DYNAMODB_PORT', 'S3_PORT', 'UPLOAD_URL_EXPIRY_SECONDS']) delete base[k];
  return spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: ROOT, env: { ...base, ...env }, stdio: 'pipe' });
}

function waitForLine(proc: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms; output so far:\n${seen}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      seen += chunk.toString('utf8');
      const m = pattern.exec(seen);
      if (m) {
        clearTimeout(timer);
        proc.stdout?.off('data', onData);
        resolve(m);
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', (chunk: Buffer) => (seen += chunk.toString('utf8')));
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code ?? signal}) before ${pattern}; output:\n${seen}`));
    });
  });
}

async function output(proc: ChildProcess): Promise<string> {
  let stdout = '';
  let stderr = '';
  proc.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  proc.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const code = await new Promise<number | null>((resolve) => proc.once('close', resolve));
  if (code !== 0) throw new Error(`exit ${code}: ${stderr}`);
  return stdout;
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'imgctl-renewal-stack-'));
  home = await newHome();
  const env = { PORT: '0', DATA_DIR: dataDir, UPLOAD_URL_EXPIRY_SECONDS: String(URL_LIFETIME_S) };
  child = nodeScript(['local/start.ts'], env);
  const up = await waitForLine(child, /Image Service is up: (\S+)/, 90_000);
  apiUrl = up[1] ?? '';
  child.stdout?.resume();
  child.stderr?.resume();
  token = (await output(nodeScript(['local/token.ts', '--user', 'u', '--admin'], { DATA_DIR: dataDir }))).trim();
}, 120_000);

afterAll(async () => {
  const proc = child;
  if (proc && proc.exitCode === null && proc.signalCode === null) {
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGTERM');
    await exited;
  }
  await rm(dataDir, { recursive: true, force: true });
}, 60_000);

describe('part URL renewal', () => {
  it('parts whose URLs expired on the way are refused by S3, renewed and sent again; the upload ends ready', async () => {
    const run = (args: string[], env: Record<string, string> = {}) => imgctl(args, { home, url: apiUrl, token, env });
    const name = `renewal-${randomBytes(4).toString('hex')}`;
    expectCode(await run(['create', name]), 0);
    const file = join(home, 'renewal.img');
    await writeFile(file, randomBytes(6 * MIB + 1));
    const sha1 = await sha1OfFile(file);

    const up = expectCode(
      await run(['upload', name, file, '--part-size', '5M', '-c', '1', '-v', '--fmt', 'raw'], {
        IMGCTL_TEST_PART_DELAY_MS: String(URL_LIFETIME_S * 1000 + 500),
      }),
      0,
    );
    // Each part's first PUT arrived with an expired URL and was refused...
    expect(up.stderr).toMatch(/^\[imgctl\] part 1: HTTP 403 AccessDenied: Request has expired; retry 1\//m);
    expect(up.stderr).toMatch(/^\[imgctl\] part 2: HTTP 403 AccessDenied: Request has expired; retry 1\//m);
    // ...then went with a renewed one.
    expect(countLines(up.stderr, /^\[imgctl\] renewed \d+ part URLs$/)).toBeGreaterThanOrEqual(2);
    expect(countLines(up.stderr, /^\[imgctl\] part \d\/2 sent/)).toBe(2);
    expect(up.stdout).toContain(`sha1:${sha1} checked by the service`);
  }, 60_000);

  it('an upload that outlives its token succeeds: the token command renews it on the way', async () => {
    const tokenHome = await newHome();
    const runs = join(tokenHome, 'token-runs.log');
    const command = `echo run >> ${runs}; DATA_DIR=${dataDir} npm run --silent token -- --user slow-link --admin --ttl 20s`;
    const run = (args: string[]) => imgctl(args, { home: tokenHome, url: apiUrl, token: null });
    const login = expectCode(await run(['login', '--token-command', command]), 0);
    expect(login.stderr).toMatch(/logged in to \S+ as slow-link \(admin\)/);
    const saved = JSON.parse(await readFile(join(tokenHome, '.config/imgctl/config.json'), 'utf8')) as Record<string, unknown>;
    expect(saved['token_command']).toBe(command);

    const name = `token-${randomBytes(4).toString('hex')}`;
    expectCode(await run(['create', name]), 0);
    const file = join(tokenHome, 'slow.img');
    // 12.5 MiB at 512 KiB/s: about 25 s, longer than a token lives.
    await writeFile(file, randomBytes(12 * MIB + MIB / 2));
    const sha1 = await sha1OfFile(file);
    const up = expectCode(
      await run(['upload', name, file, '--part-size', '5M', '-c', '1', '--limit-rate', '512k', '-v', '--fmt', 'raw']),
      0,
    );
    expect(up.stdout).toContain(`sha1:${sha1} checked by the service`);

    const lines = up.stderr.split('\n');
    const renewedToken = lines.findIndex((l) => /^\[imgctl\] renewed the token through the token command/.test(l));
    const firstPart = lines.findIndex((l) => /^\[imgctl\] part 1\/3 sent/.test(l));
    const lastPart = lines.findIndex((l) => /^\[imgctl\] part 3\/3 sent/.test(l));
    // Renewed while the parts were on their way, and part URLs renewed after that, with the new token.
    expect(renewedToken).toBeGreaterThan(firstPart);
    expect(renewedToken).toBeLessThan(lastPart);
    expect(lines.slice(renewedToken).some((l) => /^\[imgctl\] renewed \d+ part URLs$/.test(l))).toBe(true);
    // Once for the login, and at least once during the upload.
    expect((await readFile(runs, 'utf8')).trim().split('\n').length).toBeGreaterThanOrEqual(2);
  }, 120_000);
});
