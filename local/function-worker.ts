/**
 * A warm Lambda container on one machine: a worker thread that has loaded a
 * function's bundle (the init phase) and runs the events it is sent, each with
 * a context whose deadline the caller set. The local Lambda runtime runs one
 * event at a time in each (local/lambda-runtime.ts); the API's pool lets one
 * serve several requests at once (local/api-functions.ts).
 */
import { Worker } from 'node:worker_threads';
import { build } from 'esbuild';
import { dirname } from 'node:path';
import { buildWorkerScripts, esbuildOptions, workersOf } from '../infra/bundling.js';

/**
 * Bundles a handler's module for a worker, as it is deployed but readable (no
 * minifying), with the worker scripts it starts beside it.
 */
export async function bundleFunction(entry: string, outfile: string): Promise<void> {
  await build({ ...esbuildOptions(entry), minify: false, sourcemap: false, outfile, write: true });
  await buildWorkerScripts(workersOf(entry), dirname(outfile));
}

/** A run that did not end with the handler's answer: thrown, timed out or cut short. */
export class RunFailed extends Error {}

type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

export class FunctionWorker {
  private readonly runs = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void }>();
  private nextId = 0;
  private exited = false;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (reply: Reply) => {
      const run = this.runs.get(reply.id);
      if (!run) return;
      this.runs.delete(reply.id);
      if (reply.ok) run.resolve(reply.result);
      else run.reject(new RunFailed(reply.error));
    });
    worker.on('exit', () => {
      this.exited = true;
      for (const run of this.runs.values()) run.reject(new RunFailed('the run ended without an answer'));
      this.runs.clear();
    });
  }

  /** A cold start: resolves once the bundle is loaded, before any deadline runs. */
  static start(bundle: string, functionName: string, log: (line: string) => void): Promise<FunctionWorker> {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { bundle, functionName },
      env: { ...process.env, AWS_LAMBDA_FUNCTION_NAME: functionName },
    });
    worker.on('error', (error) => log(`${functionName}: ${error.stack ?? error.message}`));
    return new Promise<FunctionWorker>((resolve, reject) => {
      const onExit = () => reject(new RunFailed('the worker exited during init'));
      worker.once('exit', onExit);
      worker.once('message', (m: { ready: true } | { ready: false; error: string }) => {
        worker.off('exit', onExit);
        if (m.ready) resolve(new FunctionWorker(worker));
        else {
          void worker.terminate();
          reject(new RunFailed(`init failed: ${m.error}`));
        }
      });
    });
  }

  /**
   * Runs one event with the given deadline (epoch ms); resolves with the
   * handler's answer, or rejects with `late()` once the deadline has passed
   * (the run itself is not stopped: that is the caller's choice).
   */
  run(event: unknown, deadline: number, late: () => Error): Promise<unknown> {
    if (this.exited) return Promise.reject(new RunFailed('the worker has exited'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.runs.delete(id);
        reject(late());
      }, deadline - Date.now());
      const settled =
        <T>(settle: (value: T) => void) =>
        (value: T) => {
          clearTimeout(timer);
          settle(value);
        };
      this.runs.set(id, { resolve: settled(resolve), reject: settled(reject) });
      this.worker.postMessage({ id, event, deadline });
    });
  }

  /** Runs in progress. */
  get busy(): number {
    return this.runs.size;
  }

  get alive(): boolean {
    return !this.exited;
  }

  /** Whether the worker keeps the process alive (an idle container must not). */
  hold(held: boolean): void {
    if (held) this.worker.ref();
    else this.worker.unref();
  }

  onExit(listener: () => void): void {
    if (this.exited) listener();
    else this.worker.once('exit', listener);
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}

/** The worker: loads the bundle once, then runs each event it is sent with a context whose deadline the parent set. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { randomUUID } = require('node:crypto');
const { pathToFileURL } = require('node:url');
const { bundle, functionName } = workerData;
function context(deadline) {
  const awsRequestId = randomUUID();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:' + functionName,
    memoryLimitInMB: '1024',
    awsRequestId,
    logGroupName: '/aws/lambda/' + functionName,
    logStreamName: 'local/' + awsRequestId,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done() {}, fail() {}, succeed() {},
  };
}
const describe = (error) => (error && error.stack ? String(error.stack) : String(error));
import(pathToFileURL(bundle).href).then(
  (m) => {
    parentPort.on('message', ({ id, event, deadline }) => {
      Promise.resolve()
        .then(() => m.handler(event, context(deadline)))
        .then(
          (result) => {
            try {
              parentPort.postMessage({ id, ok: true, result });
            } catch (error) {
              parentPort.postMessage({ id, ok: false, error: 'the answer cannot be sent: ' + describe(error) });
            }
          },
          (error) => parentPort.postMessage({ id, ok: false, error: describe(error) }),
        );
    });
    parentPort.postMessage({ ready: true });
  },
  (error) => parentPort.postMessage({ ready: false, error: describe(error) }),
);
`;
