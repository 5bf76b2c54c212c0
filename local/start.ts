/**
 * `npm start`: the whole service on this machine. Stops cleanly, within 10 s,
 * on Ctrl-C, SIGTERM or SIGHUP, sent to this process or to the npm process
 * that started it; if this process is killed outright, its children go with it.
 *
 * The script is `node --import tsx local/start.ts`, one process under npm's
 * shell, rather than the tsx command, which runs the code in a second node
 * process. npm passes SIGINT and SIGTERM on to its script but dies of SIGHUP
 * (or SIGKILL) without a word, so under npm this process also watches its
 * parent and stops when the parent is gone.
 */
import { LocalStackError } from './errors.js';
import { localSettings } from './settings.js';
import { startLocalStack, type LocalStack } from './stack.js';

/** How often the parent is checked; Node has no event for its death. */
const PARENT_POLL_MS = 250;
/** A stop that takes longer than this is cut short: the children die with us anyway. */
const STOP_DEADLINE_MS = 8_000;

async function main(): Promise<void> {
  let stopping = false;
  let starting: Promise<LocalStack> | undefined;
  const stop = (why: string, code: number) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${why}: stopping`);
    setTimeout(() => {
      console.error(`npm start: stopping took over ${STOP_DEADLINE_MS / 1000} s; exiting`);
      process.exit(1);
    }, STOP_DEADLINE_MS).unref();
    // A stop while starting waits for the start to finish (or fail, having cleaned up after itself).
    void (starting ?? Promise.reject(new Error('not started')))
      .then(
        (stack) => stack.stop(),
        () => undefined,
      )
      .then(
        () => process.exit(code),
        (error: unknown) => {
          console.error('npm start: stopping failed:', error);
          process.exit(1);
        },
      );
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => stop(signal, 0));
  if (process.env['npm_lifecycle_event'] !== undefined) {
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) stop(`npm (pid ${parent}) is gone`, 0);
    }, PARENT_POLL_MS).unref();
  }

  let stack: LocalStack;
  try {
    starting = startLocalStack({
      ...localSettings(),
      accessLog: (line) => console.log(line),
      onFatal: (line) => {
        console.error(`npm start: ${line}`);
        stop('the stack cannot go on', 1);
      },
    });
    stack = await starting;
  } catch (error) {
    if (error instanceof LocalStackError) {
      console.error(`npm start: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  if (stopping) return; // a signal came while starting: stop() takes it from here

  // The token command finds the signing key in the data directory: name it when it is not the default.
  const dataDirEnv = process.env['DATA_DIR'] ? `DATA_DIR=${process.env['DATA_DIR']} ` : '';
  const origin = new URL(stack.apiUrl).origin;
  console.log(`Image Service is up: ${stack.apiUrl}
  console:   ${origin}/ (sign in with a token from the command below)
  API docs:  ${origin}/reference/ (OpenAPI: ${stack.apiUrl}/openapi.json)
  data:      ${stack.dataDir}
  DynamoDB:  ${stack.dynamodbEndpoint} (table ${stack.tableName})
  S3:        ${stack.s3Endpoint} (bucket ${stack.bucket})

Get a token (admin may change images; without --admin a token only reads):
  TOKEN=$(${dataDirEnv}npm run --silent token -- --user admin1 --admin)
  curl -H "Authorization: Bearer $TOKEN" ${stack.apiUrl}/images
Ctrl-C stops the service; its data stays in ${stack.dataDir}.`);
}

main().catch((error: unknown) => {
  console.error('npm start failed:', error);
  process.exit(1);
});
