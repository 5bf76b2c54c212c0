import { createServer } from 'node:net';
import { LocalStackError } from './errors.js';

/** A port the OS says is free now on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Listens on 127.0.0.1:`port` and lets go again: undefined when that worked, else why not. */
function tryListen(port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(undefined)));
  });
}

/** Whether nothing listens on 127.0.0.1:`port` now. */
export async function portFree(port: number): Promise<boolean> {
  return (await tryListen(port)) === undefined;
}

/** Fails with a clear line when `port` is taken, before a child process finds out the hard way. */
export async function assertPortFree(port: number, what: string, variable: string): Promise<void> {
  const error = await tryListen(port);
  if (error === undefined) return;
  throw new LocalStackError(
    error.code === 'EADDRINUSE'
      ? `port ${port} for ${what} is already in use: stop what uses it or choose another with ${variable}=<port>`
      : `cannot listen on 127.0.0.1:${port} for ${what}: ${error.message}`,
  );
}
