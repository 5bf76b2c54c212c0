/**
 * The whole service in one stack: storage, auth, the API functions, the hasher, the sweeper and the capture authorizer with
 * their grants, the HTTP API, the hasher's S3 notification with its failure
 * queue, the sweeper's schedule with its dead-letter queue, alarms, a
 * dashboard and outputs.
 */
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { EventType, HttpMethods } from 'aws-cdk-lib/aws-s3';
import { LambdaDestination } from 'aws-cdk-lib/aws-s3-notifications';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { TIMEOUT_SECONDS } from './function-timeouts.js';
import type { Construct } from 'constructs';
import type { ServiceConfig } from './config.js';
import { Monitoring } from './constructs/monitoring.js';
import { Api } from './constructs/api.js';
import { Auth } from './constructs/auth.js';
import { ConsoleSite } from './constructs/console-site.js';
import {
  CONTENT_OBJECT_ACTIONS,
  grantAsyncInvoke,
  grantSelfInvoke,
  HASHER_OBJECT_ACTIONS,
  SWEEPER_OBJECT_ACTIONS,
  grantCaptureJobRead,
  grantContentObjects,
  grantTable,
} from './constructs/grants.js';
import { DefaultImage } from './constructs/default-image.js';
import { ServiceFunction } from './constructs/service-function.js';
import { CONTENT_PREFIX, Storage } from './constructs/storage.js';
import { addNagSuppressions } from './nag.js';

export interface ImageServiceStackProps extends StackProps {
  readonly config: ServiceConfig;
  /** The built web console (console/build.ts); without it the stack deploys no console. */
  readonly consoleDir?: string;
}

/** API Gateway gives up on an integration after 30 s; the function should stop first. */
const API_FUNCTION_TIMEOUT = Duration.seconds(TIMEOUT_SECONDS.records);
/** Lambda's maximum; a larger file is hashed across several runs, each continuing from the last one's state. */
const HASHER_TIMEOUT = Duration.seconds(TIMEOUT_SECONDS.hasher);
const SWEEPER_TIMEOUT = Duration.seconds(TIMEOUT_SECONDS.sweeper);

export class ImageServiceStack extends Stack {
  readonly config: ServiceConfig;
  readonly storage: Storage;
  readonly auth: Auth;
  readonly api: Api;
  readonly functions: Readonly<Record<'records' | 'content' | 'hasher' | 'sweeper' | 'captureAuthorizer', ServiceFunction>>;
  readonly failureQueue: Queue;
  readonly sweepDeadLetters: Queue;
  readonly sweepSchedule: Rule;
  readonly monitoring: Monitoring;
  readonly console: ConsoleSite | undefined;

  constructor(scope: Construct, id: string, props: ImageServiceStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.config = config;

    this.storage = new Storage(this, 'Storage', config);
    new DefaultImage(this, 'DefaultImage', { table: this.storage.table, logRetention: config.logRetentionDays });
    const { table, bucket } = this.storage;
    this.auth = new Auth(this, 'Auth', config);

    const common = {
      TABLE_NAME: table.tableName,
      SITE_NAME: this.region,
    };
    const apiEnv = {
      ...common,
      ADMIN_GROUP: config.adminGroup,
      GROUPS_CLAIM: config.groupsClaim,
      USER_CLAIM: config.userClaim,
    };
    const fnDefaults = { config } as const;

    const records = new ServiceFunction(this, 'Records', {
      ...fnDefaults,
      name: 'records',
      description: 'Image records: create, list, read, change (table only)',
      memorySize: config.apiMemoryMb,
      timeout: API_FUNCTION_TIMEOUT,
      environment: apiEnv,
    });
    grantTable(records.function, table);

    const content = new ServiceFunction(this, 'Content', {
      ...fnDefaults,
      name: 'content',
      description: 'Image content: presigned uploads and downloads, releases',
      memorySize: config.apiMemoryMb,
      timeout: API_FUNCTION_TIMEOUT,
      environment: {
        ...apiEnv,
        BUCKET_NAME: bucket.bucketName,
        UPLOAD_URL_EXPIRY_SECONDS: String(config.uploadUrlExpirySeconds),
        DEFAULT_PART_SIZE: String(config.defaultPartSize),
        // Session items expire together with the bucket's abort rule for their multipart upload.
        UPLOAD_SESSION_TTL_SECONDS: String(config.abortIncompleteUploadDays * 86_400),
        // A session reads as stale past one hasher run plus the re-drive's margin.
        HASHER_TIMEOUT_SECONDS: String(TIMEOUT_SECONDS.hasher),
        CAPTURE_CREDENTIAL_TTL_SECONDS: String(config.captureCredentialTtlHours * 3600),
      },
    });
    grantTable(content.function, table);
    grantContentObjects(content.function, bucket, CONTENT_OBJECT_ACTIONS);

    // S3 invokes the hasher asynchronously: Lambda retries a failed event a bounded
    // number of times, then parks it here instead of dropping it.
    this.failureQueue = new Queue(this, 'HasherFailures', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });

