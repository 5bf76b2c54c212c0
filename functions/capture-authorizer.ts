/**
 * Lambda: API Gateway's REQUEST authorizer of the capture routes (simple
 * responses, payload 2.0, no result caching). It accepts
 * `Authorization: Capture <capture id>.<secret>` only, reads the job with one
 * GetItem, and hands the handler what it needs of the job (`CaptureContext`:
 * its image, who started it, its upload), which the handler would otherwise
 * read again. What a credential may do is decided in
 * functions/core/capture/authorize.ts; the local gateway calls this same
 * handler.
 *
 * Kept small on purpose (it runs before every capture request): the raw
 * DynamoDB client and Node built-ins, no middy, Powertools or zod.
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult } from 'aws-lambda';
import { decide, type CaptureContext, type CaptureUse, type JobFacts } from './core/capture/authorize.js';
import { credentialOfHeader } from './core/capture/credential.js';
import { config } from './core/config.js';
import { apiRequestHandler } from './core/request-handler.js';
import { keys, type CaptureState } from './core/db/schema.js';
import { ROUTES, routeKey } from './routes.js';

export type CaptureAuthorizerEvent = Pick<APIGatewayRequestAuthorizerEventV2, 'routeKey' | 'headers' | 'pathParameters'>;
export type CaptureAuthorizerResult = APIGatewaySimpleAuthorizerWithContextResult<Partial<CaptureContext>>;

const USES = new Map<string, CaptureUse>(ROUTES.flatMap((r) => ('capture' in r ? [[routeKey(r), r.capture] as const] : [])));

let client: DynamoDBClient | undefined;

const QUIET = new Set(['ERROR', 'CRITICAL', 'SILENT']);

export async function handler(event: CaptureAuthorizerEvent): Promise<CaptureAuthorizerResult> {
  const use = USES.get(event.routeKey);
  const credential = credentialOfHeader(event.headers?.['authorization']);
  const pathJob = event.pathParameters?.['capture_id'];
  const job = use && credential && pathJob === credential.captureId ? await readJob(credential.captureId) : undefined;
  const decision = use ? decide(credential, job, pathJob, use, Date.now() / 1000) : { allow: false as const, why: 'not a capture route' };
  if (!decision.allow) {
    // Why a credential was refused (never the secret), at the level Powertools would log a warning.
    if (!QUIET.has(process.env['POWERTOOLS_LOG_LEVEL']?.toUpperCase() ?? '')) {
      console.log(
        JSON.stringify({
          level: 'WARN',
          message: 'capture credential refused',
          route: event.routeKey,
          job: credential?.captureId,
          why: decision.why,
        }),
      );
    }
    return { isAuthorized: false, context: {} };
  }
  return { isAuthorized: true, context: decision.context };
}

async function readJob(captureId: string): Promise<JobFacts | undefined> {
  client ??= new DynamoDBClient({ requestHandler: apiRequestHandler() });
  const out = await client.send(
    new GetItemCommand({
      TableName: config.tableName,
      Key: { pk: { S: keys.capture(captureId).pk } },
      ConsistentRead: true,
      ProjectionExpression: 'capture_id, image_uid, #state, secret_sha256, credential_expires, revoked, created_by, created_on, upload_id',
      ExpressionAttributeNames: { '#state': 'state' },
    }),
  );
  const item = out.Item;
  if (!item?.['capture_id']?.S || !item['image_uid']?.S || !item['secret_sha256']?.S || !item['credential_expires']?.N) return undefined;
  return {
    capture_id: item['capture_id'].S,
    image_uid: item['image_uid'].S,
    state: (item['state']?.S ?? 'failed') as CaptureState,
    secret_sha256: item['secret_sha256'].S,
    credential_expires: Number(item['credential_expires'].N),
    revoked: item['revoked']?.BOOL === true,
    created_by: item['created_by']?.S,
    created_on: item['created_on']?.S,
    upload_id: item['upload_id']?.S,
  };
}
