/** config.json, written by the local gateway or by the stack that deploys the console. */
export interface TokenAuth {
  kind: 'token';
}
export interface CognitoAuth {
  kind: 'cognito';
  /** The hosted UI's base URL, e.g. https://prefix.auth.region.amazoncognito.com */
  domain: string;
  clientId: string;
  scopes: string[];
}
export interface ConsoleConfig {
  /** Base of the API, absolute or relative to the console's origin. */
  api: string;
  auth: TokenAuth | CognitoAuth;
  groupsClaim: string;
  adminGroup: string;
  userClaim: string;
}

export async function loadConfig(): Promise<ConsoleConfig> {
  const res = await fetch('config.json', { cache: 'no-store' });
  if (!res.ok) throw new Error(`config.json: ${res.status}`);
  return (await res.json()) as ConsoleConfig;
}
