/**
 * Least-privilege grants, written out rather than taken from CDK's grant*
 * helpers: those add stream actions, `index/*` and bucket-wide resources that
 * these functions never need.
 */
import { Policy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { PREFIX } from '../../functions/core/db/schema.js';
import { CONTENT_PREFIX, TABLE_SCHEMA } from './storage.js';

/**
 * What the functions' repositories do: single-item reads and writes, queries,
 * and transactions (TransactWriteItems is authorised per item as Put/Update/
 * Delete/ConditionCheckItem). test/infra/grants.test.ts keeps this list equal
 * to the commands found in functions/, so a new command fails a test rather
 * than an AWS deployment (the local stack does not enforce IAM).
 */
export const TABLE_ITEM_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:Query',
  'dynamodb:ConditionCheckItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
] as const;

/** Listing images by name. */
export const INDEX_ACTIONS = ['dynamodb:Query'] as const;

/**
 * What the content function presigns or calls on content files. CreateMultipartUpload,
 * UploadPart and CompleteMultipartUpload are authorised as s3:PutObject; ListParts as
 * s3:ListMultipartUploadParts; HeadObject as s3:GetObject.
 */
export const CONTENT_OBJECT_ACTIONS = [
  's3:PutObject',
  's3:GetObject',
  's3:DeleteObject',
  's3:AbortMultipartUpload',
  's3:ListMultipartUploadParts',
] as const;

/** The hasher reads each new file and deletes files whose last reference it released. */
export const HASHER_OBJECT_ACTIONS = ['s3:GetObject', 's3:DeleteObject'] as const;

/**
 * The sweeper deletes files nothing refers to any more; for a session whose hasher went
 * quiet it checks the object (HeadObject: s3:GetObject), lists and completes a multipart
 * upload left open (s3:ListMultipartUploadParts, s3:PutObject) or aborts it.
 */
export const SWEEPER_OBJECT_ACTIONS = [
  's3:GetObject',
  's3:PutObject',
  's3:DeleteObject',
  's3:AbortMultipartUpload',
  's3:ListMultipartUploadParts',
] as const;

/** `caller` may start `target` (asynchronously or not): lambda:InvokeFunction on that one function. */
export function grantAsyncInvoke(caller: IFunction, target: IFunction): void {
  caller.addToRolePolicy(new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [target.functionArn] }));
}

/**
 * A function that invokes itself. Its role's default policy cannot name the
 * function (the function depends on that policy: a cycle), so the statement
 * goes in a policy of its own, attached to the role after the function exists.
 */
export function grantSelfInvoke(scope: Construct, fn: IFunction): void {
  if (!fn.role) throw new Error(`${fn.node.path} has no role to grant self-invocation to`);
  new Policy(scope, `${fn.node.id}SelfInvoke`, {
    roles: [fn.role],
    statements: [new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fn.functionArn] })],
  });
}

export function grantTable(fn: IFunction, table: ITable): void {
  fn.addToRolePolicy(new PolicyStatement({ actions: [...TABLE_ITEM_ACTIONS], resources: [table.tableArn] }));
  fn.addToRolePolicy(
    new PolicyStatement({
      actions: [...INDEX_ACTIONS],
      resources: [`${table.tableArn}/index/${TABLE_SCHEMA.byNameIndex}`],
    }),
  );
}

/**
 * The capture authorizer reads capture jobs and nothing else: GetItem on the
 * table, only for items whose key starts with `CAPTURE#`.
 */
export function grantCaptureJobRead(fn: IFunction, table: ITable): void {
  fn.addToRolePolicy(
    new PolicyStatement({
      actions: ['dynamodb:GetItem'],
      resources: [table.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${PREFIX.capture}*`] } },
    }),
  );
}

export function grantContentObjects(fn: IFunction, bucket: IBucket, actions: readonly string[]): void {
  fn.addToRolePolicy(new PolicyStatement({ actions: [...actions], resources: [bucket.arnForObjects(`${CONTENT_PREFIX}*`)] }));
}
