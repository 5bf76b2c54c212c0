/**
 * Lambda's asynchronous invocation, on one machine: each event runs in a
 * worker thread that is terminated at the function's deadline (its deployed
 * timeout, infra/function-timeouts.ts), as Lambda abandons a run that
 * overstays; a failed or abandoned run is retried after the configured
 * delays, then parked in the failure directory (the failure queue). Events
 * are kept in the data directory until they are done, so one not yet
 * delivered survives a restart of the stack. An HTTP endpoint answers the
 * Lambda Invoke API (InvocationType Event), so functions that invoke
 * functions (the hasher's continuation, the sweeper's re-drive) use the SDK
 * as on AWS, through AWS_ENDPOINT_URL_LAMBDA.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bundleFunction, FunctionWorker, RunFailed } from './function-worker.js';

export interface AsyncFunction {
  /** The function's name, as FunctionName in an Invoke call. */
  name: string;
  /** The handler's module (TypeScript), bundled once at start. */
  entry: string;
  timeoutMs: number;
}

export interface LambdaRuntimeOptions {
  /** Pending events, failed events and the bundles live here. */
  directory: string;
  functions: AsyncFunction[];
  /** Delays before each retry of a failed run; its length is the number of retries. */
  retryDelaysMs: readonly number[];
  log?: (line: string) => void;
}

interface QueuedEvent {
  id: string;
  function: string;
  event: unknown;
  /** Runs so far. */
  attempts: number;
  /** Epoch ms before which it is not run. */
  due: number;
}

export interface LambdaRuntime {
  /** `http://127.0.0.1:<port>`, for AWS_ENDPOINT_URL_LAMBDA. */
  endpoint: string;
  invokeAsync(functionName: string, event: unknown): Promise<void>;
  /** Resolves when no event is queued or running. */
  settled(): Promise<void>;
  /** Test hook: the next `count` events for the function are lost before they run, as a crash would lose them (0 stops losing). */
  dropEvents(functionName: string, count: number): void;
  /** Runs of the function so far (finished, failed or abandoned). */
  runs(functionName: string): number;
  /**
   * Starts no more runs, gives those in flight up to `graceMs` to finish, then
   * terminates the workers; an unfinished run's event stays pending for the next start.
   */
  stop(graceMs?: number): Promise<void>;
}

