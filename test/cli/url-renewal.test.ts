/**
 * Expired part URLs are renewed. A separate local stack whose presigned URLs
 * live 3 s (UPLOAD_URL_EXPIRY_SECONDS=3), and an upload whose parts are each
 * held back 3.5 s after taking their URL (IMGCTL_TEST_PART_DELAY_MS), as on a
 * congested link. The local S3 refuses an expired URL (403 "Request has
 * expired"), so the upload only ends ready if imgctl renewed the URLs
 * through the session route and sent the parts again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
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
      await run(['upload', name, file, '--part-size', '5M', '-c', '1', '-v'], {
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
});
