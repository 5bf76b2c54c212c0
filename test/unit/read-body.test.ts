import { once } from 'node:events';
import { createServer, get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBody } from '../../functions/core/hashing/read-body.js';

const chunks = (...texts: string[]) => texts.map((t) => Buffer.from(t));
const text = (got: Uint8Array[]) => Buffer.concat(got).toString();

/** Collects what readBody hands over; `stopAt` makes onChunk return false on that chunk. */
function collector(stopAt?: number) {
  const got: Uint8Array[] = [];
  const onChunk = (chunk: Uint8Array) => {
    got.push(chunk);
    return got.length !== stopAt;
  };
  return { got, onChunk };
}

describe('readBody over a Node stream', () => {
  it('hands over every chunk in order and resolves at the end', async () => {
    const { got, onChunk } = collector();
    await readBody(Readable.from(chunks('ab', 'cd', 'ef'), { objectMode: false }), onChunk).done;
    expect(text(got)).toBe('abcdef');
  });

  it('rejects with the error of a stream that fails part way', async () => {
    const body = new PassThrough();
    const { got, onChunk } = collector();
    const reading = readBody(body, onChunk).done;
    body.write('ab');
    await new Promise((resolve) => setImmediate(resolve));
    body.destroy(new Error('connection reset'));
    await expect(reading).rejects.toThrow('connection reset');
    expect(text(got)).toBe('ab');
  });

  it('rejects when the stream is closed before its end', async () => {
    const body = new PassThrough();
    const reading = readBody(body, collector().onChunk).done;
    body.write('ab');
    body.destroy();
    await expect(reading).rejects.toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' });
  });

  it('stops, closes the stream and resolves when onChunk returns false', async () => {
    const body = new PassThrough();
    const { got, onChunk } = collector(1);
    const reading = readBody(body, onChunk).done;
    body.write('ab');
    body.write('cd');
    await expect(reading).resolves.toBeUndefined();
    expect(body.destroyed).toBe(true);
    expect(text(got)).toBe('ab');
  });

  it('stops, closes the stream and rejects with what onChunk threw', async () => {
    const body = new PassThrough();
    const reading = readBody(body, () => {
      throw new RangeError('too long');
    }).done;
    body.write('ab');
    await expect(reading).rejects.toThrow(RangeError);
    expect(body.destroyed).toBe(true);
  });
});

describe('readBody, paused', () => {
  it('holds a stream back until resumed, leaving its bytes unread', async () => {
    const body = new PassThrough({ highWaterMark: 4 });
    const { got, onChunk } = collector();
    const reading = readBody(body, (chunk) => {
      onChunk(chunk);
      if (got.length === 1) reading.pause();
      return true;
    });
    body.write('ab');
    await new Promise((resolve) => setImmediate(resolve));
    // Held back: what is written now stays in the stream, which soon refuses more.
    let written = 'ab';
    for (let i = 0; i < 100 && body.write('cd'); i++) written += 'cd';
    written += 'cd';
    await new Promise((resolve) => setImmediate(resolve));
    expect(written.length).toBeLessThan(200);
    expect(text(got)).toBe('ab');
    reading.resume();
    body.end('gh');
    await reading.done;
    expect(text(got)).toBe(`${written}gh`);
  });

  it('holds an async iterable back: nothing more is pulled until resumed', async () => {
    let pulled = 0;
    const body = (async function* () {
      for (const chunk of chunks('ab', 'cd', 'ef')) {
        pulled++;
        yield chunk;
      }
    })();
    const { got, onChunk } = collector();
    const reading = readBody(body, (chunk) => {
      onChunk(chunk);
      if (got.length === 1) reading.pause();
      return true;
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(pulled).toBe(1);
    reading.resume();
    await reading.done;
    expect(text(got)).toBe('abcdef');
  });
});

describe('readBody over an HTTP response', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    // /whole answers 6 bytes; /cut promises 6, sends 2 and drops the connection.
    server = createServer((req, res) => {
      res.writeHead(200, { 'content-length': '6' });
      if (req.url === '/whole') return res.end('abcdef');
      res.write('ab', () => setTimeout(() => res.socket?.destroy(), 10));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const fetchBody = (path: string) =>
    new Promise<IncomingMessage>((resolve, reject) => get({ port, host: '127.0.0.1', path, agent: false }, resolve).on('error', reject));

  it('reads a whole response', async () => {
    const { got, onChunk } = collector();
    await readBody(await fetchBody('/whole'), onChunk).done;
    expect(text(got)).toBe('abcdef');
  });

  it('rejects a response whose connection drops before the end', async () => {
    const { got, onChunk } = collector();
    await expect(readBody(await fetchBody('/cut'), onChunk).done).rejects.toThrow();
    expect(text(got)).toBe('ab');
  });
});

describe('readBody over iterables', () => {
  it('reads a sync iterable and an async one in order', async () => {
    const sync = collector();
    await readBody(chunks('ab', 'cd'), sync.onChunk).done;
    expect(text(sync.got)).toBe('abcd');
    const async = collector();
    await readBody(
      (async function* () {
        yield* chunks('ef', 'gh');
      })(),
      async.onChunk,
    ).done;
    expect(text(async.got)).toBe('efgh');
  });

  it('closes an async iterable when onChunk returns false', async () => {
    let closed = false;
    const body = (async function* () {
      try {
        yield* chunks('ab', 'cd', 'ef');
      } finally {
        closed = true;
      }
    })();
    const { got, onChunk } = collector(2);
    await readBody(body, onChunk).done;
    expect(text(got)).toBe('abcd');
    expect(closed).toBe(true);
  });
});