    const hasher = new ServiceFunction(this, 'Hasher', {
      ...fnDefaults,
      name: 'hasher',
      description: 'Hashes each new content file (sha1, size, mtime) and switches the image to it',
      memorySize: config.hasherMemoryMb,
      timeout: HASHER_TIMEOUT,
      environment: {
        ...common,
        BUCKET_NAME: bucket.bucketName,
        HASHER_CONCURRENCY: String(config.hasherConcurrency),
        HASHER_RANGE_SIZE: String(config.hasherRangeSize),
      },
      // A flood of uploads queues in Lambda's asynchronous invocation queue (events wait up
      // to maxEventAge) instead of taking the concurrency the API needs.
      reservedConcurrentExecutions: config.hasherReservedConcurrency,
      asyncInvoke: {
        retryAttempts: config.hasherRetryAttempts,
        maxEventAge: Duration.hours(6),
        onFailure: new SqsDestination(this.failureQueue),
      },
    });
    grantTable(hasher.function, table);
    grantContentObjects(hasher.function, bucket, HASHER_OBJECT_ACTIONS);
    // A hash that reaches the deadline continues in a new invocation of the hasher, started by itself.
    grantSelfInvoke(this, hasher.function);
    bucket.addEventNotification(EventType.OBJECT_CREATED, new LambdaDestination(hasher.function), {
      prefix: CONTENT_PREFIX,
    });

