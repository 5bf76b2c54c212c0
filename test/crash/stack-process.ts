/**
 * The stack under test as a separate process (`node --import tsx
 * local/start.ts`, the script `npm start` runs), so a scenario can SIGKILL it
 * as a crash would, or kill one of its children.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { inject } from 'vitest';

const root = resolve(import.meta.dirname, '../..');

interface Running {
  child: ChildProcess;
  output: () => string;
  exit: Promise<void>;
}

let running: Running | undefined;

export const env = () => inject('crashEnv');

/** Everything the stack has printed since it last started. */
export const output = (): string => running?.output() ?? '';

export async function startStack(): Promise<void> {
  if (running) throw new Error('the stack is already running');
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts'], {
    cwd: root,
    env: { ...process.env, ...env() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (c: Buffer) => (text += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (text += c.toString()));
  const exit = new Promise<void>((r) => child.once('exit', () => r()));
  running = { child, output: () => text, exit };
  const deadline = Date.now() + 180_000;
  while (!text.includes('Image Service is up')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      await exit;
      running = undefined;
      throw new Error(`the stack did not come up:\n${text}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A crash: SIGKILL to the stack's process, then wait until its children (Java) are gone and its ports free. */
export async function killStack(): Promise<void> {
  if (!running) throw new Error('the stack is not running');
  running.child.kill('SIGKILL');
  await running.exit;
  running = undefined;
  await until(async () => javaPids().length === 0 && !(await anyListening()), 30_000, 'the killed stack to let go of Java and its ports');
}

/** A clean stop (SIGTERM), as at the end of the suite. */
export async function stopStack(): Promise<void> {
  if (!running) return;
  running.child.kill('SIGTERM');
  await running.exit;
  running = undefined;
}

/** DynamoDB Local's Java serving this data directory. */
export function javaPids(): number[] {
  try {
    return execFileSync('pgrep', ['-f', `^java .*DynamoDBLocal.jar.*${env()['DATA_DIR']}`])
      .toString()
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

async function anyListening(): Promise<boolean> {
  const ports = [env()['PORT'], env()['DYNAMODB_PORT'], env()['S3_PORT']].map(Number);
  const open = await Promise.all(
    ports.map(
      (port) =>
        new Promise<boolean>((r) => {
          const socket = connect(port, '127.0.0.1');
          socket.once('connect', () => {
            socket.destroy();
            r(true);
          });
          socket.once('error', () => r(false));
        }),
    ),
  );
  return open.includes(true);
}

export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
