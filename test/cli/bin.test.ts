/** The installed entry points start imgctl: the bin launcher (`npx imgctl`) and `npm run imgctl`. */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { stack } from '../integration/api.js';
import { ROOT, newHome } from './helpers.js';

const run = promisify(execFile);

describe('entry points', () => {
  it('package.json names cli/bin/imgctl.js as the imgctl bin, and it runs a command', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { bin?: Record<string, string> };
    expect(pkg.bin?.['imgctl']).toBe('cli/bin/imgctl.js');
    const home = await newHome();
    const out = await run(join(ROOT, 'cli/bin/imgctl.js'), ['list', '--json'], {
      cwd: home,
      env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), IMGCTL_URL: stack().apiUrl, IMGCTL_TOKEN: stack().tokens.reader },
    });
    expect(typeof JSON.parse(out.stdout)).toBe('object');
  });
});
