/**
 * config.json, written by the local gateway (local/console.ts) or by the stack
 * that deploys the console (infra/constructs/console-site.ts). parseConfig is
 * the one reading of it: the page uses it, and the tests hold both writers to
 * it. No DOM here: the infrastructure tests import this file under Node.
 */
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

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function text(object: Record<string, unknown>, key: string, where: string): string {
  const value = object[key];
  if (typeof value !== 'string' || value === '') throw new Error(`config.json: ${where}${key} must be a non-empty string`);
  return value;
}

export function parseConfig(json: unknown): ConsoleConfig {
  if (!isObject(json)) throw new Error('config.json: not a JSON object');
  const auth = json['auth'];
  if (!isObject(auth)) throw new Error('config.json: auth must be an object');
  let parsed: ConsoleConfig['auth'];
  if (auth['kind'] === 'token') parsed = { kind: 'token' };
  else if (auth['kind'] === 'cognito') {
    const domain = text(auth, 'domain', 'auth.');
    if (!/^https?:\/\/[^/]+\/?$/.test(domain)) throw new Error('config.json: auth.domain must be an origin such as https://host');
    const scopes = auth['scopes'];
    if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string') || !scopes.includes('openid'))
      throw new Error('config.json: auth.scopes must be a list of strings with "openid"');
    parsed = { kind: 'cognito', domain, clientId: text(auth, 'clientId', 'auth.'), scopes };
  } else throw new Error('config.json: auth.kind must be "token" or "cognito"');
  return {
    api: text(json, 'api', ''),
    auth: parsed,
    groupsClaim: text(json, 'groupsClaim', ''),
    adminGroup: text(json, 'adminGroup', ''),
    userClaim: text(json, 'userClaim', ''),
  };
}
