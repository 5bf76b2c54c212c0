/**
 * The one-machine stack: DynamoDB Local, the local S3 and the gateway, wired
 * to the same handlers that Lambda runs. The handlers find DynamoDB and S3
 * through the SDK's standard endpoint variables, set here for this process.
 */
import { mkdir, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { resolve as resolvePath, join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Event } from 'aws-lambda';
import { CONTENT_PREFIX } from '../functions/core/db/schema.js';
import { retry } from '../functions/core/retry.js';
import { API_BASE } from '../functions/routes.js';
import { startDynamoDbLocal } from './dynamodb.js';
import { LocalStackError } from './errors.js';
import { createGateway, type ApiLambda } from './gateway.js';
import { lockDataDir } from './data-lock.js';
import { useLocalHandlerEnvironment } from './handler-env.js';
import { lambdaContext } from './lambda-context.js';
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
  /** How often the sweeper runs (default hourly, as on AWS). */
  sweepIntervalSeconds?: number;
  /**
   * Told, in one line, when a part of the stack died and could not be brought
   * back; the stack is then of no use and should be stopped. Default: stderr.
   */
  onFatal?: (line: string) => void;
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
  /** Resolves when every S3 event delivered so far has been handled. */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/** The hasher's deadline on Lambda, mirrored so the local run fails the same way. */
const HASHER_TIMEOUT_MS = 15 * 60 * 1000;
const SWEEPER_TIMEOUT_MS = 5 * 60 * 1000;
/** How long a stop waits for hasher invocations in flight: `npm start` must be gone within 10 s. */
const STOP_GRACE_MS = 3_000;

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

    const pending = new Set<Promise<void>>();
    let deliver: (event: S3Event) => Promise<void> = async () => undefined;
    const s3 = await startLocalS3({
      directory: join(dataDir, 's3'),
      port: options.s3Port ?? 0,
      bucket,
      onEvent: (event) => {
        // The same filter as the notification on AWS: objects created under content/ in the content bucket.
        const records = event.Records.filter(
          (r) =>
            r.s3.bucket.name === bucket && r.eventName.startsWith('ObjectCreated:') && r.s3.object.key.startsWith(CONTENT_PREFIX),
        );
        if (records.length === 0) return;
        const delivery = deliver({ Records: records }).finally(() => pending.delete(delivery));
        pending.add(delivery);
      },
    });
    stops.push(() => s3.close());

    useLocalHandlerEnvironment(
      { dynamodbEndpoint: dynamo.endpoint, s3Endpoint: s3.endpoint, tableName, bucket },
      options.urlExpirySeconds ? { UPLOAD_URL_EXPIRY_SECONDS: String(options.urlExpirySeconds) } : {},
    );

    const admin = new DynamoDBClient({});
    try {
      // DefaultImage exists from installation: the first start on a new data directory creates it.
      if (await ensureTable(admin, tableName)) await createDefaultImage(admin, tableName);
    } finally {
      admin.destroy();
    }

    // Imported only now: the handlers' modules read the environment set above.
    const [{ handler: records }, { handler: content }, { handler: hasher }, { handler: sweeper }] = await Promise.all([
      import('../functions/records.js'),
      import('../functions/content.js'),
      import('../functions/hasher.js'),
      import('../functions/sweeper.js'),
    ]);
    deliver = (event) => invokeAsync(() => hasher(event, lambdaContext('image-service-hasher', HASHER_TIMEOUT_MS)));

    // The sweeper runs on a schedule on AWS; here once at start and then every interval.
    const sweep = () =>
      sweeper({}, lambdaContext('image-service-sweeper', SWEEPER_TIMEOUT_MS)).catch((error: unknown) =>
        console.error('sweeper:', error instanceof Error ? error.message : error),
      );
    void sweep();
    const sweepTimer = setInterval(() => void sweep(), (options.sweepIntervalSeconds ?? 3600) * 1000);
    sweepTimer.unref();
    stops.push(() => clearInterval(sweepTimer));

    const server = createGateway({
      keys,
      functions: { records: records as ApiLambda, content: content as ApiLambda },
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
      settled: async () => {
        while (pending.size > 0) await Promise.allSettled([...pending]);
      },
      stop: async () => {
        // A hash in flight may take minutes; hashing is safe to repeat, so a stop waits only briefly for it.
        await Promise.race([Promise.allSettled([...pending]), new Promise((r) => setTimeout(r, STOP_GRACE_MS).unref())]);
        await stopAll();
      },
    };
  } catch (error) {
    await stopAll();
    if (created) await rm(created, { recursive: true, force: true });
    throw error;
  }
}

/**
 * S3 invokes its Lambda asynchronously and retries a failed invocation twice;
 * do the same, so a transient failure locally behaves as it would on AWS.
 */
async function invokeAsync(invoke: () => Promise<unknown>): Promise<void> {
  await retry(
    async (attempt) => {
      try {
        await invoke();
      } catch (error) {
        console.error(`hasher: invocation ${attempt + 1} of 3 failed:`, error);
        throw error;
      }
    },
    { retries: 2, baseMs: 200, maxMs: 1000 },
  ).catch(() => undefined); // Logged above; on AWS the event would go to the failure queue.
}
