/**
 * Child processes that die with us. Node cannot ask the kernel to signal a
 * child when the parent dies, so each child runs under a small shell guard
 * that holds a pipe from us: when we exit in any way (even SIGKILL) the pipe
 * closes, the guard's `read` returns and it kills the child.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface Guarded {
  process: ChildProcess;
  /** Stops the child and waits for it to be gone. */
  stop(): Promise<void>;
  /** Resolves with the exit code once the child has ended, for whatever reason. */
  exited: Promise<number | null>;
}

const GUARD = `
"$@" &
child=$!
trap 'kill -TERM $child 2>/dev/null; wait $child; exit 0' TERM INT
# Our stdin is a pipe from the parent: it reaches EOF when the parent is gone.
while read -r _; do :; done
kill -TERM $child 2>/dev/null
wait $child
`;

export function spawnGuarded(command: string, args: string[], options: { cwd?: string } = {}): Guarded {
  const child = spawn('sh', ['-c', GUARD, 'guard', command, ...args], {
    cwd: options.cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    process: child,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin?.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
