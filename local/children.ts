/**
 * Child processes that die with us, and whose own death we see. Node cannot
 * ask the kernel to signal a child when the parent dies, so each child runs
 * under a small shell guard that holds a pipe from us: when we exit in any way
 * (even SIGKILL) the pipe closes and the guard kills the child. The guard ends
 * when the child ends, with the child's status, so a child that dies on its
 * own is seen as the guard's exit.
 *
 * The guard runs in its own session: a Ctrl-C or hang-up aimed at the
 * terminal's process group reaches only us, and we stop the children in order
 * (the gateway before the stores it calls), not the terminal all at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface ChildExit {
  code: number | null;
  /** The signal that ended the child, e.g. 'SIGKILL'. */
  signal: string | null;
}

export interface Guarded {
  process: ChildProcess;
  /** Stops the child and waits for it to be gone. */
  stop(): Promise<void>;
  /** Resolves once the child has ended, for whatever reason. */
  exited: Promise<ChildExit>;
}

// fd 3 carries our pipe past `&`, which gives a background job /dev/null as stdin.
// `wait` returns early when a trapped signal arrives, hence the loop.
const GUARD = `
exec 3<&0
"$@" </dev/null &
child=$!
{ while read -r _; do :; done; kill -TERM $child 2>/dev/null; } <&3 &
watcher=$!
exec 3<&-
trap 'kill -TERM $child 2>/dev/null' TERM INT HUP
while :; do
  wait $child
  status=$?
  kill -0 $child 2>/dev/null || break
done
kill $watcher 2>/dev/null
exit $status
`;

const SIGNALS = [
  '',
  'SIGHUP',
  'SIGINT',
  'SIGQUIT',
  'SIGILL',
  'SIGTRAP',
  'SIGABRT',
  'SIGBUS',
  'SIGFPE',
  'SIGKILL',
  'SIGUSR1',
  'SIGSEGV',
  'SIGUSR2',
  'SIGPIPE',
  'SIGALRM',
  'SIGTERM',
];

/** The shell reports a child killed by signal n as status 128 + n. */
function childExit(code: number | null, signal: NodeJS.Signals | null): ChildExit {
  if (signal) return { code: null, signal };
  if (code !== null && code > 128 && code - 128 < SIGNALS.length) return { code: null, signal: SIGNALS[code - 128] ?? null };
  return { code, signal: null };
}

export function describeExit(exit: ChildExit): string {
  return exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
}

export function spawnGuarded(command: string, args: string[], options: { cwd?: string } = {}): Guarded {
  const child = spawn('sh', ['-c', GUARD, 'guard', command, ...args], {
    cwd: options.cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  const exited = new Promise<ChildExit>((resolve) => child.once('exit', (code, signal) => resolve(childExit(code, signal))));
  return {
    process: child,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin?.end();
      // The guard and its child share a process group (the guard's own): a child that ignores TERM goes with it.
      const timer = setTimeout(() => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
