/**
 * DefaultImage at installation: a custom resource that, when the stack is
 * created, puts DefaultImage's record and name guard in one DynamoDB
 * transaction, each only where its key is free. An existing DefaultImage (or
 * another image holding the name) cancels the transaction, which is ignored:
 * the resource never touches what is there, and it does nothing on updates or
 * on deletion (the table is retained). Items: functions/core/db/default-image.ts.
 */
import { createHash } from 'node:crypto';
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { defaultImageItems } from '../../functions/core/db/default-image.js';

type Attribute = { S: string } | { N: string } | { BOOL: boolean };

/** DynamoDB's attribute-value form of a flat item of strings, numbers and booleans. */
export function toAttributes(item: object): Record<string, Attribute> {
  const out: Record<string, Attribute> = {};
  for (const [k, v] of Object.entries(item)) {
    if (typeof v === 'string') out[k] = { S: v };
    else if (typeof v === 'number') out[k] = { N: String(v) };
    else if (typeof v === 'boolean') out[k] = { BOOL: v };
    else throw new Error(`DefaultImage item: attribute ${k} is not a string, number or boolean`);
  }
  return out;
}

export class DefaultImage extends Construct {
  readonly resource: AwsCustomResource;

  constructor(scope: Construct, id: string, props: { table: ITable; logRetention: RetentionDays }) {
    super(scope, id);
    const stackName = Stack.of(this).stackName;
    // One uid per stack, so the template does not change from one synth to the next.
    const uid = createHash('md5').update(`${stackName}/DefaultImage`).digest('hex');
    const { image, name } = defaultImageItems(uid, Math.floor(Date.now() / 1000), 'install', `cdk:${stackName}`);
    const free = 'attribute_not_exists(pk)';
    this.resource = new AwsCustomResource(this, 'Create', {
      installLatestAwsSdk: false,
      logGroup: new LogGroup(this, 'Logs', { retention: props.logRetention, removalPolicy: RemovalPolicy.RETAIN }),
      onCreate: {
        service: 'DynamoDB',
        action: 'TransactWriteItems',
        parameters: {
          TransactItems: [
            { Put: { TableName: props.table.tableName, Item: toAttributes(image), ConditionExpression: free } },
            { Put: { TableName: props.table.tableName, Item: toAttributes(name), ConditionExpression: free } },
          ],
        },
        physicalResourceId: PhysicalResourceId.of(`${stackName}-DefaultImage`),
        // The name or the record exists already: leave them as they are.
        ignoreErrorCodesMatching: 'TransactionCanceledException',
      },
      policy: AwsCustomResourcePolicy.fromStatements([
        new PolicyStatement({ actions: ['dynamodb:PutItem', 'dynamodb:ConditionCheckItem'], resources: [props.table.tableArn] }),
      ]),
    });
  }
}
