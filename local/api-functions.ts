/**
 * The API's Lambda functions on one machine: each runs in a few worker
 * threads (warm containers) beside the gateway, so the gateway's own thread
 * only accepts, authorizes and forwards, as API Gateway does in front of
 * Lambda. With the handlers on the gateway's thread, a saturated event loop
 * accepted about one new connection per turn, and in a boot storm the first
 * request of each new connection waited hundreds of milliseconds before it was
 * even read (bench/boot-storm.bench.ts).
 *
 * Unlike a Lambda container, a local one serves several requests at once; the
 * pool holds one per core (at least two) for each function, started with the
 * stack so that no request pays a cold start. So a request past its deadline
 * is answered as API Gateway answers it (503), but its run is not stopped: the
 * container serves other requests.
 */
import { availableParallelism } from 'node:os';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { ApiEvent } from '../functions/http/api-handler.js';
import type { ApiFunction } from '../functions/routes.js';
import { bundleFunction, FunctionWorker, RunFailed } from './function-worker.js';
import { IntegrationTimedOut } from './gateway.js';

export { IntegrationTimedOut };

export interface ApiFunctionsOptions {
  /** Where the bundles are written. */
  buildDir: string;
  /** Each API function's handler module (TypeScript) and its name as Lambda's context gives it. */
  functions: Record<ApiFunction, { entry: string; name: string }>;
  /** Containers per function (default: one per core, at least two). */
  containers?: number;
  log?: (line: string) => void;
}

export interface ApiFunctions {
  /** Runs the event in the function's least busy container; rejects at the deadline (epoch ms). */
  invoke(fn: ApiFunction, event: ApiEvent, deadline: number): Promise<APIGatewayProxyStructuredResultV2>;
  stop(): Promise<void>;
}

export async function startApiFunctions(options: ApiFunctionsOptions): Promise<ApiFunctions> {
  const log = options.log ?? ((line: string) => console.error(line));
  const size = options.containers ?? Math.max(2, availableParallelism());
  await mkdir(options.buildDir, { recursive: true });
  const specs = Object.entries(options.functions) as [ApiFunction, { entry: string; name: string }][];
  const bundleOf = (fn: ApiFunction) => join(options.buildDir, `${options.functions[fn].name}.mjs`);
  await Promise.all(specs.map(([fn, spec]) => bundleFunction(spec.entry, bundleOf(fn))));

  let stopped = false;
  const pools = new Map<ApiFunction, FunctionWorker[]>(specs.map(([fn]) => [fn, []]));
  /** Containers being started, per function: they count toward the pool's size. */
  const starting = new Map<ApiFunction, Set<Promise<FunctionWorker>>>(specs.map(([fn]) => [fn, new Set()]));
  const start = (fn: ApiFunction): Promise<FunctionWorker> => {
    const started = FunctionWorker.start(bundleOf(fn), options.functions[fn].name, log).then(async (worker) => {
      if (stopped) {
        await worker.terminate();
        throw new RunFailed('the stack stops');
      }
      // The gateway's server keeps the process alive while it serves; an idle container must not.
      worker.hold(false);
      pools.get(fn)?.push(worker);
      worker.onExit(() => {
        const pool = pools.get(fn);
        const at = pool?.indexOf(worker) ?? -1;
        if (pool && at >= 0) pool.splice(at, 1);
        if (!stopped) log(`${options.functions[fn].name}: a container exited; the next request starts another`);
      });
      return worker;
    });
    const inFlight = starting.get(fn);
    inFlight?.add(started);
    void started.then(
      () => inFlight?.delete(started),
      () => inFlight?.delete(started),
    );
    return started;
  };
  const first = await Promise.allSettled(specs.flatMap(([fn]) => Array.from({ length: size }, () => start(fn))));
  const failed = first.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    // Nothing else will stop the containers that did start.
    stopped = true;
    await Promise.all([...pools.values()].flat().map((w) => w.terminate()));
    throw failed.reason;
  }

  /** The least busy container, chosen at once so that requests arriving together spread out. */
  function container(fn: ApiFunction): FunctionWorker | Promise<FunctionWorker> {
    const pool = pools.get(fn) ?? [];
    const inFlight = starting.get(fn) ?? new Set();
    // A container lost (it crashed) is replaced by the request that notices.
    if (pool.length + inFlight.size < size) void start(fn).catch((error: Error) => log(`${options.functions[fn].name}: ${error.message}`));
    let best = pool[0];
    for (const w of pool) if (best === undefined || w.busy < best.busy) best = w;
    // None left: wait for one being started rather than start more.
    return best ?? [...inFlight][0] ?? start(fn);
  }

  return {
    async invoke(fn, event, deadline) {
      if (stopped) throw new RunFailed('the stack stops');
      const chosen = container(fn);
      const worker = chosen instanceof FunctionWorker ? chosen : await chosen;
      const late = () => new IntegrationTimedOut(`${options.functions[fn].name} timed out`);
      return (await worker.run(event, deadline, late)) as APIGatewayProxyStructuredResultV2;
    },
    async stop() {
      stopped = true;
      await Promise.all([...pools.values()].flat().map((w) => w.terminate()));
    },
  };
}
