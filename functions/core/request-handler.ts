/**
 * The timeouts of every SDK client: time to connect, to the answer's headers,
 * and idle while reading it (values in config.ts). Its own module so that the
 * capture authorizer, which keeps its bundle to one raw DynamoDB client, has
 * the same timeouts as the API's clients, and the hasher's S3 client
 * (hashing/s3-range-fetcher.ts) the same but for a longer idle time.
 */
import { NodeHttpHandler, type NodeHttpHandlerOptions } from '@smithy/node-http-handler';
import { config } from './config.js';

type Timeouts = Pick<NodeHttpHandlerOptions, 'connectionTimeout' | 'requestTimeout' | 'throwOnRequestTimeout' | 'socketTimeout'>;

/** At most `idleMs` idle while reading an answer; by default as long as an answer's headers may take. */
export function sdkTimeouts(idleMs: number = config.awsRequestTimeoutMs): Timeouts {
  return {
    connectionTimeout: config.awsConnectTimeoutMs,
    // Until the headers only: a long body is bounded by socketTimeout while idle.
    requestTimeout: config.awsRequestTimeoutMs,
    throwOnRequestTimeout: true,
    socketTimeout: idleMs,
  };
}

/** The HTTP handler of every SDK client that serves a request. */
export function apiRequestHandler(): NodeHttpHandler {
  return new NodeHttpHandler(sdkTimeouts());
}