export async function startLambdaRuntime(options: LambdaRuntimeOptions): Promise<LambdaRuntime> {
  const log = options.log ?? ((line: string) => console.error(line));
  const pendingDir = join(options.directory, 'pending');
  const failedDir = join(options.directory, 'failed');
  const buildDir = join(options.directory, 'build');
  await Promise.all([pendingDir, failedDir, buildDir].map((d) => mkdir(d, { recursive: true })));

  const functions = new Map<string, AsyncFunction & { bundle: string }>();
  for (const fn of options.functions) {
    const outfile = join(buildDir, `${fn.name}.mjs`);
    await bundleFunction(fn.entry, outfile);
    functions.set(fn.name, { ...fn, bundle: outfile });
  }

  const timers = new Set<NodeJS.Timeout>();
  const running = new Set<Promise<void>>();
  const workers = new Set<FunctionWorker>();
  const idle = new Map<string, FunctionWorker[]>(options.functions.map((f) => [f.name, []]));
  const drops = new Map<string, number>();
  const runCounts = new Map<string, number>();
  let stopped = false;

  const file = (e: QueuedEvent) => join(pendingDir, `${e.id}.json`);
  const save = (e: QueuedEvent) => writeFile(file(e), JSON.stringify(e));

  function schedule(e: QueuedEvent) {
    if (stopped) return;
    const timer = setTimeout(
      () => {
        timers.delete(timer);
        const run = deliver(e).finally(() => running.delete(run));
        running.add(run);
      },
      Math.max(0, e.due - Date.now()),
    );
    timers.add(timer);
  }

  async function deliver(e: QueuedEvent): Promise<void> {
    const fn = functions.get(e.function);
    if (!fn) {
      log(`lambda: no function ${e.function}; event ${e.id} parked in ${failedDir}`);
      await rename(file(e), join(failedDir, `${e.id}.json`));
      return;
    }
    const drop = drops.get(fn.name) ?? 0;
    if (drop > 0) {
      drops.set(fn.name, drop - 1);
      await rm(file(e), { force: true });
      return;
    }
    runCounts.set(fn.name, (runCounts.get(fn.name) ?? 0) + 1);
    try {
      await runInWorker(fn, e.event);
      await rm(file(e), { force: true });
    } catch (error) {
      if (stopped) return; // the stack stops: the event stays pending for the next start
      const message = error instanceof Error ? error.message : String(error);
      const retry = options.retryDelaysMs[e.attempts];
      const next = { ...e, attempts: e.attempts + 1 };
      if (retry === undefined) {
        log(`${fn.name}: run ${next.attempts} failed (${message}); no retries left, event parked in ${failedDir}`);
        await writeFile(join(failedDir, `${e.id}.json`), JSON.stringify(next));
        await rm(file(e), { force: true });
        return;
      }
      log(`${fn.name}: run ${next.attempts} failed (${message}); retried in ${Math.round(retry / 1000)} s`);
      next.due = Date.now() + retry;
      await save(next);
      schedule(next);
    }
  }

  /**
   * Runs the event in an idle worker of the function (a warm container) or a
   * new one (a cold start: the bundle is loaded before the deadline starts,
   * as Lambda's init phase is not part of the timeout). A worker past its
   * deadline is terminated, with whatever it was doing.
   */
  async function runInWorker(fn: AsyncFunction & { bundle: string }, event: unknown): Promise<void> {
    const worker = idle.get(fn.name)?.pop() ?? (await coldStart(fn));
    if (stopped) {
      // The stack stopped while this container started: the event stays pending.
      void worker.terminate();
      throw new RunFailed('the stack stops');
    }
    worker.hold(true);
    const late = () => new RunFailed(`Task timed out after ${(fn.timeoutMs / 1000).toFixed(2)} seconds`);
    try {
      await worker.run(event, Date.now() + fn.timeoutMs, late);
    } catch (error) {
      void worker.terminate();
      throw error;
    }
    if (!stopped && worker.alive) {
      worker.hold(false); // an idle container does not keep the stack's process alive
      idle.get(fn.name)?.push(worker);
    }
  }

  async function coldStart(fn: AsyncFunction & { bundle: string }): Promise<FunctionWorker> {
    const worker = await FunctionWorker.start(fn.bundle, fn.name, log);
    workers.add(worker);
    worker.onExit(() => {
      workers.delete(worker);
      const list = idle.get(fn.name);
      const at = list?.indexOf(worker) ?? -1;
      if (list && at >= 0) list.splice(at, 1);
    });
    return worker;
  }

  async function invokeAsync(functionName: string, event: unknown): Promise<void> {
    const e: QueuedEvent = { id: `${Date.now()}-${randomUUID()}`, function: functionName, event, attempts: 0, due: Date.now() };
    await save(e);
    schedule(e);
  }

  // What the last run of the stack had not delivered yet.
  for (const name of await readdir(pendingDir)) {
    if (!name.endsWith('.json')) continue;
    try {
      schedule(JSON.parse(await readFile(join(pendingDir, name), 'utf8')) as QueuedEvent);
    } catch (error) {
      log(`lambda: unreadable pending event ${name} (${(error as Error).message}); moved to ${failedDir}`);
      await rename(join(pendingDir, name), join(failedDir, name)).catch(() => undefined);
    }
  }

  const server = await listen(
    createServer((req, res) => {
      // POST /2015-03-31/functions/{name}/invocations
      const m = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(req.url?.split('?')[0] ?? '');
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const reply = (status: number, body: object) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        };
        const name = m?.[1] ? decodeURIComponent(m[1]).replace(/^arn:aws:lambda:[^:]*:[^:]*:function:/, '') : undefined;
        if (req.method !== 'POST' || !name) return reply(404, { Type: 'User', message: 'Unknown operation' });
        if (!functions.has(name)) return reply(404, { Type: 'User', message: `Function not found: ${name}` });
        if (req.headers['x-amz-invocation-type'] !== 'Event') {
          return reply(400, { Type: 'User', message: 'the local stack runs only asynchronous invocations (InvocationType Event)' });
        }
        let event: unknown;
        try {
          event = chunks.length > 0 ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
        } catch {
          return reply(400, { Type: 'User', message: 'the payload is not JSON' });
        }
        invokeAsync(name, event).then(
          () => {
            res.writeHead(202);
            res.end();
          },
          (error: Error) => reply(500, { Type: 'Service', message: error.message }),
        );
      });
    }),
  );

  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    invokeAsync,
    settled: async () => {
      while (running.size > 0 || timers.size > 0) {
        if (running.size > 0) await Promise.allSettled([...running]);
        else await new Promise((r) => setTimeout(r, 50));
      }
    },
    dropEvents: (name, count) => void drops.set(name, count),
    runs: (name) => runCounts.get(name) ?? 0,
    stop: async (graceMs = 0) => {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      if (graceMs > 0 && running.size > 0) {
        let timer: NodeJS.Timeout | undefined;
        const grace = new Promise<void>((r) => (timer = setTimeout(r, graceMs)));
        await Promise.race([Promise.allSettled([...running]), grace]);
        clearTimeout(timer);
      }
      await Promise.all([...workers].map((w) => w.terminate()));
      await Promise.allSettled([...running]);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function listen(server: Server): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}
