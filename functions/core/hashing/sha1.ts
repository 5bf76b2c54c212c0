import { createHash } from 'node:crypto';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { Sha1Error } from './errors.js';

/**
 * One SHA-1 computation. The native one (node:crypto, the CPU's SHA
 * instructions) cannot export its state; the resumable one (hash-wasm, a
 * WebAssembly SHA-1 about a third slower) can, so a hash can stop at any byte
 * and go on in another process (docs/architecture.md, "Content lifecycle").
 */
export interface Sha1 {
  readonly resumable: boolean;
  /** Takes the chunk over: the caller must not use it afterwards (the resumable hash may move its memory). */
  update(chunk: Uint8Array): void;
  /** Lower-case hex; the hash cannot be used afterwards. */
  digest(): string;
  /** The state after every byte given so far; undefined for the native hash. */
  save(): Uint8Array | undefined;
  /** Lets go of what the hash holds (the resumable one's thread); digest() does it too. */
  close(): void;
}

export function nativeSha1(): Sha1 {
  const hash = createHash('sha1');
  return {
    resumable: false,
    update: (chunk) => void hash.update(chunk),
    digest: () => hash.digest('hex'),
    save: () => undefined,
    close: () => undefined,
  };
}

/**
 * Bytes handed to the hashing thread but not hashed yet; past this update()
 * waits, which bounds the memory held.
 */
const MAX_BACKLOG_BYTES = 16 * 1024 * 1024;
/**
 * The longest the thread may go without hashing a chunk or answering while it
 * is waited for: far more than one chunk takes even on Lambda's smallest CPU
 * share. A thread that died without a word (out of memory) is noticed only
 * this way, with the event loop held meanwhile; the hash then fails as Sha1Error.
 */
const WAIT_LIMIT_MS = 15_000;
// The indexes of the control words, as sha1-worker.mjs reads them.
const HASHED = 0;
const ANSWERS = 1;
const FAILED = 2;

/** sha1-worker.mjs, beside this module in the source tree and beside the bundle once built (infra/bundling.ts). */
const WORKER_URL = new URL('./sha1-worker.mjs', import.meta.url);

/** Whether the chunk's memory is all its own, so that handing it over takes nothing from anyone else. */
const ownsItsMemory = (chunk: Uint8Array): boolean =>
  chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength && chunk.buffer instanceof ArrayBuffer;

/**
 * A resumable SHA-1, fresh or continuing from a state that `save()` returned.
 *
 * It runs on a thread of its own: the WebAssembly hash is slower than the
 * native one, and beside the thread that receives the bytes it costs little
 * where there is a second core (the hasher benchmark measures it). The calls
 * stay synchronous, as the native hash's are.
 *
 * update() takes the chunk over: a chunk that owns its memory (every chunk a
 * socket read gives, in practice) is transferred to the thread without a
 * copy and is empty afterwards; any other is copied first. Copying every
 * chunk cost about 0.3 CPU-seconds per GiB more in the hasher benchmark.
 * save() and digest() wait (Atomics.wait) for the thread's answer in shared
 * memory, which comes once every chunk before it is hashed.
 */
export async function resumableSha1(state?: Uint8Array): Promise<Sha1> {
  const controlBuffer = new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT);
  const control = new Int32Array(controlBuffer);
  // Answers come on a port of their own, read synchronously (receiveMessageOnPort) once counted.
  const { port1: answers, port2: answersFromThread } = new MessageChannel();
  const worker = new Worker(WORKER_URL, {
    workerData: { control: controlBuffer, answers: answersFromThread, ...(state ? { state } : {}) },
    transferList: [answersFromThread],
    // The chunks it is handed are freed only when its collector runs; a small young generation runs
    // it often. With V8's default the hasher's peak RSS on 1 GiB was about 250 MB, with this about 200.
    resourceLimits: { maxYoungGenerationSizeMb: 1 },
  });
  await new Promise<void>((resolve, reject) => {
    const onExit = (code: number) => reject(new Error(`the SHA-1 thread exited (${code}) before it was ready`));
    worker.once('error', reject);
    worker.once('exit', onExit);
    worker.once('message', (message: unknown) => {
      worker.off('exit', onExit);
      if (message === 'ready') resolve();
      else reject(new Error(`the SHA-1 thread could not start: ${(message as { error?: string }).error ?? String(message)}`));
    });
  }).catch(async (error: unknown) => {
    answers.close();
    await worker.terminate();
    throw error;
  });
  // It never keeps the process alive: every wait for it is synchronous.
  worker.unref();

  let closed = false;
  /**
   * Bytes handed over, as an Int32 wraps them: the thread counts the bytes it
   * hashed the same way (control[HASHED]), so the difference, taken modulo
   * 2^32, is the backlog (never near 4 GiB).
   */
  let handed = 0;

  /** The next answer, posted before it was counted. */
  const answer = (): unknown => receiveMessageOnPort(answers)?.message;
  const failure = () =>
    new Sha1Error(`the SHA-1 thread failed: ${(answer() as { error?: string } | undefined)?.error ?? 'no reason given'}`);

  /** Waits until control[index] is no longer `seen`. */
  const waitPast = (index: number, seen: number) => {
    const until = Date.now() + WAIT_LIMIT_MS;
    while (Atomics.load(control, index) === seen) {
      if (Atomics.load(control, FAILED) === 1) throw failure();
      const left = until - Date.now();
      if (left <= 0) throw new Sha1Error(`the SHA-1 thread did not answer within ${WAIT_LIMIT_MS / 1000} s`);
      Atomics.wait(control, index, seen, left);
    }
  };

  /** Waits while the bytes handed over and not hashed yet are over the bound. */
  const makeRoom = () => {
    for (;;) {
      const hashed = Atomics.load(control, HASHED);
      if ((handed - hashed) >>> 0 <= MAX_BACKLOG_BYTES) return;
      waitPast(HASHED, hashed);
    }
  };

  const close = () => {
    if (closed) return;
    closed = true;
    answers.close();
    void worker.terminate();
  };

  const ensureOpen = () => {
    if (closed) throw new Sha1Error('the resumable SHA-1 is closed');
  };

  /** A failure closes the hash: it no longer holds every byte it was given. */
  const closeOnFailure = (error: unknown): never => {
    close();
    throw error instanceof Sha1Error ? error : new Sha1Error(`the resumable SHA-1 failed: ${String(error)}`, { cause: error });
  };

  const ask = (question: 'save' | 'digest'): unknown => {
    ensureOpen();
    try {
      const seen = Atomics.load(control, ANSWERS);
      worker.postMessage(question);
      waitPast(ANSWERS, seen);
      if (Atomics.load(control, FAILED) === 1) throw failure();
      return answer();
    } catch (error) {
      return closeOnFailure(error);
    }
  };

  return {
    resumable: true,
    update(chunk) {
      ensureOpen();
      if (chunk.byteLength === 0) return;
      const own = ownsItsMemory(chunk) ? chunk : new Uint8Array(chunk);
      const length = own.byteLength;
      try {
        worker.postMessage(own, [own.buffer as ArrayBuffer]);
        handed = (handed + length) | 0;
        makeRoom();
      } catch (error) {
        closeOnFailure(error);
      }
    },
    save: () => ask('save') as Uint8Array,
    digest() {
      try {
        return ask('digest') as string;
      } finally {
        close();
      }
    },
    close,
  };
}
