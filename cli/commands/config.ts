/** config, login, logout: where the API is and which token to send. */
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { Api } from '../api.js';
import { Credentials, runTokenCommand, tokenClaims, type StoredCognito } from '../auth.js';
import { answerMfa, signIn, type CognitoClient, type CognitoTokens } from '../cognito.js';
import { loadSettings, normalizeUrl, readConfig, writeConfig, type Settings, type SettingFlags, type StoredConfig } from '../config.js';
import { Failure, RequestRefused, UsageError } from '../errors.js';
import { fields, time } from '../format.js';
import type { ContextOf } from './shared.js';

const KEYS = ['url', 'token', 'token_command'] as const;
type Key = (typeof KEYS)[number];

const asKey = (key: string): Key => {
  if (!(KEYS as readonly string[]).includes(key)) throw new UsageError(`unknown setting "${key}"; the settings are ${KEYS.join(', ')}`);
  return key as Key;
};

const mask = (token: string): string => (token.length <= 12 ? '***' : `${token.slice(0, 6)}...${token.slice(-4)}`);

function describe(settings: Settings): [string, string][] {
  const claims = settings.token ? tokenClaims(settings.token.value) : {};
  return [
    ['url', settings.url ? `${settings.url.value} (from ${settings.url.source})` : '(not set)'],
    ['token', settings.token ? `${mask(settings.token.value)} (from ${settings.token.source})` : '(not set)'],
    ...(settings.tokenCommand
      ? ([['renewed by', `\`${settings.tokenCommand.value}\` (token command, from ${settings.tokenCommand.source})`]] as [string, string][])
      : []),
    ...(settings.cognito
      ? ([
          [
            'renewed by',
            `Cognito refresh token (app client ${settings.cognito.client_id}, ${settings.cognito.region}${settings.cognito.username ? `, user ${settings.cognito.username}` : ''})`,
          ],
        ] as [string, string][])
      : []),
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
  return (await readStdin()).trim();
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Asks on the terminal without echoing what is typed (a password). */
function askHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  return new Promise((resolve) => {
    let typed = '';
    const done = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    const onData = (text: string) => {
      for (const ch of text) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          done();
          resolve(typed);
          return;
        }
        if (ch === '\u0003') {
          done();
          process.kill(process.pid, 'SIGINT');
          return;
        }
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else typed += ch;
      }
    };
    stdin.on('data', onData);
  });
}

async function ask(prompt: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(prompt)).trim();
  } finally {
    rl.close();
  }
}

interface CognitoLogin {
  cognitoClient?: string;
  region?: string;
  user?: string;
}

/**
 * Signs in to Cognito with a password (asked on the terminal, or the first
 * line of stdin) and, if the user has MFA, the code (terminal only).
 */
