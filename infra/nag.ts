/**
 * cdk-nag (AwsSolutions) findings we accept, each on the narrowest construct
 * and finding id, with the reason. Everything else the pack reports is fixed
 * in the constructs, and the tests fail on any new unacknowledged error.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import type { CfnBucket } from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';
import type { ConsoleSite } from './constructs/console-site.js';
import type { ServiceConfig } from './config.js';
import type { Auth } from './constructs/auth.js';
import type { ServiceFunction } from './constructs/service-function.js';
import { CONTENT_PREFIX, type Storage } from './constructs/storage.js';

/** CDK's singleton behind Bucket.addEventNotification; the id is fixed by aws-cdk-lib. */
const NOTIFICATIONS_HANDLER_ID = 'BucketNotificationsHandler050a0587b7544547bf325f094a3db834';
/** The singleton function behind every AwsCustomResource of a stack (here: DefaultImage). */
const AWS_CUSTOM_RESOURCE_ID = 'AWS679f53fac002430cb0da5b7982bd2287';

/**
 * The parts of the stack that carry acknowledged findings. ImageServiceStack
 * has them; naming them here keeps this module from importing the stack
 * that calls it.
 */
export interface NagScope extends IConstruct {
  readonly config: { readonly auth: ServiceConfig['auth'] };
  readonly storage: Pick<Storage, 'bucket'>;
  readonly auth: Pick<Auth, 'cognito'>;
  readonly functions: Readonly<Record<'records' | 'content' | 'hasher' | 'sweeper', Pick<ServiceFunction, 'role'>>>;
  readonly failureQueue: IConstruct;
  readonly sweepDeadLetters: IConstruct;
  readonly console: Pick<ConsoleSite, 'distribution' | 'bucket'> | undefined;
}

export function addNagSuppressions(stack: NagScope): void {
  const ack = (scope: IConstruct, id: string, reason: string): void =>
    Validations.of(scope).acknowledge({ id: `AwsSolutions-${id}`, reason });

  const bucketLogicalId = Stack.of(stack).getLogicalId(stack.storage.bucket.node.defaultChild as CfnBucket);
  for (const fn of [stack.functions.content, stack.functions.hasher, stack.functions.sweeper]) {
    ack(
      fn.role,
      `IAM5[Resource::<${bucketLogicalId}.Arn>/${CONTENT_PREFIX}*]`,
      'Content files are objects named content/<file uid>, created per upload; the grant is limited to that prefix and to the object actions this function performs.',
    );
  }

  ack(
    stack.failureQueue,
    'SQS3',
    "This queue is itself the hasher's on-failure destination (a dead-letter queue for S3 events); it needs no DLQ of its own.",
  );

  ack(
    stack.sweepDeadLetters,
    'SQS3',
    "This queue is itself the dead-letter queue of the sweeper's schedule (EventBridge target); it needs no DLQ of its own.",
  );

  const { cognito } = stack.auth;
  const { auth } = stack.config;
  if (cognito && auth.kind === 'cognito') {
    ack(
      cognito.userPool,
      'COG8',
      'The Plus feature plan (threat protection) is billed per monthly active user; this pool holds a handful of administrators with strong passwords, no self sign-up and optional TOTP. Operators can enable it in the console.',
    );
    if (auth.mfa !== 'required') {
      ack(
        cognito.userPool,
        'COG2',
        'MFA is optional (TOTP) so that scripts can sign in with USER_PASSWORD_AUTH; set context mfa=required to enforce it.',
      );
    }
  }

  const notifications = stack.node.tryFindChild(NOTIFICATIONS_HANDLER_ID);
  if (notifications) {
    ack(
      notifications,
      'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      "aws-cdk-lib's own custom resource that configures the bucket notification at deploy time; its role is not configurable. Its only other permission is s3:PutBucketNotification on the content bucket.",
    );
  }

  const customResource = stack.node.tryFindChild(AWS_CUSTOM_RESOURCE_ID);
  if (customResource) {
    ack(
      customResource,
      'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      "aws-cdk-lib's AwsCustomResource function, which creates DefaultImage once at stack creation; its role is not configurable. Its only other permissions are dynamodb:PutItem and ConditionCheckItem on the table.",
    );
  }

  if (stack.console) addConsoleSuppressions(stack, stack.console, ack);
}

function addConsoleSuppressions(
  stack: NagScope,
  site: NonNullable<NagScope['console']>,
  ack: (scope: IConstruct, id: string, reason: string) => void,
): void {
  const distribution = site.distribution;
  ack(distribution, 'CFR1', 'The console serves administrators wherever they are; access is decided by sign-in, not by country.');
  ack(
    distribution,
    'CFR2',
    'Every /api/* request is checked by the JWT authorizer and throttled by the HTTP API stage; the rest is static files. Attach a web ACL through context if an account requires WAF.',
  );
  ack(
    distribution,
    'CFR3',
    "CloudFront standard logs need an ACL-enabled bucket; API requests are logged by the HTTP API's access logs and the site bucket by S3 server access logs.",
  );
  ack(
    distribution,
    'CFR4',
    'The distribution uses its default *.cloudfront.net certificate, for which CloudFront fixes the TLS policy; a custom domain with its own certificate would set TLSv1.2_2021.',
  );

  // aws-cdk-lib's BucketDeployment handler, which copies the console's files at deploy time.
  const deployer = stack.node.children.find((c: IConstruct) => c.node.id.startsWith('Custom::CDKBucketDeployment'));
  if (!deployer) return;
  const why = "aws-cdk-lib's BucketDeployment handler, which copies the console's built files into the site bucket at deploy time";
  ack(deployer, 'L1', `${why}; aws-cdk-lib chooses and updates its runtime.`);
  ack(
    deployer,
    'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    `${why}; its role is not configurable (logging only).`,
  );
  const bucketId = Stack.of(stack).getLogicalId(site.bucket.node.defaultChild as CfnBucket);
  for (const finding of [
    'Action::s3:GetBucket*',
    'Action::s3:GetObject*',
    'Action::s3:List*',
    'Action::s3:Abort*',
    'Action::s3:DeleteObject*',
    'Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*',
    `Resource::<${bucketId}.Arn>/*`,
    'Resource::*',
  ]) {
    ack(
      deployer,
      `IAM5[${finding}]`,
      `${why}: aws-cdk-lib grants it read on the CDK asset bucket, write on the site bucket and CloudFront invalidation (no resource-level permissions); nothing else.`,
    );
  }
}
