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

/** The function did not answer within API Gateway's integration timeout: API Gateway answers 503. */
export class IntegrationTimedOut extends RunFailed {}

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
  const bundles = new Map<ApiFunction, string>();
  await Promise.all(
    specs.map(async ([fn, spec]) => {
      const outfile = join(options.buildDir, `${spec.name}.mjs`);
      await bundleFunction(spec.entry, outfile);
      bundles.set(fn, outfile);
    }),
  );

  let stopped = false;
  const pools = new Map<ApiFunction, FunctionWorker[]>();
  const starting = new Map<ApiFunction, number>();
  const start = async (fn: ApiFunction): Promise<FunctionWorker> => {
    starting.set(fn, (starting.get(fn) ?? 0) + 1);
    const worker = await FunctionWorker.start(bundles.get(fn) ?? '', options.functions[fn].name, log).finally(() =>
      starting.set(fn, (starting.get(fn) ?? 1) - 1),
    );
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
  };
  for (const [fn] of specs) pools.set(fn, []);
  await Promise.all(specs.flatMap(([fn]) => Array.from({ length: size }, () => start(fn))));

  /** The least busy container, chosen at once so that requests arriving together spread out. */
  function container(fn: ApiFunction): FunctionWorker | Promise<FunctionWorker> {
    const pool = pools.get(fn) ?? [];
    // A container lost (it crashed) is replaced by the request that notices.
    if (pool.length + (starting.get(fn) ?? 0) < size)
      void start(fn).catch((error: Error) => log(`${options.functions[fn].name}: ${error.message}`));
    let best = pool[0];
    for (const w of pool) if (best === undefined || w.busy < best.busy) best = w;
    return best ?? start(fn);
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