async function cognitoLogin(o: CognitoLogin): Promise<{ tokens: CognitoTokens; cognito: StoredCognito }> {
  const region = o.region ?? process.env['AWS_REGION'] ?? process.env['AWS_DEFAULT_REGION'];
  if (region === undefined || region === '') throw new UsageError("give the user pool's region: --region REGION (or AWS_REGION)");
  if (o.cognitoClient === undefined) throw new UsageError('give the app client: --cognito-client ID');
  const tty = process.stdin.isTTY === true;
  const user = o.user ?? (tty ? await ask('User: ') : undefined);
  if (user === undefined || user === '') throw new UsageError('give the user name: --user NAME');
  const password = tty ? await askHidden(`Password for ${user}: `) : ((await readStdin()).split('\n')[0] ?? '');
  if (password === '') throw new UsageError('no password given');
  const client: CognitoClient = { region, client_id: o.cognitoClient };
  const first = await signIn(client, user, password);
  let tokens: CognitoTokens;
  if ('challenge' in first) {
    if (first.challenge !== 'SOFTWARE_TOKEN_MFA' && first.challenge !== 'SMS_MFA') {
      throw new Failure(`Cognito asks for ${first.challenge}, which imgctl does not handle; finish it with the AWS CLI first`);
    }
    if (!tty) throw new UsageError(`Cognito asks for an MFA code (${first.challenge}): run imgctl login on a terminal`);
    tokens = await answerMfa(client, user, first, await ask('MFA code: '));
  } else tokens = first;
  if (tokens.refreshToken === undefined) throw new Failure('Cognito gave no refresh token');
  return { tokens, cognito: { ...client, refresh_token: tokens.refreshToken, username: user } };
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
              token_command: settings.tokenCommand?.value ?? null,
              token_command_source: settings.tokenCommand?.source ?? null,
              cognito: settings.cognito
                ? { region: settings.cognito.region, client_id: settings.cognito.client_id, username: settings.cognito.username ?? null }
                : null,
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
    .description(
      'check a token against the API and save the URL and how to get tokens in the config file: a token (--token, IMGCTL_TOKEN, or asked for / read from stdin), a token command (--token-command), or a Cognito sign-in (--cognito-client)',
    )
    .option('--cognito-client <id>', "sign in to Cognito with this app client (the stack's UserPoolClientId) and keep the refresh token")
    .option('--region <region>', "the user pool's AWS region (default AWS_REGION)")
    .option('--user <name>', 'the Cognito user name (asked for when not given)')
    .action(async (o: CognitoLogin, cmd: Command) => {
      const c = ctx(cmd);
      const flags = cmd.optsWithGlobals<SettingFlags>();
      const settings = await loadSettings(flags, { ignoreBrokenFile: true });
      if (!settings.url) throw new UsageError('give the API URL: imgctl login --url https://HOST/api/v1');
      const url = normalizeUrl(settings.url.value);
      const command = settings.tokenCommand && settings.tokenCommand.source !== 'file' ? settings.tokenCommand.value : undefined;
      if (command !== undefined && o.cognitoClient !== undefined)
        throw new UsageError('give --token-command or --cognito-client, not both');
      // What replaces the saved credentials: one way to get tokens at a time.
      let saved: Pick<StoredConfig, 'token' | 'token_command' | 'cognito'>;
      if (o.cognitoClient !== undefined) {
        const login = await cognitoLogin(o);
        saved = { token: login.tokens.accessToken, cognito: login.cognito };
      } else if (command !== undefined) {
        saved = { token: await runTokenCommand(command), token_command: command };
      } else {
        const token = settings.token && settings.token.source !== 'file' ? settings.token.value : await readToken();
        if (token === '') throw new UsageError('no token given');
        saved = { token };
      }
      const token = saved.token ?? '';
      try {
        await new Api({ url, credentials: new Credentials(token) }).envelope('GET', '/images', { query: { limit: 1 } });
      } catch (error) {
        if (error instanceof RequestRefused) throw new RequestRefused(error.status, `the API refused the token: ${error.reason}`);
        throw error;
      }
      // A config file that no longer parses is replaced: login is how to mend it.
      const kept = await readConfig().catch((error: unknown): StoredConfig => {
        c.out.note(`replacing ${settings.file}: ${(error as Error).message}`);
        return {};
      });
      delete kept.token_command;
      delete kept.cognito;
      await writeConfig({ ...kept, url, ...saved });
      const claims = tokenClaims(token);
      c.out.note(
        `logged in to ${url}${claims.user !== undefined ? ` as ${claims.user}${claims.admin ? ' (admin)' : ' (read only)'}` : ''}; saved in ${settings.file}`,
      );
    });

  program
    .command('logout')
    .description('remove the token, the token command and the Cognito refresh token from the config file')
    .action(async (_o: object, cmd: Command) => {
      const c = ctx(cmd);
      const stored = await readConfig();
      delete stored.token;
      delete stored.token_command;
      delete stored.cognito;
      await writeConfig(stored);
      c.out.note('token removed');
    });
}
