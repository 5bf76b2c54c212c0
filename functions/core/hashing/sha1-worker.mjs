/**
 * The thread that computes a resumable SHA-1 (sha1.ts, resumableSha1).
 *
 * Plain JavaScript, so that it runs as is from the source tree (tests, the
 * benchmarks' sources) and, bundled with hash-wasm inside, as a file of its
 * own beside the hasher's bundle (infra/bundling.ts, FUNCTION_WORKERS).
 *
 * workerData: `control` (Int32Array over a SharedArrayBuffer: bytes hashed,
 * answers given, failed flag), `answers` (the port answers go to) and `state`
 * (a saved state to continue from, or absent). Messages: a Uint8Array of bytes
 * to hash (transferred); 'save' or 'digest'. An answer (the state, the hex
 * digest, or `{ error }`) is posted to `answers` before the count of answers
 * moves, so the sender, waiting on `control`, reads it synchronously.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createSHA1 } from 'hash-wasm';

const HASHED = 0;
const ANSWERS = 1;
const FAILED = 2;

const control = new Int32Array(workerData.control);
const answers = workerData.answers;

function reply(answer, failed) {
  answers.postMessage(answer);
  if (failed) Atomics.store(control, FAILED, 1);
  Atomics.add(control, ANSWERS, 1);
  Atomics.notify(control, ANSWERS);
  // A sender waiting for room hears of the failure too: the count moves, so even a wait that
  // began after the failure was flagged returns (the sender throws on the flag, not the count).
  if (failed) {
    Atomics.add(control, HASHED, 1);
    Atomics.notify(control, HASHED);
  }
}

try {
  const sha1 = await createSHA1();
  if (workerData.state) sha1.load(workerData.state);
  else sha1.init();
  parentPort.on('message', (message) => {
    if (Atomics.load(control, FAILED) === 1) return;
    try {
      if (message instanceof Uint8Array) {
        sha1.update(message);
        // Bytes, wrapping as an Int32 does; the sender counts what it handed over the same way.
        Atomics.add(control, HASHED, message.byteLength);
        Atomics.notify(control, HASHED);
      } else if (message === 'save') reply(sha1.save(), false);
      else if (message === 'digest') reply(sha1.digest('hex'), false);
      else throw new Error(`unknown message ${String(message)}`);
    } catch (error) {
      reply({ error: error instanceof Error ? error.message : String(error) }, true);
    }
  });
  parentPort.postMessage('ready');
} catch (error) {
  // A state that does not load, or no WebAssembly: the sender awaits 'ready' and hears this instead.
  parentPort.postMessage({ error: error instanceof Error ? error.message : String(error) });
}
