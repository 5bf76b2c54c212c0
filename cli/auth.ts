/**
 * The bearer token imgctl sends, and how it gets a fresh one. A token may
 * come with a way to renew it: a token command (the credential-helper pattern
 * of kubectl exec plugins and git credential helpers: a command that prints
 * a fresh token) or a Cognito refresh token. With one, imgctl renews the token
 * when it is within a minute of expiry (a quarter of its life, for tokens that
 * live less than four minutes) and when the API answers 401, so a transfer
 * that outlives its token carries on.
 */
import { spawn } from 'node:child_process';
import { refreshTokens, type CognitoClient } from './cognito.js';
import { Failure, UsageError } from './errors.js';

/** What the token says about itself (not verified here; the service does that). */
export function tokenClaims(token: string): { user?: string; admin?: boolean; expires?: number; issued?: number } {
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
      ...(typeof claims['iat'] === 'number' ? { issued: claims['iat'] } : {}),
    };
  } catch {
    return {};
  }
}

const MAX_MARGIN_S = 60;

/** Whether the token should be renewed now (false for a token without `exp`: only a 401 tells). */
export function expiresSoon(token: string, nowSeconds: number): boolean {
  const { expires, issued } = tokenClaims(token);
  if (expires === undefined) return false;
  const life = issued !== undefined && issued < expires ? expires - issued : Infinity;
  return nowSeconds >= expires - Math.min(MAX_MARGIN_S, life / 4);
}

export interface FreshToken {
  token: string;
  /** A new Cognito refresh token, when the pool rotates them. */
  refreshToken?: string;
}

export interface Refresher {
  /** What renews the token, for messages. */
  readonly name: string;
  fetch(): Promise<FreshToken>;
}

const COMMAND_TIMEOUT_MS = 120_000;

/**
 * Runs the token command through the shell; its stdout, trimmed, is the
 * token. Its stderr goes to the user's (prompts, errors), and so does stdin
 * when it is a terminal (a command may ask for a password or an MFA code).
 */
export function runTokenCommand(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, {
      shell: true,
      stdio: [process.stdin.isTTY ? 'inherit' : 'ignore', 'pipe', 'inherit'],
    });
    const out: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    const timer = setTimeout(() => child.kill('SIGTERM'), COMMAND_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Failure(`cannot run the token command \`${command}\`: ${error.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        const how = signal === 'SIGTERM' ? `did not finish within ${COMMAND_TIMEOUT_MS / 1000} s` : `failed (exit ${code ?? signal})`;
        reject(new Failure(`the token command \`${command}\` ${how}; fix it, or log in again (imgctl login)`));
        return;
      }
      const token = Buffer.concat(out).toString('utf8').trim();
      if (token === '' || /\s/.test(token)) {
        reject(
          new Failure(
            `the token command \`${command}\` must print the token alone on stdout; it printed ${token === '' ? 'nothing' : 'more than one word'}`,
          ),
        );
        return;
      }
      resolve(token);
    });
  });
}

export const commandRefresher = (command: string): Refresher => ({
  name: `the token command \`${command}\``,
  fetch: async () => ({ token: await runTokenCommand(command) }),
});

export interface StoredCognito extends CognitoClient {
  refresh_token: string;
  username?: string;
}

export const cognitoRefresher = (cognito: StoredCognito): Refresher => ({
  name: `Cognito (app client ${cognito.client_id})`,
  fetch: async () => {
    const fresh = await refreshTokens(cognito, cognito.refresh_token).catch((error: unknown) => {
      throw new Failure(`${(error as Error).message}; the refresh token no longer works: run imgctl login again`);
    });
    return { token: fresh.accessToken, ...(fresh.refreshToken !== undefined ? { refreshToken: fresh.refreshToken } : {}) };
  },
});

export interface CredentialsOptions {
  refresher?: Refresher;
  /** Keeps a renewed token (the config file, when the token came from there). */
  persist?: (fresh: FreshToken) => Promise<void>;
  log?: (line: string) => void;
  now?: () => number;
}

/** The token in use; renewed through the refresher when it is due, one renewal at a time. */
export class Credentials {
  private current: string | undefined;
  private renewing: Promise<string> | undefined;
  /** Every token used, so that none leaks into output (see Api.excerpt). */
  readonly seen = new Set<string>();

  constructor(
    token: string | undefined,
    private readonly options: CredentialsOptions = {},
  ) {
    this.current = token;
    if (token !== undefined) this.seen.add(token);
  }

  get canRenew(): boolean {
    return this.options.refresher !== undefined;
  }

  /** The token to send now. */
  async token(): Promise<string> {
    const now = (this.options.now ?? (() => Date.now() / 1000))();
    if (this.current === undefined || (this.canRenew && expiresSoon(this.current, now))) return this.renew();
    return this.current;
  }

  /**
   * The API answered 401 to `sent`: true when a fresh token is there to try
   * (renewed now, or already by a concurrent request), false when none can be had.
   */
  async refused(sent: string): Promise<boolean> {
    if (!this.canRenew) return false;
    if (this.current !== sent) return true;
    await this.renew();
    return true;
  }

  private renew(): Promise<string> {
    const refresher = this.options.refresher;
    if (!refresher) throw new UsageError('no token: run `imgctl login`, set IMGCTL_TOKEN, or pass --token');
    this.renewing ??= (async () => {
      const fresh = await refresher.fetch();
      this.current = fresh.token;
      this.seen.add(fresh.token);
      const { expires } = tokenClaims(fresh.token);
      this.options.log?.(
        `renewed the token through ${refresher.name}${expires !== undefined ? `; it expires in ${Math.round(expires - Date.now() / 1000)} s` : ''}`,
      );
      await this.options.persist?.(fresh).catch((error: unknown) => {
        this.options.log?.(`could not save the renewed token: ${(error as Error).message}`);
      });
      return fresh.token;
    })().finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }
}
