/** The local stack's token check: the audience as API Gateway's JWT authorizer reads it (`aud`, else `client_id`). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, loadOrCreateKeys, type SigningKeys, TokenRejected, verifyToken } from '../../local/tokens.js';

let dir: string;
let keys: SigningKeys;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tokens-test-'));
  keys = await loadOrCreateKeys(dir);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const sign = (claims: JWTPayload): Promise<string> =>
  new SignJWT({ username: 'u', ...claims })
    .setProtectedHeader({ alg: 'ES256' })
    .setIssuer(LOCAL_ISSUER)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(keys.privateKey);

describe('verifyToken audience', () => {
  it('accepts an "aud" naming the service, or (without "aud") a Cognito-style "client_id" naming it', async () => {
    await expect(verifyToken(keys, await sign({ aud: LOCAL_AUDIENCE }))).resolves.toMatchObject({ username: 'u' });
    await expect(verifyToken(keys, await sign({ aud: ['other', LOCAL_AUDIENCE] }))).resolves.toMatchObject({ username: 'u' });
    await expect(verifyToken(keys, await sign({ client_id: LOCAL_AUDIENCE, token_use: 'access' }))).resolves.toMatchObject({
      client_id: LOCAL_AUDIENCE,
    });
  });

  it('refuses another audience, and reads "client_id" only when "aud" is absent', async () => {
    const refusal = (claims: JWTPayload) =>
      sign(claims).then((t) =>
        verifyToken(keys, t).then(
          () => 'accepted',
          (e: Error) => e,
        ),
      );
    for (const claims of [{ aud: 'other' }, { client_id: 'other' }, { aud: 'other', client_id: LOCAL_AUDIENCE }]) {
      const error = await refusal(claims);
      expect(error).toBeInstanceOf(TokenRejected);
      expect((error as Error).message).toMatch(/not for this service/);
    }
    expect(((await refusal({})) as Error).message).toMatch(/no "aud" claim/);
  });
});
