/** PartUrls: when part URLs are renewed, without a stack (a fake session route and clock). */
import { describe, expect, it } from 'vitest';
import { PartUrls } from '../../cli/transfer/part-urls.js';
import type { UploadSession } from '../../cli/types.js';

function session(expires: number, state: UploadSession['state'] = 'uploading'): UploadSession {
  return {
    upload_id: 'u1',
    image: 'i1',
    state,
    size: 10,
    part_size: 5,
    part_count: 2,
    fmt: 'cwsquash',
    sha1: null,
    parts: [1, 2].map((n) => ({ part_number: n, url: `https://s3/part${n}?expires=${expires}` })),
    expires,
    session_expires: expires + 86_400,
  };
}

function fixture(lifetime: number) {
  const clock = { now: 1_000 };
  const calls = { describe: 0 };
  const urls = new PartUrls(
    session(clock.now + lifetime),
    async () => {
      calls.describe++;
      await new Promise((r) => setTimeout(r, 5));
      return session(clock.now + lifetime);
    },
    () => undefined,
    () => clock.now,
  );
  return { clock, calls, urls };
}

describe('PartUrls', () => {
  it('keeps hour-long URLs until a minute before they expire', async () => {
    const { clock, calls, urls } = fixture(3600);
    clock.now += 3539;
    expect(await urls.urlFor(1)).toBe('https://s3/part1?expires=4600');
    expect(calls.describe).toBe(0);
    clock.now += 2;
    expect(await urls.urlFor(2)).toBe(`https://s3/part2?expires=${clock.now + 3600}`);
    expect(calls.describe).toBe(1);
  });

  it('renews URLs that live seconds only in the last quarter of their life, not before every part', async () => {
    const { clock, calls, urls } = fixture(4);
    clock.now += 2.9;
    await urls.urlFor(1);
    expect(calls.describe).toBe(0);
    clock.now += 0.2;
    await urls.urlFor(1);
    expect(calls.describe).toBe(1);
  });

  it('parts refused at the same time share one renewal', async () => {
    const { calls, urls } = fixture(3600);
    await Promise.all([urls.refused(1), urls.refused(2), urls.urlFor(1)]);
    expect(calls.describe).toBe(1);
  });

  it('a session that stopped taking parts ends the upload with the reason', async () => {
    const urls = new PartUrls(
      session(0),
      async () => session(0, 'aborted'),
      () => undefined,
      () => 10,
    );
    await expect(urls.urlFor(1)).rejects.toThrow(/upload u1 is aborted; it can no longer take parts/);
  });
});
