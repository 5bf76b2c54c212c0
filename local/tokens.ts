/**
 * Tokens for the local stack: an ES256 key pair generated on first start and
 * kept in the data directory, JWTs shaped like Cognito access tokens
 * (`username`, `cognito:groups`), and their verification as API Gateway's JWT
 * authorizer does it: signature, issuer, audience (`aud`, or `client_id` for
 * a token without `aud`, as Cognito's access tokens are), an `exp` that is
 * present and not past, an `iat` that is present and not in the future, and
 * `nbf`.
 */
import type { webcrypto } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errors, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK, type JWTPayload } from 'jose';

export const LOCAL_ISSUER = 'image-service-local';
export const LOCAL_AUDIENCE = 'image-service';
const ALG = 'ES256';
type CryptoKey = webcrypto.CryptoKey;

export interface SigningKeys {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

/** Where a data directory keeps its signing key. */
export const keyFile = (dataDir: string): string => join(dataDir, 'signing-key.jwk.json');

export async function loadOrCreateKeys(dataDir: string): Promise<SigningKeys> {
  try {
    return await loadKeys(dataDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const pair = await generateKeyPair(ALG, { extractable: true });
  await mkdir(dataDir, { recursive: true });
  const jwk = await exportJWK(pair.privateKey);
  // Readable by the owner alone: whoever has it can mint admin tokens.
  await writeFile(keyFile(dataDir), JSON.stringify(jwk), { mode: 0o600, flag: 'wx' }).catch(async (error) => {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  });
  return loadKeys(dataDir);
}

export async function loadKeys(dataDir: string): Promise<SigningKeys> {
  const jwk = JSON.parse(await readFile(keyFile(dataDir), 'utf8')) as JWK;
  const privateKey = (await importJWK(jwk, ALG)) as CryptoKey;
  const { d: _private, ...publicJwk } = jwk;
  const publicKey = (await importJWK(publicJwk, ALG)) as CryptoKey;
  return { privateKey, publicKey };
}

export interface TokenRequest {
  user: string;
  admin: boolean;
  /** Lifetime, e.g. "1h", "30m", "7d" (jose's time span syntax). */
  ttl: string;
}

export async function issueToken(keys: SigningKeys, request: TokenRequest): Promise<string> {
  return new SignJWT({
    username: request.user,
    'cognito:groups': request.admin ? ['admins'] : [],
    token_use: 'access',
  })
    .setProtectedHeader({ alg: ALG, typ: 'JWT' })
    .setIssuer(LOCAL_ISSUER)
    .setAudience(LOCAL_AUDIENCE)
    .setSubject(request.user)
    .setIssuedAt()
    .setExpirationTime(request.ttl)
    .sign(keys.privateKey);
}

/** A token the authorizer refuses, with the reason the caller is told. */
export class TokenRejected extends Error {
  override readonly name = 'TokenRejected';
}

export async function verifyToken(keys: SigningKeys, token: string): Promise<JWTPayload> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, keys.publicKey, {
      issuer: LOCAL_ISSUER,
      algorithms: [ALG],
      // A token without an expiry would be valid forever; one without iat has no age to check.
      requiredClaims: ['exp', 'iat'],
    }));
  } catch (error) {
    throw new TokenRejected(reasonFor(error));
  }
  // The authorizer takes the audience from `aud`, or from `client_id` when there is no `aud`.
  const audience = payload.aud ?? payload['client_id'];
  if (!(Array.isArray(audience) ? audience : [audience]).includes(LOCAL_AUDIENCE)) {
    throw new TokenRejected(
      audience === undefined
        ? 'the token has no "aud" claim; get a new one'
        : `the token is not for this service (its audience is not "${LOCAL_AUDIENCE}")`,
    );
  }
  // jose checks iat against the clock only with maxTokenAge; the JWT authorizer always does.
  if (typeof payload.iat === 'number' && payload.iat > Math.floor(Date.now() / 1000)) {
    throw new TokenRejected('the token was issued in the future ("iat"); check the clock of the machine that made it');
  }
  return payload;
}

function reasonFor(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'the token has expired; get a new one';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return `the token has no "${error.claim}" claim; get a new one`;
    if (error.claim === 'nbf') return 'the token is not valid yet ("nbf")';
    return `the token is not for this service (${error.message})`;
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'the token was not signed by this service';
  return 'the token is not a valid JWT';
}
