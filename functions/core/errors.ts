/**
 * Domain errors. The core throws these with a message meant for the caller
 * (what went wrong and what to do); the HTTP layer maps each kind to a status
 * in one place (functions/http/errors.ts).
 */
export type ErrorKind =
  | 'invalid' // 400: the request itself is wrong
  | 'unauthenticated' // 401
  | 'forbidden' // 403: not an admin, or the image is frozen
  | 'not_found' // 404
  | 'conflict' // 409: name taken, concurrent change, wrong state
  | 'precondition_failed' // 412: If-Match did not match
  | 'too_large' // 413
  | 'unavailable'; // 503: throttled or temporarily failing, retry

export class ServiceError extends Error {
  override readonly name = 'ServiceError';
  constructor(
    readonly kind: ErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export const invalid = (message: string): ServiceError => new ServiceError('invalid', message);
export const forbidden = (message: string): ServiceError => new ServiceError('forbidden', message);
export const notFound = (message: string): ServiceError => new ServiceError('not_found', message);
export const conflict = (message: string): ServiceError => new ServiceError('conflict', message);
