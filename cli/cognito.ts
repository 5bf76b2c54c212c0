/**
 * Cognito sign-in for imgctl: the user pool's public InitiateAuth API
 * (USER_PASSWORD_AUTH to log in, REFRESH_TOKEN_AUTH to get a fresh access
 * token from the refresh token), called over HTTPS as the AWS CLI does,
 * without AWS credentials. Not the /oauth2/token endpoint: the stack's app
 * client has no hosted domain and OAuth disabled (infra/constructs/auth.ts),
 * and InitiateAuth works for every client that allows these flows.
 * The endpoint is `https://cognito-idp.<region>.amazonaws.com/`, or the
 * SDK's standard AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER when set.
 */
import { Failure, RequestRefused } from './errors.js';

export interface CognitoClient {
  region: string;
  client_id: string;
}

export interface CognitoTokens {
  accessToken: string;
  /** Absent on a refresh unless the pool rotates refresh tokens. */
  refreshToken?: string;
}

/** What a sign-in may answer instead of tokens (MFA). */
export interface CognitoChallenge {
  challenge: string;
  session: string;
}

export function cognitoEndpoint(region: string): string {
  const set = process.env['AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER'];
  return set !== undefined && set !== '' ? set : `https://cognito-idp.${region}.amazonaws.com/`;
}

interface AuthAnswer {
  AuthenticationResult?: { AccessToken?: string; RefreshToken?: string };
  ChallengeName?: string;
  Session?: string;
}

async function call(client: CognitoClient, operation: string, body: Record<string, unknown>): Promise<AuthAnswer> {
  const endpoint = cognitoEndpoint(client.region);
  let res: Response;
  try {
    res = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': `AWSCognitoIdentityProviderService.${operation}`,
      },
      body: JSON.stringify({ ClientId: client.client_id, ...body }),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new Failure(`cannot reach Cognito at ${endpoint} (${cause})`);
  }
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Reported below with the status.
  }
  if (!res.ok) {
    // `__type` may carry a namespace prefix: "com.amazonaws...#NotAuthorizedException".
    const type = String(parsed['__type'] ?? `HTTP ${res.status}`)
      .split('#')
      .at(-1);
    const message = String(parsed['message'] ?? parsed['Message'] ?? text.slice(0, 200));
    throw new RequestRefused(res.status === 400 ? 401 : res.status, `Cognito: ${type}: ${message}`);
  }
  return parsed as AuthAnswer;
}

function tokensOf(answer: AuthAnswer): CognitoTokens {
  const access = answer.AuthenticationResult?.AccessToken;
  if (typeof access !== 'string' || access === '') throw new Failure('Cognito answered without an access token');
  const refresh = answer.AuthenticationResult?.RefreshToken;
  return { accessToken: access, ...(typeof refresh === 'string' && refresh !== '' ? { refreshToken: refresh } : {}) };
}

/** Signs in with a password: tokens, or the challenge to answer (e.g. SOFTWARE_TOKEN_MFA). */
export async function signIn(client: CognitoClient, username: string, password: string): Promise<CognitoTokens | CognitoChallenge> {
  const answer = await call(client, 'InitiateAuth', {
    AuthFlow: 'USER_PASSWORD_AUTH',
    AuthParameters: { USERNAME: username, PASSWORD: password },
  });
  if (answer.ChallengeName !== undefined) {
    return { challenge: answer.ChallengeName, session: answer.Session ?? '' };
  }
  return tokensOf(answer);
}

/** Answers an MFA challenge with the code from the user's authenticator. */
export async function answerMfa(
  client: CognitoClient,
  username: string,
  challenge: CognitoChallenge,
  code: string,
): Promise<CognitoTokens> {
  const key = challenge.challenge === 'SMS_MFA' ? 'SMS_MFA_CODE' : 'SOFTWARE_TOKEN_MFA_CODE';
  const answer = await call(client, 'RespondToAuthChallenge', {
    ChallengeName: challenge.challenge,
    Session: challenge.session,
    ChallengeResponses: { USERNAME: username, [key]: code },
  });
  if (answer.ChallengeName !== undefined)
    throw new Failure(`Cognito asks for another step (${answer.ChallengeName}), which imgctl does not handle`);
  return tokensOf(answer);
}

/** A fresh access token from the refresh token (and a new refresh token, when the pool rotates them). */
export async function refreshTokens(client: CognitoClient, refreshToken: string): Promise<CognitoTokens> {
  return tokensOf(
    await call(client, 'InitiateAuth', {
      AuthFlow: 'REFRESH_TOKEN_AUTH',
      AuthParameters: { REFRESH_TOKEN: refreshToken },
    }),
  );
}
