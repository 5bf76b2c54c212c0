/**
 * The HTTP handler of every SDK client that serves a request: time to
 * connect, to the answer's headers, and idle while reading it (config.ts).
 * Its own module so that the capture authorizer, which keeps its bundle to
 * one raw DynamoDB client, has the same timeouts as the API's clients.
 */
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { config } from './config.js';

export function apiRequestHandler(): NodeHttpHandler {
  return new NodeHttpHandler({
    connectionTimeout: config.awsConnectTimeoutMs,
    requestTimeout: config.awsRequestTimeoutMs,
    throwOnRequestTimeout: true,
    socketTimeout: config.awsRequestTimeoutMs,
  });
}
