/**
 * `--limit-rate` holds a whole transfer, all parallel parts or ranges
 * together, to the asked rate (within 10%, over a transfer of a few
 * seconds), and a download keeps the content's mtime. The rate is measured
 * twice: by imgctl over the transfer itself (`transfer_seconds`), and from
 * outside over the whole command, which can only take longer.
 */
import { randomBytes } from 'node:crypto';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createImage } from '../integration/api.js';
import { expectCode, imgctl, newHome, sha1OfFile } from './helpers.js';

const MIB = 1024 * 1024;
const RATE = 3 * MIB;
const SIZE = 18 * MIB + 4321;
let home: string;
const run = (args: string[]) => imgctl(args, { home, cwd: home });

beforeAll(async () => {
  home = await newHome();
});

/** Bytes per second, and the command's own time from outside. */
async function timed(args: string[]): Promise<{ result: Record<string, unknown>; wallSeconds: number }> {
  const started = performance.now();
  const r = expectCode(await run(args), 0);
  return { result: JSON.parse(r.stdout) as Record<string, unknown>, wallSeconds: (performance.now() - started) / 1000 };
}

describe('--limit-rate', () => {
  it('holds an upload and a download with parallel parts within 10% of the rate, and the download keeps the mtime', async () => {
    const image = await createImage();
    const file = join(home, 'limited.img');
    await writeFile(file, randomBytes(SIZE));
    const sha1 = await sha1OfFile(file);

    const up = await timed(['--json', 'upload', image.name, file, '--part-size', '5M', '-c', '3', '--limit-rate', '3M', '--fmt', 'raw']);
    expect(up.result['state']).toBe('ready');
    const upRate = SIZE / Number(up.result['transfer_seconds']);
    expect(Math.abs(upRate - RATE) / RATE, `upload at ${upRate} B/s`).toBeLessThan(0.1);
    expect(SIZE / up.wallSeconds).toBeLessThan(RATE * 1.1);

    const target = join(home, 'limited.out');
    const down = await timed(['--json', 'download', image.name, target, '--chunk-size', '2M', '-c', '4', '--limit-rate', '3M']);
    const downRate = SIZE / Number(down.result['transfer_seconds']);
    expect(Math.abs(downRate - RATE) / RATE, `download at ${downRate} B/s`).toBeLessThan(0.1);
    expect(SIZE / down.wallSeconds).toBeLessThan(RATE * 1.1);
    expect(await sha1OfFile(target)).toBe(sha1);

    // The content's mtime, as curl -R gives it.
    const info = JSON.parse(expectCode(await run(['--json', 'info', image.name]), 0).stdout) as { mtime: number };
    expect(down.result['mtime']).toBe(info.mtime);
    expect((await stat(target)).mtimeMs / 1000).toBeCloseTo(info.mtime, 2);
  }, 120_000);

  it('refuses a rate that is not one, as a usage error', async () => {
    const r = await run(['download', 'whatever', '--limit-rate', 'fast']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/"fast" is not a rate in bytes per second/);
  });
});
