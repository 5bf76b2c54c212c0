/**
 * Setup file: every response the tests get from the local stack's API is
 * checked against the OpenAPI description; a mismatch fails the request.
 */
import { inject } from 'vitest';
import { API_BASE } from '../../functions/routes.js';
import { checkResponse } from './openapi-check.js';

const apiOrigin = new URL(inject('stack').apiUrl).origin;
const original = globalThis.fetch;

globalThis.fetch = async (input: Parameters<typeof fetch>[0], init?: RequestInit): Promise<Response> => {
  const response = await original(input, init);
  // A followed redirect ends elsewhere (S3): the API's own answer was the 302.
  if (response.redirected) return response;
  const url = new URL(input instanceof Request ? input.url : String(input));
  const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
  if (url.origin !== apiOrigin || !url.pathname.startsWith(`${API_BASE}/`)) return response;
  if (url.pathname === `${API_BASE}/openapi.json`) return response;
  const problem = checkResponse(method, url, response.status, response.headers, await response.clone().text());
  if (problem) throw new Error(`the response breaks the OpenAPI description: ${problem}`);
  return response;
};
