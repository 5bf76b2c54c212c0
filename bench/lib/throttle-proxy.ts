/**
 * A TCP proxy that caps every connection's download rate with its own token
 * bucket, to stand in for a remote service that gives each connection a fixed
 * bandwidth (S3 gives roughly 90 MB/s per connection). Requests (client to
 * upstream) pass unthrottled.
 *
 * `spawnThrottleProxy` runs it in a child process so the proxy's CPU does not
 * count against the code under test. Run directly it takes
 * `<upstreamHost> <upstreamPort> <bytesPerSecond>` and reports its port over IPC.
 */
import { fork } from 'node:child_process';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

export interface ThrottleProxyOptions {
  upstreamHost: string;
  upstreamPort: number;
  /** Per connection, downstream. */
  bytesPerSecond: number;
  /** Bytes a connection may send in one burst after idling (default 64 KiB). */
  burstBytes?: number;
}

export interface RunningProxy {
  port: number;
  close(): Promise<void>;
}

/** Copies `from` to `to` at no more than `bytesPerSecond`, honouring `to`'s backpressure. */
function pipeThrottled(from: Socket, to: Socket, bytesPerSecond: number, burstBytes: number) {
  let tokens = burstBytes;
  let last = performance.now();
  let waitingForTokens = false;
  let waitingForDrain = false;
  const resumeIfFree = () => {
    if (!waitingForTokens && !waitingForDrain) from.resume();
  };
  from.on('data', (chunk: Buffer) => {
    const now = performance.now();
    tokens = Math.min(burstBytes, tokens + ((now - last) * bytesPerSecond) / 1000);
    last = now;
    // Send now and go into debt: pausing until the debt is paid keeps the average exact
    // even though timers are coarser than one chunk's worth of time.
    tokens -= chunk.length;
    if (!to.write(chunk)) {
      waitingForDrain = true;
      from.pause();
      to.once('drain', () => {
        waitingForDrain = false;
        resumeIfFree();
      });
    }
    if (tokens < 0) {
      waitingForTokens = true;
      from.pause();
      setTimeout(
        () => {
          waitingForTokens = false;
          resumeIfFree();
        },
        (-tokens * 1000) / bytesPerSecond,
      );
    }
  });
  from.on('end', () => to.end());
}

export function startThrottleProxy(options: ThrottleProxyOptions): Promise<RunningProxy> {
  const { upstreamHost, upstreamPort, bytesPerSecond, burstBytes = 64 * 1024 } = options;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(upstreamPort, upstreamHost);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.setNoDelay(true);
    }
    const destroyBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', destroyBoth);
    upstream.on('error', destroyBoth);
    client.on('close', destroyBoth);
    upstream.on('close', destroyBoth);
    client.pipe(upstream);
    pipeThrottled(upstream, client, bytesPerSecond, burstBytes);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') return reject(new Error('proxy has no TCP address'));
      resolve({
        port: address.port,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

/** The proxy in a child process; it exits when closed or when this process dies. */
export async function spawnThrottleProxy(options: ThrottleProxyOptions): Promise<RunningProxy> {
  const args = [options.upstreamHost, String(options.upstreamPort), String(options.bytesPerSecond)];
  if (options.burstBytes !== undefined) args.push(String(options.burstBytes));
  const child = fork(fileURLToPath(import.meta.url), args, {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message) => resolve(Number(message)));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`proxy child exited early (${code})`)));
  });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [upstreamHost, upstreamPort, bytesPerSecond, burstBytes] = process.argv.slice(2);
  if (!upstreamHost || !upstreamPort || !bytesPerSecond || !process.send) {
    console.error('usage: forked with IPC, args <upstreamHost> <upstreamPort> <bytesPerSecond> [burstBytes]');
    process.exit(2);
  }
  const proxy = await startThrottleProxy({
    upstreamHost,
    upstreamPort: Number(upstreamPort),
    bytesPerSecond: Number(bytesPerSecond),
    burstBytes: burstBytes === undefined ? undefined : Number(burstBytes),
  });
  process.on('disconnect', () => process.exit(0));
  process.send(proxy.port);
}
