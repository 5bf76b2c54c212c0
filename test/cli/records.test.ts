/** imgctl's record commands, settings and error reporting, against the local stack. */
import { chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { call, stack, uniqueName } from '../integration/api.js';
import { expectCode, imgctl, newHome } from './helpers.js';

let home: string;
beforeAll(async () => {
  home = await newHome();
});

const run = (args: string[], options: Partial<Parameters<typeof imgctl>[1]> = {}) => imgctl(args, { home, ...options });

describe('settings: config, login, logout', () => {
  it('login checks the token, saves URL and token with mode 600, and later commands use them', async () => {
    const h = await newHome();
    const login = expectCode(
      await imgctl(['login', '--url', stack().apiUrl, '--token', stack().tokens.admin], { home: h, url: null, token: null }),
      0,
    );
    expect(login.stderr).toContain('as admin1 (admin)');
    const file = join(h, '.config/imgctl/config.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);

    const config = expectCode(await imgctl(['config', '--json'], { home: h, url: null, token: null }), 0);
    expect(JSON.parse(config.stdout)).toMatchObject({ url: stack().apiUrl, url_source: 'file', token_set: true, token_source: 'file' });
    expectCode(await imgctl(['list'], { home: h, url: null, token: null }), 0);

    // The environment wins over the file, a flag over both.
    const env = expectCode(await imgctl(['config'], { home: h, token: stack().tokens.reader }), 0);
    expect(env.stdout).toMatch(/token:\s+\S+ \(from env\)/);
    expect(env.stdout).toContain('reader1');
    expect(env.stdout).not.toContain(stack().tokens.reader);
    const flag = expectCode(await imgctl(['--url', 'http://127.0.0.1:1/api/v1', 'config'], { home: h }), 0);
    expect(flag.stdout).toContain('http://127.0.0.1:1/api/v1 (from flag)');

    expectCode(await imgctl(['logout'], { home: h, url: null, token: null }), 0);
    const after = await imgctl(['list'], { home: h, url: null, token: null });
    expectCode(after, 2);
    expect(after.stderr).toContain('no token');
  });

  it('login reads the token from stdin and refuses a bad one without saving it', async () => {
    const h = await newHome();
    expectCode(
      await imgctl(['login', '--url', stack().apiUrl], { home: h, url: null, token: null, input: `${stack().tokens.reader}\n` }),
      0,
    );
    const bad = await imgctl(['login', '--url', stack().apiUrl, '--token', 'not-a-token'], { home: h, url: null, token: null });
    expectCode(bad, 1);
    expect(bad.stderr).toMatch(/refused \(HTTP 401\): the API refused the token/);
    const config = expectCode(await imgctl(['config', '--json'], { home: h, url: null, token: null }), 0);
    expect(JSON.parse(config.stdout)).toMatchObject({ token_set: true, token_source: 'file' });
    const show = expectCode(await imgctl(['config'], { home: h, url: null, token: null }), 0);
    expect(show.stdout).toContain('reader1');
  });

  it('a broken config file is no obstacle when flags or the environment say everything, and login replaces it', async () => {
    const h = await newHome();
    const dir = join(h, '.config/imgctl');
    await mkdir(dir, { recursive: true, mode: 0o755 });
    await chmod(dir, 0o755);
    await writeFile(join(dir, 'config.json'), '{broken');
    expectCode(await imgctl(['list'], { home: h }), 0);
    const needsFile = expectCode(await imgctl(['list'], { home: h, token: null }), 1);
    expect(needsFile.stderr).toMatch(/config\.json is not valid JSON/);
    expectCode(await imgctl(['login', '--url', stack().apiUrl, '--token', stack().tokens.reader], { home: h, url: null, token: null }), 0);
    expectCode(await imgctl(['list'], { home: h, url: null, token: null }), 0);
    // imgctl's own directory is made its owner's only, even if it existed before.
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
  });

  it('config set / unset edit the file', async () => {
    const h = await newHome();
    expectCode(await imgctl(['config', 'set', 'url', 'https://images.example.org'], { home: h, url: null, token: null }), 0);
    const shown = expectCode(await imgctl(['config', '--json'], { home: h, url: null, token: null }), 0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ url: 'https://images.example.org/api/v1', token_set: false });
    expectCode(await imgctl(['config', 'unset', 'url'], { home: h, url: null, token: null }), 0);
    expectCode(await imgctl(['config', 'set', 'colour', 'x'], { home: h, url: null, token: null }), 2);
  });
});

describe('records', () => {
  it('create, show, update, replace, freeze, unfreeze, clone, delete', async () => {
    const name = uniqueName('cli');
    const parent = uniqueName('cli-parent');
    const parentUid = expectCode(await run(['create', parent]), 0).stdout.trim();
    const created = expectCode(
      await run(['create', name, '--description', 'Rocky 9 compute', '--distro', 'rocky9', '--parent', parent]),
      0,
    );
    const uid = created.stdout.trim();
    expect(uid).toMatch(/^[0-9a-f]{32}$/);

    const shown = expectCode(await run(['show', name]), 0).stdout;
    expect(shown).toMatch(/name:\s+/);
    expect(shown).toContain('Rocky 9 compute');
    expect(shown).toContain('content:     (none)');
    const json = JSON.parse(expectCode(await run(['show', uid, '--json']), 0).stdout) as Record<string, unknown>;
    const direct = await call('GET', `/image/${uid}`);
    expect(json).toEqual(direct.body.data);
    expect(json).toMatchObject({ name, distro: 'rocky9', parent: parentUid, description: 'Rocky 9 compute', frozen: false });

    const updated = JSON.parse(expectCode(await run(['update', name, 'distro=rocky9.4', 'description=', '--json']), 0).stdout) as Record<
      string,
      unknown
    >;
    expect(updated).toMatchObject({ distro: 'rocky9.4', description: null, parent: parentUid });

    const replaced = JSON.parse(expectCode(await run(['replace', uid, name, '--distro', 'alma9', '--json']), 0).stdout) as Record<
      string,
      unknown
    >;
    expect(replaced).toMatchObject({ name, distro: 'alma9', parent: null, description: null, frozen: false });

    expectCode(await run(['freeze', name]), 0);
    const frozenDelete = expectCode(await run(['delete', name]), 1);
    expect(frozenDelete.stderr).toMatch(/^imgctl: refused \(HTTP 403\): .*frozen/m);
    expectCode(await run(['unfreeze', name]), 0);

    const cloneName = uniqueName('cli-clone');
    const cloneUid = expectCode(await run(['clone', name, cloneName, '--description', 'a copy']), 0).stdout.trim();
    expect(cloneUid).toMatch(/^[0-9a-f]{32}$/);
    expect((await call('GET', `/image/${cloneUid}`)).body.data).toMatchObject({ name: cloneName, description: 'a copy' });

    expectCode(await run(['delete', name]), 0);
    expectCode(await run(['delete', cloneUid]), 0);
    expect((await call('GET', `/image/${uid}`)).status).toBe(404);
    const gone = expectCode(await run(['show', name]), 1);
    expect(gone.stderr).toMatch(/refused \(HTTP 404\)/);
  });

  it('list follows the pages to the end, filters, and prints a table or the data', async () => {
    const distro = uniqueName('distro');
    const names = [uniqueName('cli-list'), uniqueName('cli-list'), uniqueName('cli-list')];
    for (const n of names) expectCode(await run(['create', n, '--distro', distro]), 0);

    const json = JSON.parse(expectCode(await run(['list', '--distro', distro, '--page-size', '1', '--json']), 0).stdout) as Record<
      string,
      { name: string }
    >;
    expect(
      Object.values(json)
        .map((r) => r.name)
        .sort(),
    ).toEqual([...names].sort());
    for (const [uid, record] of Object.entries(json)) expect((await call('GET', `/image/${uid}`)).body.data).toEqual(record);

    const table = expectCode(await run(['list', '--distro', distro, '--page-size', '2']), 0)
      .stdout.trimEnd()
      .split('\n');
    expect(table[0]).toMatch(/^NAME\s+UID\s+DISTRO\s+PARENT\s+FROZEN\s+SIZE\s+MODIFIED\s+DESCRIPTION$/);
    expect(table).toHaveLength(4);

    const one = JSON.parse(expectCode(await run(['list', '--name', names[1] ?? '', '--json']), 0).stdout) as Record<string, unknown>;
    expect(Object.keys(one)).toHaveLength(1);
  });
});

describe('errors', () => {
  it('a wrong or expired token is refused readably with exit 1', async () => {
    const wrong = expectCode(await run(['list'], { token: 'garbage' }), 1);
    expect(wrong.stderr).toMatch(/^imgctl: refused \(HTTP 401\): .+ run `imgctl login`/m);
    expect(wrong.stderr).not.toMatch(/at .*\.ts:\d+/);
    const expired = expectCode(await run(['show', 'anything'], { token: stack().tokens.expired }), 1);
    expect(expired.stderr).toMatch(/refused \(HTTP 401\)/);
  });

  it('a reader may read but not change, and is told why', async () => {
    const name = uniqueName('cli-ro');
    expectCode(await run(['create', name]), 0);
    expectCode(await run(['show', name], { token: stack().tokens.reader }), 0);
    const refused = expectCode(await run(['update', name, 'distro=x'], { token: stack().tokens.reader }), 1);
    expect(refused.stderr).toMatch(/^imgctl: refused \(HTTP 403\): .*admin/m);
    expectCode(await run(['create', uniqueName('cli-ro')], { token: stack().tokens.reader }), 1);
  });

  it('bad usage exits 2, whether imgctl or the service (HTTP 400) finds it, with the reason', async () => {
    expectCode(await run(['frobnicate']), 2);
    expectCode(await run(['create']), 2);
    expectCode(await run(['upload', 'x', '/nonexistent/file']), 2);
    expectCode(await run(['update', 'x', 'novalue']), 2);
    expect(expectCode(await run(['update', 'x', 'bogus=1']), 2).stderr).toContain('"bogus" is not a field update can change');
    expectCode(await run(['list', '--page-size', 'many']), 2);
    expectCode(await run(['--help']), 0);
    const invalid = expectCode(await run(['create', '9starts-with-digit']), 2);
    expect(invalid.stderr).toMatch(/refused \(HTTP 400\): .*letter/);
    const unreachable = expectCode(await run(['list'], { url: 'http://127.0.0.1:9/api/v1' }), 1);
    expect(unreachable.stderr).toContain('cannot reach');
    const noUrl = expectCode(await run(['list'], { url: null }), 2);
    expect(noUrl.stderr).toContain('no API URL');
    // Sizes S3 would refuse are usage errors, before anything is read or sent.
    for (const size of ['1K', '6G']) {
      expect(expectCode(await run(['upload', 'x', '/etc/hostname', '--part-size', size]), 2).stderr).toContain("S3's limits for a part");
    }
  });

  it('never prints the token, even when a wrong URL echoes the request back', async () => {
    // The local S3 answers an API request with an XML error that quotes the Authorization header.
    const res = expectCode(await run(['list'], { url: `${stack().s3Endpoint}/api/v1` }), 1);
    expect(res.stderr).toMatch(/not the API's JSON/);
    const token = stack().tokens.admin;
    for (const piece of [token, token.slice(0, 12), token.split('.')[1] ?? token]) expect(res.stderr).not.toContain(piece);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
  });
});