    // Finishes clean-ups that failed after their transaction (an unreferenced file left in S3).
    const sweeper = new ServiceFunction(this, 'Sweeper', {
      ...fnDefaults,
      name: 'sweeper',
      description: 'Collects unreferenced content files and re-drives uploads whose hasher went quiet',
      memorySize: 256,
      timeout: SWEEPER_TIMEOUT,
      environment: {
        ...common,
        BUCKET_NAME: bucket.bucketName,
        HASHER_FUNCTION_NAME: hasher.function.functionName,
        HASHER_TIMEOUT_SECONDS: String(TIMEOUT_SECONDS.hasher),
      },
    });
    grantTable(sweeper.function, table);
    grantContentObjects(sweeper.function, bucket, SWEEPER_OBJECT_ACTIONS);
    grantAsyncInvoke(sweeper.function, hasher.function);
    // EventBridge retries an invocation it could not deliver (throttled, service error), then
    // parks the event here; the next run does the same work, the queue says one was lost.
    this.sweepDeadLetters = new Queue(this, 'SweepDeadLetters', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    // Often enough that a session whose hasher went quiet (one run + 5 min) waits at most this much more.
    this.sweepSchedule = new Rule(this, 'SweepSchedule', {
      description: 'Runs the sweeper every 15 minutes',
      schedule: Schedule.rate(Duration.minutes(15)),
      targets: [
        new LambdaFunction(sweeper.function, {
          retryAttempts: 4,
          // Older than this, the next scheduled run is near: it does the same work.
          maxEventAge: Duration.minutes(12),
          deadLetterQueue: this.sweepDeadLetters,
        }),
      ],
    });

    // Runs before every capture request: small (its bundle has the DynamoDB client and little else), reads capture jobs only.
    const captureAuthorizer = new ServiceFunction(this, 'CaptureAuthorizer', {
      ...fnDefaults,
      name: 'capture-authorizer',
      description: "Capture routes' authorizer: accepts a capture job's credential for that job's routes only",
      memorySize: 256,
      timeout: Duration.seconds(TIMEOUT_SECONDS.captureAuthorizer),
      environment: { TABLE_NAME: table.tableName },
    });
    grantCaptureJobRead(captureAuthorizer.function, table);

    this.functions = { records, content, hasher, sweeper, captureAuthorizer };

    this.api = new Api(this, 'Api', {
      config,
      authorizer: this.auth.authorizer,
      // No caching: a credential is refused the moment its job is used up, revoked or expired,
      // and the answer depends on the route (which a cache keyed on the header would not see).
      captureAuthorizer: new HttpLambdaAuthorizer('CaptureAuthorizer', captureAuthorizer.function, {
        authorizerName: `${config.serviceName}-capture`,
        responseTypes: [HttpLambdaResponseType.SIMPLE],
        identitySource: ['$request.header.Authorization'],
        resultsCacheTtl: Duration.seconds(0),
      }),
      handlers: { records: records.function, content: content.function },
    });

    this.console = undefined;
    if (props.consoleDir !== undefined) {
      this.console = new ConsoleSite(this, 'Console', {
        config,
        httpApi: this.api.httpApi,
        siteDir: props.consoleDir,
        accessLogsBucket: this.storage.accessLogsBucket,
        ...(this.auth.cognito ? { userPool: this.auth.cognito.userPool } : {}),
      });
      if (this.console.client) this.auth.allowClient(this.console.client.userPoolClientId);
      // The console PUTs parts and GETs content through presigned URLs: it must read each part's ETag.
      bucket.addCorsRule({
        allowedMethods: [HttpMethods.PUT, HttpMethods.GET, HttpMethods.HEAD],
        allowedOrigins: [this.console.origin],
        allowedHeaders: ['*'],
        exposedHeaders: ['ETag'],
        maxAge: 3600,
      });
      new CfnOutput(this, 'ConsoleUrl', { value: `${this.console.origin}/`, description: 'The web console' });
    }

    this.monitoring = new Monitoring(this, 'Monitoring', {
      config,
      functions: {
        records: records.function,
        content: content.function,
        hasher: hasher.function,
        sweeper: sweeper.function,
        'capture-authorizer': captureAuthorizer.function,
      },
      hasherTimeout: HASHER_TIMEOUT,
      failureQueue: this.failureQueue,
      sweepDeadLetters: this.sweepDeadLetters,
      httpApi: this.api.httpApi,
      table,
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.baseUrl, description: 'Base URL of the Image API' });
    new CfnOutput(this, 'BucketName', { value: bucket.bucketName, description: 'Content bucket' });
    new CfnOutput(this, 'AccessLogsBucketName', {
      value: this.storage.accessLogsBucket.bucketName,
      description: "The content bucket's server access logs",
    });
    new CfnOutput(this, 'TableName', { value: table.tableName, description: 'DynamoDB table' });
    new CfnOutput(this, 'FailureQueueUrl', {
      value: this.failureQueue.queueUrl,
      description: 'S3 events the hasher failed on',
    });
    new CfnOutput(this, 'HasherFunctionName', {
      value: hasher.function.functionName,
      description: 'Re-invoke with a failed event to retry it',
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      value: this.monitoring.topic.topicArn,
      description: 'Every alarm notifies this topic; subscribe more endpoints to it',
    });
    new CfnOutput(this, 'DashboardName', { value: this.monitoring.dashboard.dashboardName });
    if (this.auth.cognito) {
      new CfnOutput(this, 'UserPoolId', { value: this.auth.cognito.userPool.userPoolId });
      new CfnOutput(this, 'UserPoolClientId', { value: this.auth.cognito.client.userPoolClientId });
      new CfnOutput(this, 'AdminGroupName', { value: config.adminGroup });
    }

    addNagSuppressions(this);
  }
}
