/** config, login, logout: where the API is and which token to send. */
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { Api } from '../api.js';
import { loadSettings, normalizeUrl, readConfig, writeConfig, type Settings, type SettingFlags } from '../config.js';
import { RequestRefused, UsageError } from '../errors.js';
import { fields, time } from '../format.js';
import type { ContextOf } from './shared.js';

const KEYS = ['url', 'token'] as const;
type Key = (typeof KEYS)[number];

const asKey = (key: string): Key => {
  if (!(KEYS as readonly string[]).includes(key)) throw new UsageError(`unknown setting "${key}"; the settings are ${KEYS.join(', ')}`);
  return key as Key;
};

const mask = (token: string): string => (token.length <= 12 ? '***' : `${token.slice(0, 6)}...${token.slice(-4)}`);

/** What the token says about itself (not verified here; the service does that). */
export function tokenClaims(token: string): { user?: string; admin?: boolean; expires?: number } {
  const payload = token.split('.')[1];
  if (payload === undefined) return {};
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const groups = claims['cognito:groups'];
    const user = claims['username'] ?? claims['cognito:username'] ?? claims['sub'];
    return {
      ...(typeof user === 'string' ? { user } : {}),
      admin: Array.isArray(groups) && groups.includes('admins'),
      ...(typeof claims['exp'] === 'number' ? { expires: claims['exp'] } : {}),
    };
  } catch {
    return {};
  }
}

function describe(settings: Settings): [string, string][] {
  const claims = settings.token ? tokenClaims(settings.token.value) : {};
  return [
    ['url', settings.url ? `${settings.url.value} (from ${settings.url.source})` : '(not set)'],
    ['token', settings.token ? `${mask(settings.token.value)} (from ${settings.token.source})` : '(not set)'],
    ...(claims.user !== undefined ? ([['user', `${claims.user}${claims.admin ? ' (admin)' : ''}`]] as [string, string][]) : []),
    ...(claims.expires !== undefined ? ([['expires', time(claims.expires)]] as [string, string][]) : []),
    ['file', settings.file],
  ];
}

async function readToken(): Promise<string> {
  if (process.stdin.isTTY) {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    try {
      return (await rl.question('Token: ')).trim();
    } finally {
      rl.close();
    }
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').trim();
}

export function register(program: Command, ctx: ContextOf): void {
  const config = program
    .command('config')
    .description('show the API URL and token in effect and where each comes from (flags, IMGCTL_URL/IMGCTL_TOKEN, config file)')
    .action(async (_o: object, cmd: Command) => {
      const c = ctx(cmd);
      const settings = await loadSettings(cmd.optsWithGlobals<SettingFlags>());
      if (c.out.json) {
        c.out.print(
          JSON.stringify(
            {
              url: settings.url?.value ?? null,
              url_source: settings.url?.source ?? null,
              token_set: settings.token !== undefined,
              token_source: settings.token?.source ?? null,
              file: settings.file,
            },
            null,
            2,
          ),
        );
      } else c.out.print(fields(describe(settings)));
    });

  config
    .command('set')
    .description('save a setting in the config file: url or token')
    .argument('<key>', 'url or token')
    .argument('<value>', 'the value')
    .action(async (key: string, value: string, _o: object, cmd: Command) => {
      const c = ctx(cmd);
      const k = asKey(key);
      const stored = await readConfig();
      stored[k] = k === 'url' ? normalizeUrl(value) : value;
      await writeConfig(stored);
      c.out.note(`saved ${k} in ${(await loadSettings({})).file}`);
    });

  config
    .command('unset')
    .description('remove a setting from the config file')
    .argument('<key>', 'url or token')
    .action(async (key: string, _o: object, cmd: Command) => {
      const c = ctx(cmd);
      const k = asKey(key);
      const stored = await readConfig();
      delete stored[k];
      await writeConfig(stored);
      c.out.note(`removed ${k}`);
    });

  program
    .command('login')
    .description('check a token against the API and save the URL and token in the config file (token from --token, IMGCTL_TOKEN, or asked for / read from stdin)')
    .action(async (_o: object, cmd: Command) => {
      const c = ctx(cmd);
      const settings = await loadSettings(cmd.optsWithGlobals<SettingFlags>(), { ignoreBrokenFile: true });
      if (!settings.url) throw new UsageError('give the API URL: imgctl login --url https://HOST/api/v1');
      const url = normalizeUrl(settings.url.value);
      const token = settings.token && settings.token.source !== 'file' ? settings.token.value : await readToken();
      if (token === '') throw new UsageError('no token given');
      try {
        await new Api({ url, token }).envelope('GET', '/images', { query: { limit: 1 } });
      } catch (error) {
        if (error instanceof RequestRefused) throw new RequestRefused(error.status, `the API refused the token: ${error.reason}`);
        throw error;
      }
      // A config file that no longer parses is replaced: login is how to mend it.
      const kept = await readConfig().catch((error: unknown) => {
        c.out.note(`replacing ${settings.file}: ${(error as Error).message}`);
        return {};
      });
      await writeConfig({ ...kept, url, token });
      const claims = tokenClaims(token);
      c.out.note(
        `logged in to ${url}${claims.user !== undefined ? ` as ${claims.user}${claims.admin ? ' (admin)' : ' (read only)'}` : ''}; saved in ${settings.file}`,
      );
    });

  program
    .command('logout')
    .description('remove the token from the config file')
    .action(async (_o: object, cmd: Command) => {
      const c = ctx(cmd);
      const stored = await readConfig();
      delete stored.token;
      await writeConfig(stored);
      c.out.note('token removed');
    });
}
