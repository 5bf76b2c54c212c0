/**
 * imgctl for people: `help COMMAND` with examples, bash completion that
 * completes commands, options, image names (from the API) and files, and
 * usage errors that exit 2.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createImage, stack } from '../integration/api.js';
import { expectCode, imgctl, imgctlEntry, newHome } from './helpers.js';

let home: string;
const run = (args: string[], options: Partial<Parameters<typeof imgctl>[1]> = {}) => imgctl(args, { home, ...options });

beforeAll(async () => {
  home = await newHome();
});

describe('help', () => {
  it('shows a command with its options and examples, and exits 0', async () => {
    const help = expectCode(await run(['help', 'download']), 0);
    expect(help.stdout).toMatch(/Usage: imgctl download \[options\] <image> \[file\]/);
    expect(help.stdout).toContain('--limit-rate <rate>');
    expect(help.stdout).toMatch(/Examples:\n {2}imgctl download rocky9-compute/);
    expect(expectCode(await run(['upload', '--help']), 0).stdout).toContain('Examples:');
  });

  it('exits 2 on usage errors everywhere', async () => {
    expectCode(await run(['help', 'nosuch']), 2);
    expectCode(await run(['completion', 'fish']), 2);
    expectCode(await run(['completion']), 2);
    expectCode(await run(['download', 'x', '--limit-rate', '0']), 2);
  });
});

describe('bash completion', () => {
  /** What bash completes for the words typed, with the imgctl under test on the PATH and the stack in its environment. */
  async function complete(script: string, words: string[]): Promise<string[]> {
    const bin = join(home, 'bin');
    await mkdir(bin, { recursive: true });
    await writeFile(join(bin, 'imgctl'), `#!/bin/sh\nexec "${process.execPath}" "${await imgctlEntry()}" "$@"\n`, { mode: 0o755 });
    const quoted = words.map((w) => `'${w}'`).join(' ');
    const probe = `source ${script}; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _imgctl; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = spawnSync('bash', ['-c', probe], {
      cwd: home,
      encoding: 'utf8',
      env: {
        ...process.env,
        PATH: `${bin}:${process.env['PATH'] ?? ''}`,
        IMGCTL_URL: stack().apiUrl,
        IMGCTL_TOKEN: stack().tokens.reader,
        XDG_CONFIG_HOME: join(home, '.config'),
      },
    });
    if (r.status !== 0) throw new Error(r.stderr);
    return r.stdout.split('\n').filter((l) => l !== '');
  }

  it('completes commands, options, image names and files', async () => {
    const image = await createImage();
    const printed = expectCode(await run(['completion', 'bash']), 0).stdout;
    const script = join(home, 'imgctl.bash');
    await writeFile(script, printed);
    expect(spawnSync('bash', ['-n', script]).status).toBe(0);
    expect(await complete(script, ['imgctl', 'up'])).toEqual(['update', 'upload']);
    expect(await complete(script, ['imgctl', '--url', 'x', 'dow'])).toEqual(['download']);
    expect(await complete(script, ['imgctl', 'download', '--lim'])).toEqual(['--limit-rate']);
    expect(await complete(script, ['imgctl', 'completion', ''])).toEqual(['bash', 'zsh']);
    expect(await complete(script, ['imgctl', 'info', image.name.slice(0, -2)])).toEqual([image.name]);
    await writeFile(join(home, 'rocky.squashfs'), 'x');
    expect(await complete(script, ['imgctl', 'upload', '-c', '4', image.name, 'rocky.sq'])).toEqual(['rocky.squashfs']);
  });
});
