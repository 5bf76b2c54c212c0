/**
 * Where imgctl finds the API and its token: command-line flags first, then
 * IMGCTL_URL / IMGCTL_TOKEN, then the config file
 * ($XDG_CONFIG_HOME/imgctl/config.json, else ~/.config/imgctl/config.json),
 * which is written with mode 600 because it holds a bearer token.
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { Failure, UsageError } from './errors.js';

export interface StoredConfig {
  url?: string;
  token?: string;
}

export type Source = 'flag' | 'env' | 'file';

export interface Setting {
  value: string;
  source: Source;
}

export interface Settings {
  url?: Setting;
  token?: Setting;
  file: string;
}

const env = (name: string): string | undefined => {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : value;
};

function xdgDir(variable: string, fallback: string[]): string {
  const set = env(variable);
  // The XDG spec ignores relative paths.
  if (set !== undefined && set.startsWith('/')) return join(set, 'imgctl');
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
    const { url, token } = parsed as Record<string, unknown>;
    return {
      ...(typeof url === 'string' ? { url } : {}),
      ...(typeof token === 'string' ? { token } : {}),
    };
  } catch (error) {
    throw new Failure(`${file} is not valid JSON (${(error as Error).message}); fix or delete it, then run imgctl login`);
  }
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
}

/**
 * The settings in effect. The file is read only for what flags and the
 * environment leave open: a broken one is no obstacle then. `ignoreBrokenFile`
 * (for login, which replaces it) treats an unreadable file as empty.
 */
export async function loadSettings(flags: SettingFlags, { ignoreBrokenFile = false } = {}): Promise<Settings> {
  const file = configFile();
  let stored: StoredConfig | undefined;
  const readStored = () => (ignoreBrokenFile ? readConfig(file).catch((): StoredConfig => ({})) : readConfig(file));
  const pick = async (flag: string | undefined, envName: string, key: keyof StoredConfig): Promise<Setting | undefined> => {
    if (flag !== undefined && flag !== '') return { value: flag, source: 'flag' };
    const e = env(envName);
    if (e !== undefined) return { value: e, source: 'env' };
    const fromFile = (stored ??= await readStored())[key];
    if (fromFile !== undefined && fromFile !== '') return { value: fromFile, source: 'file' };
    return undefined;
  };
  const url = await pick(flags.url, 'IMGCTL_URL', 'url');
  const token = await pick(flags.token, 'IMGCTL_TOKEN', 'token');
  return { file, ...(url ? { url } : {}), ...(token ? { token } : {}) };
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
  token: string;
}

export function requireConnection(settings: Settings): Connection {
  if (!settings.url) {
    throw new UsageError('no API URL: run `imgctl login --url URL`, set IMGCTL_URL, or pass --url');
  }
  if (!settings.token) {
    throw new UsageError('no token: run `imgctl login`, set IMGCTL_TOKEN, or pass --token');
  }
  return { url: normalizeUrl(settings.url.value), token: settings.token.value };
}
