/** The installed entry points start imgctl: the bin launcher (`npx imgctl`) and `npm run imgctl`. */
import { execFile, spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli } from '../../cli/build.js';
import { BUNDLE, entryFor, staleReason } from '../../cli/bin/fresh.js';
import { stack } from '../integration/api.js';
import { ROOT, newHome } from './helpers.js';

const run = promisify(execFile);
/** The one module outside cli/ that imgctl runs (it imports nothing). */
const RETRY = 'functions/core/retry.ts';

/** Runs a launcher as a user would, against the stack, with the reader's token. */
async function launch(bin: string, args: string[], env: Record<string, string> = {}) {
  const home = await newHome();
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('IMGCTL_')) base[k] = v;
  return run(bin, args, {
    cwd: home,
    env: {
      ...base,
      HOME: home,
      XDG_CONFIG_HOME: join(home, '.config'),
      IMGCTL_URL: stack().apiUrl,
      IMGCTL_TOKEN: stack().tokens.reader,
      ...env,
    },
  });
}

describe('entry points', () => {
  it('package.json names cli/bin/imgctl.js as the imgctl bin, and it runs a command', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { bin?: Record<string, string> };
    expect(pkg.bin?.['imgctl']).toBe('cli/bin/imgctl.js');
    const out = await launch(join(ROOT, 'cli/bin/imgctl.js'), ['list', '--json']);
    expect(typeof JSON.parse(out.stdout)).toBe('object');
  });

  it('stops quietly with 0 when its reader closes the pipe (imgctl --help | head -1)', async () => {
    const child = spawn(process.execPath, [join(ROOT, 'cli/bin/imgctl.js'), '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // the reader is gone before the first line is written
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(stderr).not.toContain('EPIPE');
    expect(code).toBe(0);
  });
});

/**
 * The launcher in a copy of the project (its cli/, the one module of
 * functions/ it runs, and package.json; the checkout's node_modules through a symlink), so that the copy's sources can
 * be edited and its bundle rebuilt without touching this checkout's.
 */
describe('the launcher in a copy of the project', () => {
  const MARK = 'imgctl-test: ran the bundle';
  let copy: string;
  let bin: string;

  /** Builds the copy's bundle, then makes it say on stderr that it ran. */
  async function buildMarked(): Promise<void> {
    const { bundle } = await buildCli({ root: copy });
    const text = await readFile(bundle, 'utf8');
    await writeFile(bundle, `process.stderr.write(${JSON.stringify(`${MARK}\n`)});\n${text}`);
  }

  beforeAll(async () => {
    copy = await mkdtemp(join(tmpdir(), 'imgctl-copy-'));
    await cp(join(ROOT, 'cli'), join(copy, 'cli'), { recursive: true, filter: (src) => !src.startsWith(join(ROOT, 'cli/dist')) });
    await cp(join(ROOT, RETRY), join(copy, RETRY));
    await cp(join(ROOT, 'package.json'), join(copy, 'package.json'));
    await symlink(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
    bin = join(copy, 'cli/bin/imgctl.js');
  });

  afterAll(async () => {
    if (!copy) return;
    await unlink(join(copy, 'node_modules')); // the link only, before removing the rest
    await rm(copy, { recursive: true, force: true });
  });

  it('without a build, runs the sources', async () => {
    expect(staleReason(copy)).toBe(`no bundle at ${join(copy, BUNDLE)}`);
    const out = await launch(bin, ['list', '--json']);
    expect(typeof JSON.parse(out.stdout)).toBe('object');
    expect(out.stderr).not.toContain(MARK);
  });

  it('after the build, runs the bundle, which answers list --json', async () => {
    await buildMarked();
    expect(entryFor(copy, {})).toBe('bundle');
    const out = await launch(bin, ['list', '--json']);
    expect(typeof JSON.parse(out.stdout)).toBe('object');
    expect(out.stderr).toContain(MARK);
  });

  it('with IMGCTL_FROM_SOURCE=1, runs the sources though the bundle is fresh', async () => {
    expect(entryFor(copy, {})).toBe('bundle');
    const out = await launch(bin, ['list', '--json'], { IMGCTL_FROM_SOURCE: '1' });
    expect(typeof JSON.parse(out.stdout)).toBe('object');
    expect(out.stderr).not.toContain(MARK);
  });

  it('runs the sources once a listed source is touched', async () => {
    const now = new Date();
    await utimes(join(copy, 'cli/errors.ts'), now, now);
    expect(staleReason(copy)).toBe('cli/errors.ts changed after the build');
    const out = await launch(bin, ['list', '--json']);
    expect(typeof JSON.parse(out.stdout)).toBe('object');
    expect(out.stderr).not.toContain(MARK);
  });

  it('runs an edited source at once, and the bundle again once rebuilt with the edit', async () => {
    await buildMarked();
    const before = await launch(bin, ['--version']);
    expect(before.stdout.trim()).toBe('0.1.0');
    expect(before.stderr).toContain(MARK);
    const program = join(copy, 'cli/program.ts');
    const source = await readFile(program, 'utf8');
    expect(source).toContain(".version('0.1.0')");
    await writeFile(program, source.replace(".version('0.1.0')", ".version('0.1.0-edited')"));

    expect(entryFor(copy, {})).toBe('source');
    const edited = await launch(bin, ['--version']);
    expect(edited.stdout.trim()).toBe('0.1.0-edited');
    expect(edited.stderr).not.toContain(MARK);

    await buildMarked();
    expect(entryFor(copy, {})).toBe('bundle');
    const rebuilt = await launch(bin, ['--version']);
    expect(rebuilt.stdout.trim()).toBe('0.1.0-edited');
    expect(rebuilt.stderr).toContain(MARK);
  });
});
