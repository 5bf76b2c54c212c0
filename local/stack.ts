/**
 * The one-machine stack: DynamoDB Local, the local S3 and the gateway, wired
 * to the same handlers that Lambda runs, each function in worker threads of
 * its own as in a Lambda container (the capture authorizer, small, on the
 * gateway's thread). The handlers find DynamoDB and S3 through
 * the SDK's standard endpoint variables, set here for this process and
 * inherited by the workers.
 */
import { mkdir, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { resolve as resolvePath, join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CONTENT_PREFIX } from '../functions/core/db/schema.js';
import { API_BASE } from '../functions/routes.js';
import { entryOf } from '../infra/bundling.js';
import { ASYNC_RETRY_DELAYS_SECONDS, TIMEOUT_SECONDS } from '../infra/function-timeouts.js';
import { startApiFunctions } from './api-functions.js';
import { startDynamoDbLocal } from './dynamodb.js';
import { LocalStackError } from './errors.js';
import { createGateway } from './gateway.js';
import { lockDataDir } from './data-lock.js';
import { useLocalHandlerEnvironment } from './handler-env.js';
import { startLambdaRuntime, type LambdaRuntime } from './lambda-runtime.js';
import { assertPortFree, freePort } from './ports.js';
import { startLocalS3 } from './s3.js';
import { createDefaultImage, ensureTable } from './table.js';
import { issueToken, loadOrCreateKeys, type SigningKeys } from './tokens.js';

export interface LocalStackOptions {
  dataDir: string;
  /** Gateway port; 0 picks a free one. */
  port: number;
  dynamodbPort?: number;
  s3Port?: number;
  tableName?: string;
  bucket?: string;
  accessLog?: (line: string) => void;
  /** Seconds a presigned URL lives (UPLOAD_URL_EXPIRY_SECONDS). */
  urlExpirySeconds?: number;
  /** How often the sweeper runs (default every 15 minutes, as on AWS). */
  sweepIntervalSeconds?: number;
  /**
   * Told, in one line, when a part of the stack died and could not be brought
   * back; the stack is then of no use and should be stopped. Default: stderr.
   */
  onFatal?: (line: string) => void;
  /** The hasher's timeout (default HASHER_TIMEOUT_SECONDS, else the deployed one). */
  hasherTimeoutSeconds?: number;
  /** Delays before the retries of a failed asynchronous run (default LAMBDA_RETRY_DELAYS_SECONDS, else 60 and 120 as on AWS). */
  retryDelaysSeconds?: readonly number[];
  /** Settings passed to the handlers' environment as they are (REDRIVE_MARGIN_SECONDS, MAX_REDRIVES, ...). */
  handlerEnv?: Record<string, string>;
}

export interface LocalStack {
  /** `http://127.0.0.1:<port>/api/v1` */
  apiUrl: string;
  port: number;
  dataDir: string;
  dynamodbEndpoint: string;
  s3Endpoint: string;
  tableName: string;
  bucket: string;
  keys: SigningKeys;
  token(user: string, options?: { admin?: boolean; ttl?: string }): Promise<string>;
  /** Lambda's side of the stack: the hasher and the sweeper run here, asynchronously. */
  lambda: LambdaRuntime;
  /** Resolves when every S3 event delivered so far has been handled. */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/** How long a stop waits for hasher runs in flight: `npm start` must be gone within 10 s. */
const STOP_GRACE_MS = 3_000;

export const HASHER = 'image-service-hasher';
export const SWEEPER = 'image-service-sweeper';

function secondsFromEnv(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = Number(raw);
  if (!(value > 0)) throw new LocalStackError(`${name} must be a positive number of seconds, got "${raw}"`);
  return value;
}

function delaysFromEnv(name: string): number[] | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const values = raw.split(',').map(Number);
  if (values.some((v) => !(v >= 0))) throw new LocalStackError(`${name} must list seconds, e.g. "60,120", got "${raw}"`);
  return values;
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  // Lambda runs Node.js 22+; this machine's Node 20 is fine for the local stack.
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  const dataDir = resolvePath(options.dataDir);
  const tableName = options.tableName ?? 'image-service';
  const bucket = options.bucket ?? 'image-service-content';
  if (options.port !== 0) await assertPortFree(options.port, 'the API', 'PORT');
  if (options.dynamodbPort) await assertPortFree(options.dynamodbPort, 'DynamoDB Local', 'DYNAMODB_PORT');
  if (options.s3Port) await assertPortFree(options.s3Port, 'the local S3', 'S3_PORT');
  // The first directory this start creates, if any: a start that fails removes it again.
  const created = await mkdir(dataDir, { recursive: true }).catch((error: Error) => {
    throw new LocalStackError(`cannot use ${dataDir} as the data directory (${error.message}); set DATA_DIR to a writable directory`);
  });
  const stops: (() => Promise<void> | void)[] = [];

  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop();
  };
  try {
    stops.push(lockDataDir(dataDir));
    const keys = await loadOrCreateKeys(dataDir);
    const dynamo = await startDynamoDbLocal({
      dataDir: join(dataDir, 'dynamodb'),
      port: options.dynamodbPort || (await freePort()),
      onRestart: (line) => console.error(line),
      onFatal: options.onFatal ?? ((line) => console.error(line)),
    });
    stops.push(() => dynamo.stop());

    const hasherTimeoutSeconds = options.hasherTimeoutSeconds ?? secondsFromEnv('HASHER_TIMEOUT_SECONDS') ?? TIMEOUT_SECONDS.hasher;
    const retryDelaysSeconds = options.retryDelaysSeconds ?? delaysFromEnv('LAMBDA_RETRY_DELAYS_SECONDS') ?? ASYNC_RETRY_DELAYS_SECONDS;
    const lambda = await startLambdaRuntime({
      directory: join(dataDir, 'lambda'),
      functions: [
        { name: HASHER, entry: entryOf('hasher'), timeoutMs: hasherTimeoutSeconds * 1000 },
        { name: SWEEPER, entry: entryOf('sweeper'), timeoutMs: TIMEOUT_SECONDS.sweeper * 1000 },
      ],
      retryDelaysMs: retryDelaysSeconds.map((d) => d * 1000),
    });
    stops.push(() => lambda.stop());

    const pending = new Set<Promise<void>>();
    const s3 = await startLocalS3({
      directory: join(dataDir, 's3'),
      port: options.s3Port ?? 0,
      bucket,
      onEvent: (event) => {
        // The same filter as the notification on AWS: objects created under content/ in the content bucket.
        const records = event.Records.filter(
          (r) => r.s3.bucket.name === bucket && r.eventName.startsWith('ObjectCreated:') && r.s3.object.key.startsWith(CONTENT_PREFIX),
        );
        if (records.length === 0) return;
        const queued = lambda
          .invokeAsync(HASHER, { Records: records })
          .catch((error: unknown) => console.error('hasher: event not queued:', error))
          .finally(() => pending.delete(queued));
        pending.add(queued);
      },
    });
    stops.push(() => s3.close());

    useLocalHandlerEnvironment(
      { dynamodbEndpoint: dynamo.endpoint, s3Endpoint: s3.endpoint, lambdaEndpoint: lambda.endpoint, tableName, bucket },
      {
        HASHER_TIMEOUT_SECONDS: String(hasherTimeoutSeconds),
        ...(options.urlExpirySeconds ? { UPLOAD_URL_EXPIRY_SECONDS: String(options.urlExpirySeconds) } : {}),
        ...options.handlerEnv,
      },
    );

    const admin = new DynamoDBClient({});
    try {
      // DefaultImage exists from installation: the first start on a new data directory creates it.
      if (await ensureTable(admin, tableName)) await createDefaultImage(admin, tableName);
    } finally {
      admin.destroy();
    }

    // The API's functions run in containers of their own (local/api-functions.ts), started
    // now: their workers, like the authorizer's module, read the environment set above.
    const api = await startApiFunctions({
      buildDir: join(dataDir, 'lambda', 'build'),
      functions: {
        records: { entry: entryOf('records'), name: 'image-service-records' },
        content: { entry: entryOf('content'), name: 'image-service-content' },
      },
    });
    stops.push(() => api.stop());
    const { handler: captureAuthorizer } = await import('../functions/capture-authorizer.js');

    // The sweeper runs on a schedule on AWS; here once at start (re-driving what a crash left) and then every interval.
    const sweep = () => void lambda.invokeAsync(SWEEPER, {}).catch((error: unknown) => console.error('sweeper:', error));
    sweep();
    const sweepTimer = setInterval(sweep, (options.sweepIntervalSeconds ?? 900) * 1000);
    sweepTimer.unref();
    stops.push(() => clearInterval(sweepTimer));

    const server = createGateway({
      keys,
      invoke: api.invoke,
      captureAuthorizer,
      ...(options.accessLog ? { accessLog: options.accessLog } : {}),
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          new LocalStackError(
            error.code === 'EADDRINUSE'
              ? `port ${options.port} for the API is already in use: stop what uses it or choose another with PORT=<port>`
              : `the API cannot listen: ${error.message}`,
          ),
        ),
      );
      server.listen(options.port, '127.0.0.1', resolve);
    });
    stops.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    const port = (server.address() as AddressInfo).port;

    return {
      apiUrl: `http://127.0.0.1:${port}${API_BASE}`,
      port,
      dataDir,
      dynamodbEndpoint: dynamo.endpoint,
      s3Endpoint: s3.endpoint,
      tableName,
      bucket,
      keys,
      token: (user, o = {}) => issueToken(keys, { user, admin: o.admin ?? false, ttl: o.ttl ?? '1h' }),
      lambda,
      settled: async () => {
        while (pending.size > 0) await Promise.allSettled([...pending]);
        await lambda.settled();
      },
      stop: async () => {
        // Events are written to the data directory and runs in flight may finish within the grace; runs
        // still going then are terminated with their workers (hashing is safe to repeat, their events stay pending).
        const stopDeadline = Date.now() + STOP_GRACE_MS;
        const graceLeft = () => Math.max(0, stopDeadline - Date.now());
        await Promise.race([Promise.allSettled([...pending]), new Promise((r) => setTimeout(r, graceLeft()).unref())]);
        // First, while S3 and DynamoDB still answer the runs in flight.
        await lambda.stop(graceLeft());
        await stopAll();
      },
    };
  } catch (error) {
    await stopAll();
    if (created) await rm(created, { recursive: true, force: true });
    throw error;
  }
}
