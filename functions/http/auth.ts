/**
 * Who is calling, from the claims that API Gateway's JWT authorizer (or the
 * local gateway, which mimics it) has already verified.
 */
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import type { CaptureContext } from '../core/capture/authorize.js';
import { config } from '../core/config.js';
import { ServiceError } from '../core/errors.js';

export interface Principal {
  user: string;
  admin: boolean;
}

type Claims = APIGatewayProxyEventV2WithJWTAuthorizer['requestContext']['authorizer']['jwt']['claims'];

export function principalOf(event: { requestContext: { authorizer?: { jwt?: { claims?: Claims } } } }): Principal {
  const claims = event.requestContext.authorizer?.jwt?.claims;
  if (!claims) throw new ServiceError('unauthenticated', 'a Bearer token is required');
  const user = claims[config.userClaim] ?? claims['cognito:username'] ?? claims['sub'];
  if (user === undefined || String(user) === '') {
    throw new ServiceError('unauthenticated', `the token names no user (claim "${config.userClaim}")`);
  }
  return { user: String(user), admin: groupsOf(claims[config.groupsClaim]).includes(config.adminGroup) };
}

/**
 * The capture job of a request on a capture route, from the capture
 * authorizer's context (its simple response's `context`); it must name the
 * job of the path (the authorizer checked that too).
 */
export function captureOf(
  event: { requestContext: { authorizer?: { lambda?: Partial<CaptureContext> } } },
  params: Record<string, string>,
): CaptureContext {
  const context = event.requestContext.authorizer?.lambda;
  const { capture_id, image_uid, created_by, created_on, upload_id } = context ?? {};
  if (typeof capture_id !== 'string' || typeof image_uid !== 'string') {
    throw new ServiceError('unauthenticated', 'a capture credential is required: "Authorization: Capture <id>.<secret>"');
  }
  if (params['capture_id'] !== capture_id) throw new ServiceError('forbidden', 'the capture credential is for another job');
  return { capture_id, image_uid, created_by, created_on, upload_id };
}

/**
 * HTTP APIs pass list claims flattened to a string such as "[admins ops]";
 * accept that, a JSON array string, and a real array alike. Only whitespace
 * separates: Cognito group names may contain commas, so "[ops,admins]" is one
 * group named "ops,admins", not an admin. (Group names with spaces cannot be
 * told apart once flattened; the admin group must not contain one.)
 */
export function groupsOf(claim: unknown): string[] {
  if (Array.isArray(claim)) return claim.map(String);
  if (typeof claim !== 'string') return [];
  const text = claim.trim();
  if (text.startsWith('[') && text.endsWith(']')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (Array.isArray(parsed)) return parsed.map(String);
    } catch {
      // Not JSON: the space-separated form.
    }
    return text.slice(1, -1).split(/\s+/).filter(Boolean);
  }
  return text.split(/\s+/).filter(Boolean);
}
