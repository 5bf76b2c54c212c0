/**
 * Where imgctl finds the API and its token: command-line flags first, then
 * IMGCTL_URL / IMGCTL_TOKEN / IMGCTL_TOKEN_COMMAND, then the config file
 * ($XDG_CONFIG_HOME/imgctl/config.json, else ~/.config/imgctl/config.json),
 * which is written with mode 600 because it holds a bearer token (and a
 * Cognito refresh token after a Cognito login).
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { cognitoRefresher, commandRefresher, Credentials, type Refresher, type StoredCognito } from './auth.js';
import { Failure, UsageError } from './errors.js';

export interface StoredConfig {
  url?: string;
  token?: string;
  /** Prints a fresh token (see auth.ts). */
  token_command?: string;
  /** A Cognito login: the app client and its refresh token. */
  cognito?: StoredCognito;
}

export type Source = 'flag' | 'env' | 'file';

export interface Setting {
  value: string;
  source: Source;
}

export interface Settings {
  url?: Setting;
  token?: Setting;
  tokenCommand?: Setting;
  /** From the file only, and only when the token is too. */
  cognito?: StoredCognito;
  file: string;
}

const env = (name: string): string | undefined => {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : value;
};

function xdgDir(variable: string, fallback: string[]): string {
  const set = env(variable);
  // The XDG spec ignores relative paths.
  if (set?.startsWith('/')) return join(set, 'imgctl');
  return join(homedir(), ...fallback, 'imgctl');
}

export const configDir = (): string => xdgDir('XDG_CONFIG_HOME', ['.config']);
/** Resumable transfer state (open upload sessions); not configuration. */
export const stateDir = (): string => xdgDir('XDG_STATE_HOME', ['.local', 'state']);
export const configFile = (): string => join(configDir(), 'config.json');

export async function readConfig(file = configFile()): Promise<StoredConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Failure(`cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    const { url, token, token_command, cognito } = parsed as Record<string, unknown>;
    return {
      ...(typeof url === 'string' ? { url } : {}),
      ...(typeof token === 'string' ? { token } : {}),
      ...(typeof token_command === 'string' ? { token_command } : {}),
      ...(isCognito(cognito) ? { cognito } : {}),
    };
  } catch (error) {
    throw new Failure(`${file} is not valid JSON (${(error as Error).message}); fix or delete it, then run imgctl login`);
  }
}

function isCognito(v: unknown): v is StoredCognito {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as Record<string, unknown>;
  return typeof c['region'] === 'string' && typeof c['client_id'] === 'string' && typeof c['refresh_token'] === 'string';
}

/** Writes the whole file atomically, readable by its owner only. */
export async function writeConfig(config: StoredConfig, file = configFile()): Promise<void> {
  await writeJsonPrivate(file, config);
  // mkdir leaves an existing directory as it was: imgctl's own is its owner's only.
  await chmod(dirname(file), 0o700);
}

/** Also writes download sidecars next to the user's files: it must not touch their directory's mode. */
export async function writeJsonPrivate(file: string, value: unknown): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  await chmod(temp, 0o600);
  await rename(temp, file);
}

export interface SettingFlags {
  url?: string;
  token?: string;
  tokenCommand?: string;
}

/**
 * The settings in effect. The file is read only for what flags and the
 * environment leave open: a broken one is no obstacle then. `ignoreBrokenFile`
 * (for login, which replaces it) treats an unreadable file as empty.
 */
export async function loadSettings(flags: SettingFlags, { ignoreBrokenFile = false } = {}): Promise<Settings> {
  const file = configFile();
  let stored: StoredConfig | undefined;
  const readStored = async (): Promise<StoredConfig> => {
    stored ??= await (ignoreBrokenFile ? readConfig(file).catch((): StoredConfig => ({})) : readConfig(file));
    return stored;
  };
  const pick = async (flag: string | undefined, envName: string, key: 'url' | 'token' | 'token_command'): Promise<Setting | undefined> => {
    if (flag !== undefined && flag !== '') return { value: flag, source: 'flag' };
    const e = env(envName);
    if (e !== undefined) return { value: e, source: 'env' };
    const fromFile = (await readStored())[key];
    if (fromFile !== undefined && fromFile !== '') return { value: fromFile, source: 'file' };
    return undefined;
  };
  const url = await pick(flags.url, 'IMGCTL_URL', 'url');
  const token = await pick(flags.token, 'IMGCTL_TOKEN', 'token');
  // A way to renew belongs with the token it came with: a token given by
  // flag or environment is not renewed by what the file says (the file is
  // not even read for it), and a token command given by flag or environment
  // does not renew the file's token.
  const settings: Settings = { file, ...(url ? { url } : {}) };
  const givenCommand = flags.tokenCommand !== undefined && flags.tokenCommand !== '' ? flags.tokenCommand : env('IMGCTL_TOKEN_COMMAND');
  if (givenCommand !== undefined) {
    settings.tokenCommand = { value: givenCommand, source: flags.tokenCommand ? 'flag' : 'env' };
    if (token && token.source !== 'file') settings.token = token;
  } else if (token && token.source !== 'file') {
    settings.token = token;
  } else {
    if (token) settings.token = token;
    const tokenCommand = await pick(undefined, 'IMGCTL_TOKEN_COMMAND', 'token_command');
    if (tokenCommand) settings.tokenCommand = tokenCommand;
    else {
      const { cognito } = await readStored();
      if (cognito) settings.cognito = cognito;
    }
  }
  return settings;
}

/**
 * The API base: `https://host/api/v1`. A bare origin gets `/api/v1` added;
 * a trailing slash is dropped.
 */
export function normalizeUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`"${raw}" is not a URL; give the API base, e.g. https://images.example.org/api/v1`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`"${raw}" must be an http or https URL`);
  }
  let path = url.pathname.replace(/\/+$/, '');
  if (path === '') path = '/api/v1';
  return `${url.origin}${path}`;
}

export interface Connection {
  url: string;
  credentials: Credentials;
  /** The Authorization scheme: `Bearer` (a JWT), or `Capture` (a capture job's credential). Default Bearer. */
  scheme?: 'Bearer' | 'Capture';
}

export function refresherOf(settings: Settings): Refresher | undefined {
  if (settings.tokenCommand) return commandRefresher(settings.tokenCommand.value);
  if (settings.cognito) return cognitoRefresher(settings.cognito);
  return undefined;
}

export function requireConnection(settings: Settings, log?: (line: string) => void): Connection {
  if (!settings.url) {
    throw new UsageError('no API URL: run `imgctl login --url URL`, set IMGCTL_URL, or pass --url');
  }
  const refresher = refresherOf(settings);
  if (!settings.token && !refresher) {
    throw new UsageError('no token: run `imgctl login`, set IMGCTL_TOKEN, or pass --token');
  }
  // A renewed token goes back to the file when that is where the renewal came from.
  const fromFile = settings.tokenCommand ? settings.tokenCommand.source === 'file' : settings.cognito !== undefined;
  const persist = fromFile
    ? async (fresh: { token: string; refreshToken?: string }) => {
        const stored = await readConfig(settings.file);
        stored.token = fresh.token;
        if (fresh.refreshToken !== undefined && stored.cognito) stored.cognito.refresh_token = fresh.refreshToken;
        await writeConfig(stored, settings.file);
      }
    : undefined;
  const credentials = new Credentials(settings.token?.value, {
    ...(refresher ? { refresher } : {}),
    ...(persist ? { persist } : {}),
    ...(log ? { log } : {}),
  });
  return { url: normalizeUrl(settings.url.value), credentials };
}
