/**
 * `npm start` as a newcomer runs it: a real process with its own data
 * directory. Data survives a restart; stopping (or killing) it leaves no Java
 * behind; start-up problems give one clear line, not a stack trace.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { portFree } from '../../local/ports.js';

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
  exit: Promise<number | null>;
}

/** `npm start` as the README says (`via: 'npm'`), or its script's node process alone. */
function run(
  env: Record<string, string>,
  via: 'npm' | 'node' = 'node',
): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  const [command, args] = via === 'npm' ? ['npm', ['start']] : [process.execPath, ['--import', 'tsx', 'local/start.ts']];
  const child = spawn(command, args, {
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

async function start(dataDir: string, via: 'npm' | 'node' = 'node', env: Record<string, string> = {}): Promise<Started> {
  const { child, output, exit } = run({ DATA_DIR: dataDir, ...env }, via);
  // Java's start alone takes a minute when the machine is busy.
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    const m = /Image Service is up: (\S+)/.exec(output());
    if (m?.[1]) return { child, apiUrl: m[1], output, exit };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  await exit;
  throw new Error(`npm start did not come up:\n${output()}`);
}

/** Is something accepting connections on 127.0.0.1:port? */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The node process npm runs the script in (npm execs it, so it is npm's child). */
function scriptPid(npmPid: number): number {
  const pids = execFileSync('pgrep', ['-P', String(npmPid), '-f', 'local/start.ts'])
    .toString()
    .trim()
    .split('\n');
  expect(pids).toHaveLength(1);
  return Number(pids[0]);
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
    return execFileSync('pgrep', ['-f', `^java .*DynamoDBLocal.jar.*${dataDir}`])
      .toString()
      .trim()
      .split('\n')
      .filter(Boolean);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

/** A free port that the kernel never hands out for port 0 (Linux's ephemeral range starts at 32768). */
async function portBelowEphemeralRange(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    if (await portFree(port)) return port;
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

// Each of these starts Java; on a busy machine that alone takes tens of seconds.
describe('npm start', { timeout: 480_000 }, () => {
  // What service managers, `timeout` and CI runners do: signal the npm process itself, then wait 10 s.
  it.each(['SIGTERM', 'SIGHUP'] as const)("%s to npm's own pid stops everything within 10 s", async (signal) => {
    const dataDir = tempDir();
    const npm = await start(dataDir, 'npm');
    const node = scriptPid(npm.child.pid!);
    const ports = [
      /Image Service is up: http:\/\/127\.0\.0\.1:(\d+)/,
      /DynamoDB: +http:\/\/127\.0\.0\.1:(\d+)/,
      /S3: +http:\/\/127\.0\.0\.1:(\d+)/,
    ].map((re) => Number(re.exec(npm.output())?.[1]));
    expect(ports.every((p) => p > 0)).toBe(true);
    expect(javaFor(dataDir)).toHaveLength(1);
    expect(existsSync(join(dataDir, 'stack.pid'))).toBe(true);

    npm.child.kill(signal);
    const state = async () => ({
      npmEnded: npm.child.exitCode !== null || npm.child.signalCode !== null,
      scriptAlive: alive(node),
      java: javaFor(dataDir),
      lock: existsSync(join(dataDir, 'stack.pid')),
      listening: (await Promise.all(ports.map(listening))).includes(true),
    });
    const stopped = { npmEnded: true, scriptAlive: false, java: [], lock: false, listening: false };
    const deadline = Date.now() + 10_000;
    let now = await state();
    while (JSON.stringify(now) !== JSON.stringify(stopped) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      now = await state();
    }
    expect(now).toEqual(stopped);
    for (const port of ports) expect(await listening(port)).toBe(false);
    expect(npm.output()).toMatch(signal === 'SIGTERM' ? /SIGTERM: stopping/ : /npm \(pid \d+\) is gone: stopping/);
  });

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

    // A new data directory starts with DefaultImage, as the API reference shows it, without content.
    const auth = { headers: { authorization: `Bearer ${admin}` } };
    const initial = await fetch(`${first.apiUrl}/image/DefaultImage`, auth);
    expect(initial.status).toBe(200);
    expect(((await initial.json()) as { data: unknown }).data).toMatchObject({
      name: 'DefaultImage',
      description: 'Default image generated by scyld-add-boot-config',
      distro: 'CentOS',
      parent: null,
      content: {},
    });
    // Only installation creates it: once removed, a restart on this data directory leaves it removed.
    expect((await fetch(`${first.apiUrl}/image/DefaultImage`, { ...auth, method: 'DELETE' })).status).toBe(200);

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
      expect((await fetch(`${second.apiUrl}/image/DefaultImage`, { headers: { authorization: `Bearer ${admin}` } })).status).toBe(404);

      // A second stack on the same data directory is refused with one line.
      const clash = run({ DATA_DIR: dataDir });
      expect(await clash.exit).toBe(1);
      expect(clash.output().trim()).toMatch(
        /^npm start: another local stack \(pid \d+\) is using .*: stop it, or give this one its own DATA_DIR$/,
      );
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

  it('starts a DynamoDB Local that died on its own again, on the same data', async () => {
    const dataDir = tempDir();
    // Below the ephemeral range: while Java is down, no other test's stack is given its port.
    const started = await start(dataDir, 'node', { DYNAMODB_PORT: String(await portBelowEphemeralRange()) });
    try {
      const admin = token(dataDir, '--user', 'ops', '--admin');
      const headers = { authorization: `Bearer ${admin}` };
      const created = await fetch(`${started.apiUrl}/images`, { method: 'POST', headers, body: JSON.stringify({ name: 'Survivor' }) });
      expect(created.status).toBe(201);
      const [java] = javaFor(dataDir);
      process.kill(Number(java), 'SIGKILL');
      expect(
        await until(() => /DynamoDB Local killed by SIGKILL \(.*\): starting it again on the same data/.test(started.output()), 10_000),
      ).toBe(true);
      // Requests fail while Java starts; then the image made before the kill is there again.
      let status = 0;
      for (const deadline = Date.now() + 60_000; status !== 200 && Date.now() < deadline; ) {
        status = (await fetch(`${started.apiUrl}/image/Survivor`, { headers })).status;
        if (status !== 200) await new Promise((r) => setTimeout(r, 200));
      }
      expect(status).toBe(200);
      expect(javaFor(dataDir)).toHaveLength(1);
      expect(javaFor(dataDir)).not.toContain(java);
    } finally {
      started.child.kill('SIGTERM');
      await started.exit;
    }
    expect(javaFor(dataDir)).toEqual([]);
  });

  it("stops with one line when another program takes DynamoDB Local's port while it is down", async () => {
    const dataDir = tempDir();
    const port = await portBelowEphemeralRange();
    const started = await start(dataDir, 'node', { DYNAMODB_PORT: String(port) });
    const [java] = javaFor(dataDir);
    process.kill(Number(java), 'SIGKILL');
    // The other program binds the port as soon as Java has let it go.
    const other = createServer();
    for (const deadline = Date.now() + 10_000; !other.listening && Date.now() < deadline; ) {
      await new Promise<void>((resolve) => {
        other.once('error', () => setTimeout(resolve, 2));
        other.listen(port, '127.0.0.1', () => resolve());
      });
    }
    try {
      expect(other.listening).toBe(true);
      expect(await started.exit).toBe(1);
      const fatal = started
        .output()
        .split('\n')
        .filter((line) => line.startsWith('npm start: '));
      expect(fatal).toHaveLength(1);
      // Seen before Java is started again, or by the Java that then cannot listen.
      expect(fatal[0]).toMatch(
        new RegExp(`did not start again: (port ${port} was taken by another program meanwhile|DynamoDB Local stopped at start)`),
      );
      expect(javaFor(dataDir)).toEqual([]);
    } finally {
      other.close();
    }
  });

  it('stops with one line when DynamoDB Local dies and cannot be started again', async () => {
    const dataDir = tempDir();
    const started = await start(dataDir);
    const [first] = javaFor(dataDir);
    process.kill(Number(first), 'SIGKILL');
    // Kill its replacement before it serves: the restart fails, and the stack gives up.
    expect(await until(() => javaFor(dataDir).some((pid) => pid !== first), 15_000)).toBe(true);
    for (const pid of javaFor(dataDir)) process.kill(Number(pid), 'SIGKILL');
    expect(await started.exit).toBe(1);
    const fatal = started
      .output()
      .split('\n')
      .filter((line) => line.startsWith('npm start: '));
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatch(
      /^npm start: DynamoDB Local killed by SIGKILL \(last output: .*\), and it did not start again: DynamoDB Local stopped at start: /,
    );
    expect(javaFor(dataDir)).toEqual([]);
    expect(existsSync(join(dataDir, 'stack.pid'))).toBe(false);
  });

  it('says in one line that the port is taken, and leaves no new data directory', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const dataDir = join(tempDir(), 'new', 'data');
      const { exit, output } = run({ DATA_DIR: dataDir, PORT: String(port) });
      expect(await exit).toBe(1);
      expect(output().trim()).toBe(
        `npm start: port ${port} for the API is already in use: stop what uses it or choose another with PORT=<port>`,
      );
      expect(existsSync(join(dataDir, '..'))).toBe(false);
    } finally {
      server.close();
    }
  });

  it('says in one line that Java is missing, and leaves no new data directory', async () => {
    const bin = tempDir();
    symlinkSync(process.execPath, join(bin, 'node'));
    symlinkSync(execFileSync('sh', ['-c', 'command -v sh']).toString().trim(), join(bin, 'sh'));
    const parent = tempDir();
    const { exit, output } = run({ DATA_DIR: join(parent, 'new', 'data'), PATH: bin });
    expect(await exit).toBe(1);
    expect(output().trim()).toMatch(/^npm start: Java 17 or newer is needed for DynamoDB Local and none was found: install it/);
    // The start made new/data (and its lock) before it found no Java: it takes them away again.
    expect(existsSync(join(parent, 'new'))).toBe(false);
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
