/**
 * Each function's timeout and the asynchronous retries Lambda gives it: one
 * source for the stack (infra/image-service-stack.ts) and the local stack,
 * which abandons an invocation at the same deadline (local/lambda-runtime.ts).
 * Plain numbers, free of CDK imports, so the local stack can load them.
 */
export const TIMEOUT_SECONDS = {
  /** API Gateway gives up after 30 s; the API functions stop just before. */
  records: 29,
  content: 29,
  hasher: 15 * 60,
  sweeper: 5 * 60,
  /** One GetItem; API Gateway waits at most 10 s for an authorizer. */
  captureAuthorizer: 10,
} as const;

/** Lambda retries a failed asynchronous invocation about 1, then 2 minutes later. */
export const ASYNC_RETRY_DELAYS_SECONDS = [60, 120] as const;
