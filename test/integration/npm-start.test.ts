/**
 * `npm start` as a newcomer runs it: a real process with its own data
 * directory. Data survives a restart; stopping (or killing) it leaves no Java
 * behind; start-up problems give one clear line, not a stack trace.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'image-service-start-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Started {
  child: ChildProcess;
  apiUrl: string;
  output: () => string;
}

function run(env: Record<string, string>): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts'], {
    cwd: root,
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, output: () => output, exit };
}

async function start(dataDir: string): Promise<Started> {
  const { child, output, exit } = run({ DATA_DIR: dataDir });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const m = /Image Service is up: (\S+)/.exec(output());
    if (m?.[1]) return { child, apiUrl: m[1], output };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  await exit;
  throw new Error(`npm start did not come up:\n${output()}`);
}

function token(dataDir: string, ...args: string[]): string {
  return execFileSync(process.execPath, ['--import', 'tsx', 'local/token.ts', ...args], {
    cwd: root,
    env: { ...process.env, DATA_DIR: dataDir },
  })
    .toString()
    .trim();
}

/** Java processes serving this data directory (DynamoDB Local's -dbPath). */
function javaFor(dataDir: string): string[] {
  try {
    return execFileSync('pgrep', ['-f', `^java .*DynamoDBLocal.jar.*${dataDir}`]).toString().trim().split('\n').filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

describe('npm start', () => {
  it('keeps data across a restart, and SIGTERM stops everything', async () => {
    const dataDir = tempDir();
    const first = await start(dataDir);
    expect(first.output()).toMatch(/npm run --silent token -- --user admin1 --admin/);
    const admin = token(dataDir, '--user', 'ops', '--admin');
    expect(admin).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const created = await fetch(`${first.apiUrl}/images`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}` },
      body: JSON.stringify({ name: 'Persistent', distro: 'Rocky' }),
    });
    expect(created.status).toBe(201);
    const uid = ((await created.json()) as { data: string }).data;
    expect(javaFor(dataDir)).toHaveLength(1);

    first.child.kill('SIGTERM');
    const code = await new Promise((r) => first.child.once('exit', r));
    expect(code).toBe(0);
    expect(javaFor(dataDir)).toEqual([]);

    const second = await start(dataDir);
    try {
      // A token made before the restart still verifies: the key is kept in the data directory.
      const got = await fetch(`${second.apiUrl}/image/Persistent`, { headers: { authorization: `Bearer ${admin}` } });
      expect(got.status).toBe(200);
      expect(((await got.json()) as { data: { uid: string; distro: string } }).data).toMatchObject({ uid, distro: 'Rocky' });

      // A second stack on the same data directory is refused with one line.
      const clash = run({ DATA_DIR: dataDir });
      expect(await clash.exit).toBe(1);
      expect(clash.output().trim()).toMatch(/^npm start: another local stack \(pid \d+\) is using .*: stop it, or give this one its own DATA_DIR$/);
    } finally {
      second.child.kill('SIGINT');
      await new Promise((r) => second.child.once('exit', r));
    }
    expect(javaFor(dataDir)).toEqual([]);
  });

  it('leaves no Java process behind when it is killed outright', async () => {
    const dataDir = tempDir();
    const started = await start(dataDir);
    expect(javaFor(dataDir)).toHaveLength(1);
    started.child.kill('SIGKILL');
    expect(await until(() => javaFor(dataDir).length === 0, 15_000)).toBe(true);
  });

  it('says in one line that the port is taken', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const { exit, output } = run({ DATA_DIR: tempDir(), PORT: String(port) });
      expect(await exit).toBe(1);
      expect(output().trim()).toBe(`npm start: port ${port} for the API is already in use: stop what uses it or choose another with PORT=<port>`);
    } finally {
      server.close();
    }
  });

  it('says in one line that Java is missing', async () => {
    const bin = tempDir();
    symlinkSync(process.execPath, join(bin, 'node'));
    symlinkSync(execFileSync('sh', ['-c', 'command -v sh']).toString().trim(), join(bin, 'sh'));
    const { exit, output } = run({ DATA_DIR: tempDir(), PATH: bin });
    expect(await exit).toBe(1);
    expect(output().trim()).toMatch(/^npm start: Java 17 or newer is needed for DynamoDB Local and none was found: install it/);
  });

  it('says in one line that the data directory is corrupt', async () => {
    const dataDir = tempDir();
    mkdirSync(join(dataDir, 'dynamodb'));
    writeFileSync(join(dataDir, 'dynamodb', 'shared-local-instance.db'), Buffer.alloc(65536, 7));
    const { exit, output } = run({ DATA_DIR: dataDir });
    expect(await exit).toBe(1);
    expect(output().trim()).toMatch(/^npm start: DynamoDB Local cannot use its data in .*dynamodb .*move that directory away/);
    expect(javaFor(dataDir)).toEqual([]);
  });

  it('refuses a PORT that is not a port', async () => {
    const { exit, output } = run({ DATA_DIR: tempDir(), PORT: 'eighty' });
    expect(await exit).toBe(1);
    expect(output().trim()).toBe('npm start: PORT must be a port number (0-65535), got "eighty"');
  });
});

describe('npm run token', () => {
  it('prints only the token, and refuses a missing user with usage', () => {
    const dataDir = tempDir();
    const out = token(dataDir, '--user', 'alice', '--ttl', '30m');
    expect(out.split('\n')).toHaveLength(1);
    const claims = JSON.parse(Buffer.from(out.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(claims).toMatchObject({ username: 'alice', 'cognito:groups': [] });
    expect(Number(claims['exp']) - Number(claims['iat'])).toBe(1800);
    expect(() => token(dataDir)).toThrow(/--user is required/);
  });
});
