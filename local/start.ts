/**
 * `npm start`: the whole service on this machine. Stops cleanly on Ctrl-C or
 * SIGTERM; if this process is killed outright, its children go with it.
 */
import { LocalStackError } from './errors.js';
import { localSettings } from './settings.js';
import { startLocalStack, type LocalStack } from './stack.js';

async function main(): Promise<void> {
  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      ...localSettings(),
      accessLog: (line) => console.log(line),
    });
  } catch (error) {
    if (error instanceof LocalStackError) {
      console.error(`npm start: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping`);
    stack.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('npm start: stopping failed:', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  // The token command finds the signing key in the data directory: name it when it is not the default.
  const dataDirEnv = process.env['DATA_DIR'] ? `DATA_DIR=${process.env['DATA_DIR']} ` : '';
  console.log(`Image Service is up: ${stack.apiUrl}
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
