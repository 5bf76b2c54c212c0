/**
 * AWS SDK clients, created once per container. Endpoints come from the SDK's
 * standard settings (AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_S3,
 * AWS_ENDPOINT_URL_LAMBDA), which is
 * how the local stack points the same code at DynamoDB Local and the local S3.
 *
 * Every client has connection and request timeouts (config.ts): the SDK's
 * defaults have none, so a dependency that accepts a connection and never
 * answers would hold a request until Lambda kills it. A timeout is a
 * TimeoutError, which the SDK retries and the API answers 503 with Retry-After.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { apiRequestHandler } from './request-handler.js';

let documentClient: DynamoDBDocumentClient | undefined;
let s3Client: S3Client | undefined;
let presignClient: S3Client | undefined;
let lambdaClient: LambdaClient | undefined;

export function ddb(): DynamoDBDocumentClient {
  documentClient ??= DynamoDBDocumentClient.from(new DynamoDBClient({ requestHandler: apiRequestHandler() }), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return documentClient;
}

/** Invokes the hasher (AWS_ENDPOINT_URL_LAMBDA points it at the local stack's runner). */
export function lambda(): LambdaClient {
  lambdaClient ??= new LambdaClient({ requestHandler: apiRequestHandler() });
  return lambdaClient;
}

export function s3(): S3Client {
  s3Client ??= new S3Client({ requestHandler: apiRequestHandler() });
  return s3Client;
}

/**
 * Presigned URLs are used by plain HTTP clients (curl, fetch) that add no
 * checksum headers; the SDK's default CRC32 request checksums would be signed
 * into the URL and make every such upload fail. Presigning sends nothing, so
 * this client needs no timeouts.
 */
export function presignS3(): S3Client {
  presignClient ??= new S3Client({
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return presignClient;
}
