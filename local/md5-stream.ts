/**
 * The md5 of the bytes the local S3 stores (their ETag), computed on a worker
 * thread. Hashing every byte on the one JavaScript thread that serves requests
 * was about 40% of its time while parts stream in, holding up every other
 * request behind it. Chunks are gathered into batches, each copied once into
 * a buffer of its own that is handed over (transferred, not copied again). A
 * body that ends before its first batch is full is hashed right here: for
 * small objects a round trip to the worker would cost more than the hash.
 */
import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { Worker } from 'node:worker_threads';

const BATCH = 1024 * 1024;
/**
 * Bytes of one stream handed over but not hashed yet; past this the stream
 * waits, so a slow worker holds back the sender instead of filling memory.
 */
const MAX_IN_FLIGHT = 8 * BATCH;

/** Plain JavaScript, evaluated by the worker (no loader there). */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hashes = new Map();
parentPort.on('message', ({ id, data, end, abort }) => {
  if (abort) return void hashes.delete(id);
  let hash = hashes.get(id);
  if (!hash) hashes.set(id, (hash = createHash('md5')));
  if (data) {
    hash.update(new Uint8Array(data));
    parentPort.postMessage({ id, hashed: data.byteLength });
  }
  if (end) {
    hashes.delete(id);
    parentPort.postMessage({ id, digest: hash.digest('hex') });
  }
});
`;

interface WorkerReply {
  id: number;
  hashed?: number;
  digest?: string;
}

let worker: Worker | null = null;
let nextId = 1;
/** Streams hashing on the worker, by id. */
const streams = new Map<number, Md5Stream>();

function getWorker(): Worker {
  if (worker) return worker;
  const started = new Worker(WORKER_SOURCE, { eval: true });
  const failAll = (error: Error): void => {
    if (worker !== started) return;
    worker = null;
    const waiting = [...streams.values()];
    streams.clear();
    for (const stream of waiting) stream.workerFailed(error);
  };
  worker = started;
  started.on('message', ({ id, hashed, digest }: WorkerReply) => {
    const stream = streams.get(id);
    if (!stream) return;
    if (digest !== undefined) {
      track(id, null);
      stream.digested(digest);
    } else stream.hashedBytes(hashed ?? 0);
  });
  started.on('error', failAll);
  started.on('exit', (code) => failAll(new Error(`the md5 worker exited with code ${code}`)));
  // Idle, it must not keep the process alive (unref after the listeners:
  // adding a 'message' listener refs the worker again).
  started.unref();
  return started;
}

/** The worker keeps the process alive exactly while some stream awaits it. */
function track(id: number, stream: Md5Stream | null): void {
  if (stream) streams.set(id, stream);
  else streams.delete(id);
  if (!worker) return;
  if (streams.size > 0) worker.ref();
  else worker.unref();
}

/**
 * A pass-through stream that md5-hashes what flows through it. Once it has
 * ended (its 'finish', or the end of a pipeline through it), `size` is the
 * byte count and `md5` the hex digest.
 */
export class Md5Stream extends Transform {
  size = 0;
  md5: string | undefined = undefined;
  private hashId = 0;
  private batch: Buffer[] = [];
  private batchBytes = 0;
  private inFlight = 0;
  private blocked: TransformCallback | null = null;
  private onDigest: ((error: Error | null, digest?: string) => void) | null = null;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.size += chunk.length;
    this.batch.push(chunk);
    this.batchBytes += chunk.length;
    if (this.batchBytes >= BATCH) this.handOver(false);
    this.push(chunk);
    if (this.inFlight > MAX_IN_FLIGHT) this.blocked = callback;
    else callback();
  }

  override _flush(callback: TransformCallback): void {
    if (!this.hashId) {
      const hash = createHash('md5');
      for (const chunk of this.batch) hash.update(chunk);
      this.md5 = hash.digest('hex');
      this.batch = [];
      callback();
      return;
    }
    this.onDigest = (error, digest) => {
      this.md5 = digest;
      callback(error);
    };
    this.handOver(true);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.hashId && streams.has(this.hashId)) {
      worker?.postMessage({ id: this.hashId, abort: true });
      track(this.hashId, null);
    }
    callback(error);
  }

  private handOver(end: boolean): void {
    const target = getWorker();
    if (!this.hashId) {
      this.hashId = nextId++;
      track(this.hashId, this);
    }
    let data: Buffer | undefined;
    if (this.batchBytes > 0) {
      // a buffer of its own (never a slice of Node's shared pool): it is
      // transferred, which detaches its whole ArrayBuffer here
      data = Buffer.allocUnsafeSlow(this.batchBytes);
      let offset = 0;
      for (const chunk of this.batch) offset += chunk.copy(data, offset);
      this.inFlight += data.length;
      this.batch = [];
      this.batchBytes = 0;
    }
    const buffer = data?.buffer as ArrayBuffer | undefined;
    target.postMessage({ id: this.hashId, data: buffer, end }, buffer ? [buffer] : []);
  }

  /** @internal the worker hashed `n` more bytes of this stream */
  hashedBytes(n: number): void {
    this.inFlight -= n;
    if (this.blocked && this.inFlight <= MAX_IN_FLIGHT) {
      const blocked = this.blocked;
      this.blocked = null;
      blocked();
    }
  }

  /** @internal */
  digested(digest: string): void {
    this.onDigest?.(null, digest);
  }

  /** @internal */
  workerFailed(error: Error): void {
    if (this.onDigest) this.onDigest(error);
    else this.destroy(error);
  }
}
