/**
 * Checks an API response against the OpenAPI description
 * (functions/api/openapi.ts): its status must be documented for the route,
 * and its body must match that status's schema. validate-responses.ts runs
 * this on every response the tests receive, so the description cannot drift
 * from what the service answers.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { openApiDocument } from '../../functions/api/openapi.js';
import { API_BASE, matchRoute } from '../../functions/routes.js';

type Json = Record<string, unknown>;

const doc = openApiDocument() as unknown as {
  paths: Record<string, Record<string, { responses: Record<string, Json> }>>;
  components: { responses: Record<string, Json>; schemas: Record<string, Json> };
};
const ajv = new Ajv2020({ strict: false, allErrors: true });
const compiled = new Map<string, ValidateFunction>();

function validatorFor(key: string, schema: Json): ValidateFunction {
  let validate = compiled.get(key);
  if (!validate) {
    // Inline schemas point at '#/components/schemas/...': give them the components as their root's.
    validate = ajv.compile({ ...schema, components: { schemas: doc.components.schemas } });
    compiled.set(key, validate);
  }
  return validate;
}

const failureSchema = (): Json => doc.components.schemas['Failure']!;

/** Undefined when the response matches the description, else what is wrong. */
export function checkResponse(method: string, url: URL, status: number, headers: Headers, text: string): string | undefined {
  const what = `${method} ${url.pathname} → ${status}`;
  const match = matchRoute(method, url.pathname);
  if (match.kind !== 'route') {
    // The $default route: outside the description, but still an envelope.
    return status >= 400
      ? checkBody(`$default ${status}`, failureSchema(), what, headers, text)
      : `${what}: not a route of the API, yet not an error`;
  }
  const op = doc.paths[API_BASE + match.route.path]?.[method.toLowerCase()];
  if (!op) return `${what}: the route is missing from the description`;
  let response = op.responses[String(status)];
  if (!response) return `${what}: status ${status} is not documented for this route`;
  const ref = response['$ref'];
  if (typeof ref === 'string') response = doc.components.responses[ref.split('/').pop()!]!;
  const content = response['content'] as Record<string, { schema: Json }> | undefined;
  if (!content) {
    const required = Object.keys((response['headers'] as Json | undefined) ?? {});
    const missing = required.filter((h) => !headers.has(h));
    return missing.length > 0 ? `${what}: headers ${missing.join(', ')} are missing` : undefined;
  }
  return checkBody(`${method} ${match.route.path} ${status}`, content['application/json']!.schema, what, headers, text);
}

function checkBody(key: string, schema: Json, what: string, headers: Headers, text: string): string | undefined {
  if (!/^application\/json\b/.test(headers.get('content-type') ?? '')) {
    return `${what}: content-type is ${headers.get('content-type')}, not application/json`;
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `${what}: the body is not JSON: ${text.slice(0, 200)}`;
  }
  const validate = validatorFor(key, schema);
  if (validate(body)) return undefined;
  return `${what}: the body does not match the description: ${ajv.errorsText(validate.errors)}\n${text.slice(0, 500)}`;
}
