/**
 * CDK assertions on the synthesized template, one property of issue 4 per
 * test. The stack is built once (without bundling: the template does not
 * depend on bundle contents) and shared.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { API_BASE, ROUTES, type Route, routeKey } from '../../functions/routes.js';
import { LAMBDA_RUNTIME_NAME } from '../../infra/bundling.js';
import {
  CONTENT_OBJECT_ACTIONS,
  HASHER_OBJECT_ACTIONS,
  INDEX_ACTIONS,
  SWEEPER_OBJECT_ACTIONS,
  TABLE_ITEM_ACTIONS,
} from '../../infra/constructs/grants.js';
import type { ImageServiceStack } from '../../infra/image-service-stack.js';
import { allowedPairs, arnOf, arnWith, buildStack, logicalId, pair } from './helpers.js';
import { CONTENT_PREFIX, keys, PREFIX, TABLE_SCHEMA } from '../../functions/core/db/schema.js';
import { DEFAULT_IMAGE_NAME } from '../../functions/core/db/default-image.js';

let template: Template;
let stack: ImageServiceStack;
let ids: {
  table: string;
  bucket: string;
  logsBucket: string;
  queue: string;
  records: string;
  content: string;
  hasher: string;
  sweeper: string;
  roles: Record<'records' | 'content' | 'hasher' | 'sweeper', string>;
};

beforeAll(() => {
  ({ template, stack } = buildStack());
  const f = stack.functions;
  ids = {
    table: logicalId(stack.storage.table),
    bucket: logicalId(stack.storage.bucket),
    logsBucket: logicalId(stack.storage.accessLogsBucket),
    queue: logicalId(stack.failureQueue),
    records: logicalId(f.records.function),
    content: logicalId(f.content.function),
    hasher: logicalId(f.hasher.function),
    sweeper: logicalId(f.sweeper.function),
    roles: {
      records: logicalId(f.records.role),
      content: logicalId(f.content.role),
      hasher: logicalId(f.hasher.role),
      sweeper: logicalId(f.sweeper.role),
    },
  };
});

const props = (type: string, id: string): Record<string, unknown> => {
  const res = template.findResources(type)[id];
  if (!res) throw new Error(`no ${type} ${id}`);
  return res.Properties as Record<string, unknown>;
};

describe('DynamoDB table', () => {
  it('is on-demand, with 35 days of PITR, deletion protection and RETAIN', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: Match.objectLike({
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: 35 },
        DeletionProtectionEnabled: true,
      }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('has key pk, the TTL attribute expires_at and the byName GSI', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: TABLE_SCHEMA.partitionKey, KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: TABLE_SCHEMA.ttlAttribute, Enabled: true },
      GlobalSecondaryIndexes: [
        {
          IndexName: TABLE_SCHEMA.byNameIndex,
          KeySchema: [
            { AttributeName: TABLE_SCHEMA.byNamePartitionKey, KeyType: 'HASH' },
            { AttributeName: TABLE_SCHEMA.byNameSortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    });
  });
});

describe('content bucket', () => {
  it('blocks all public access, encrypts, enforces ownership and is RETAINed', () => {
    const bucket = template.findResources('AWS::S3::Bucket')[ids.bucket];
    expect(bucket?.DeletionPolicy).toBe('Retain');
    expect(bucket?.UpdateReplacePolicy).toBe('Retain');
    expect(bucket?.Properties).toMatchObject({
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      LoggingConfiguration: { DestinationBucketName: { Ref: ids.logsBucket } },
    });
  });

  it('aborts incomplete multipart uploads after 3 days', () => {
    const rules = (props('AWS::S3::Bucket', ids.bucket).LifecycleConfiguration as { Rules: unknown[] }).Rules;
    expect(rules).toContainEqual({
      Id: 'abort-incomplete-multipart-uploads',
      AbortIncompleteMultipartUpload: { DaysAfterInitiation: 3 },
      Status: 'Enabled',
    });
  });

  it('is versioned and keeps noncurrent versions exactly as long as the table can be restored', () => {
    const bucket = props('AWS::S3::Bucket', ids.bucket);
    expect(bucket.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    const pitr = (props('AWS::DynamoDB::Table', ids.table).PointInTimeRecoverySpecification as { RecoveryPeriodInDays: number })
      .RecoveryPeriodInDays;
    expect((bucket.LifecycleConfiguration as { Rules: unknown[] }).Rules).toContainEqual({
      Id: 'expire-noncurrent-versions',
      NoncurrentVersionExpiration: { NoncurrentDays: pitr },
      ExpiredObjectDeleteMarker: true,
      Status: 'Enabled',
    });
  });

  it('lets browsers PUT and GET with the ETag header exposed', () => {
    const cors = props('AWS::S3::Bucket', ids.bucket).CorsConfiguration as { CorsRules: Record<string, unknown>[] };
    // The configured origins, then the console's own (infra/constructs/console-site.ts).
    expect(cors.CorsRules).toHaveLength(2);
    expect(cors.CorsRules[0]).toMatchObject({ AllowedOrigins: ['*'], ExposedHeaders: ['ETag'] });
    const distribution = logicalId(stack.console!.distribution);
    expect(cors.CorsRules[1]).toMatchObject({
      AllowedOrigins: [{ 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distribution, 'DomainName'] }]] }],
      ExposedHeaders: ['ETag'],
    });
    for (const rule of cors.CorsRules) expect(rule['AllowedMethods']).toEqual(expect.arrayContaining(['PUT', 'GET']));
  });

  it.each(['content', 'access logs'] as const)('%s bucket policy denies every request without TLS', (which) => {
    const id = which === 'content' ? ids.bucket : ids.logsBucket;
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: id },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            Resource: [arnOf(id), arnWith(id, '/*')],
          }),
        ]),
      },
    });
  });

  it('every bucket blocks public access and is encrypted', () => {
    for (const bucket of Object.values(template.findResources('AWS::S3::Bucket'))) {
      expect(bucket.Properties).toMatchObject({
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, RestrictPublicBuckets: true },
        BucketEncryption: expect.anything(),
      });
    }
  });
});

describe('functions', () => {
  const names = ['records', 'content', 'hasher', 'sweeper'] as const;

  it.each(names)('%s: supported Node.js runtime on arm64, ESM bundle, no X-Ray, own retained log group', (name) => {
    const fn = props('AWS::Lambda::Function', ids[name]);
    expect(fn.Runtime).toBe(LAMBDA_RUNTIME_NAME);
    expect(Number(String(fn.Runtime).match(/^nodejs(\d+)\.x$/)?.[1])).toBeGreaterThanOrEqual(22);
    expect(fn.Architectures).toEqual(['arm64']);
    expect(fn.Handler).toBe('index.handler');
    // Tracing is off (infra/constructs/service-function.ts says why): no half-instrumented traces.
    expect(fn.TracingConfig).toBeUndefined();
    expect((fn.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject({
      POWERTOOLS_SERVICE_NAME: 'image-service',
      POWERTOOLS_METRICS_NAMESPACE: 'ImageService',
    });
    const logGroup = (fn.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
    expect(props('AWS::Logs::LogGroup', logGroup).RetentionInDays).toBe(90);
    expect(template.findResources('AWS::Logs::LogGroup')[logGroup]?.DeletionPolicy).toBe('Retain');
    expect(fn.Role).toEqual(arnOf(ids.roles[name]));
  });

  it('every log group in the stack has a retention period and outlives the stack', () => {
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(groups.length).toBeGreaterThanOrEqual(5); // four functions and the API's access log
    for (const group of groups) {
      expect(group.DeletionPolicy).toBe('Retain');
      expect(group.UpdateReplacePolicy).toBe('Retain');
      expect((group.Properties as { RetentionInDays?: number }).RetentionInDays).toBe(90);
    }
  });

  it('Powertools service name and metrics namespace come from the stack config', { timeout: 180_000 }, () => {
    const custom = buildStack({ context: { serviceName: 'boot-images', metricsNamespace: 'Cluster/BootImages' } });
    for (const fn of Object.values(custom.template.findResources('AWS::Lambda::Function'))) {
      const vars = (fn.Properties as { Environment?: { Variables: Record<string, unknown> } }).Environment?.Variables;
      if (!vars || !('POWERTOOLS_SERVICE_NAME' in vars)) continue; // CDK's own notification handler
      expect(vars).toMatchObject({ POWERTOOLS_SERVICE_NAME: 'boot-images', POWERTOOLS_METRICS_NAMESPACE: 'Cluster/BootImages' });
    }
  });

  it('hasher: reserved concurrency, so a flood of uploads cannot take what the API needs', { timeout: 180_000 }, () => {
    expect(props('AWS::Lambda::Function', ids.hasher).ReservedConcurrentExecutions).toBe(10);
    for (const name of ['records', 'content', 'sweeper'] as const) {
      expect(props('AWS::Lambda::Function', ids[name]).ReservedConcurrentExecutions).toBeUndefined();
    }
    const custom = buildStack({ context: { hasherReservedConcurrency: '4' } });
    expect(logicalId(custom.stack.functions.hasher.function)).toBe(ids.hasher);
    expect(
      (custom.template.findResources('AWS::Lambda::Function')[ids.hasher]?.Properties as Record<string, unknown> | undefined)
        ?.ReservedConcurrentExecutions,
    ).toBe(4);
  });

  it('every Lambda function in the stack runs on a supported runtime', () => {
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
      const runtime = String((fn.Properties as { Runtime: string }).Runtime);
      expect(runtime).not.toMatch(/^nodejs(1\d|20)\.x$/);
    }
  });

  it.each(names)('%s: environment for the table, the site and Powertools', (name) => {
    const env = (props('AWS::Lambda::Function', ids[name]).Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env).toMatchObject({
      TABLE_NAME: { Ref: ids.table },
      SITE_NAME: { Ref: 'AWS::Region' },
      POWERTOOLS_SERVICE_NAME: 'image-service',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
    });
    if (name === 'records') expect(env).not.toHaveProperty('BUCKET_NAME');
    else expect(env.BUCKET_NAME).toEqual({ Ref: ids.bucket });
  });

  it('API functions get the auth claims settings; content gets upload settings', () => {
    for (const name of ['records', 'content'] as const) {
      const env = (props('AWS::Lambda::Function', ids[name]).Environment as { Variables: Record<string, unknown> }).Variables;
      expect(env).toMatchObject({ ADMIN_GROUP: 'admins', GROUPS_CLAIM: 'cognito:groups', USER_CLAIM: 'username' });
    }
    const env = (props('AWS::Lambda::Function', ids.content).Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env).toMatchObject({
      UPLOAD_URL_EXPIRY_SECONDS: '3600',
      DEFAULT_PART_SIZE: String(64 * 1024 * 1024),
      UPLOAD_SESSION_TTL_SECONDS: String(3 * 86_400),
    });
  });

  it('hasher: 15 minutes, configurable memory, hashing settings', () => {
    const fn = props('AWS::Lambda::Function', ids.hasher);
    expect(fn.Timeout).toBe(900);
    expect(fn.MemorySize).toBe(1024);
    expect((fn.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject({
      HASHER_CONCURRENCY: '8',
      HASHER_RANGE_SIZE: String(16 * 1024 * 1024),
    });
  });

  it('API functions stop before API Gateway gives up (30 s)', () => {
    for (const name of ['records', 'content'] as const) {
      expect(props('AWS::Lambda::Function', ids[name]).Timeout).toBeLessThan(30);
    }
  });
});

describe('least privilege', () => {
  const table = (id: string): string[] => [
    ...TABLE_ITEM_ACTIONS.map((a) => pair(a, arnOf(id))),
    ...INDEX_ACTIONS.map((a) => pair(a, arnWith(id, `/index/${TABLE_SCHEMA.byNameIndex}`))),
  ];
  const logs = (fn: string): string[] => {
    const logGroup = (props('AWS::Lambda::Function', fn).LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
    return ['logs:CreateLogStream', 'logs:PutLogEvents'].map((a) => pair(a, arnOf(logGroup)));
  };
  const objects = (actions: readonly string[]): string[] => actions.map((a) => pair(a, arnWith(ids.bucket, `/${CONTENT_PREFIX}*`)));

  it('records: its log group and the table only', () => {
    expect([...allowedPairs(template, ids.roles.records)].sort()).toEqual([...logs(ids.records), ...table(ids.table)].sort());
  });

  it('content: plus the presigned object operations on content/*', () => {
    expect([...allowedPairs(template, ids.roles.content)].sort()).toEqual(
      [...logs(ids.content), ...table(ids.table), ...objects(CONTENT_OBJECT_ACTIONS)].sort(),
    );
    // What it presigns: PutObject covers Create/UploadPart/Complete; ListParts is ListMultipartUploadParts.
    expect(CONTENT_OBJECT_ACTIONS).toEqual(
      expect.arrayContaining(['s3:PutObject', 's3:GetObject', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts']),
    );
  });

  it('hasher: read and delete on content/*, the table, sending to its failure queue, and invoking itself', () => {
    const sqs = ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'].map((a) => pair(a, arnOf(ids.queue)));
    const selfInvoke = pair('lambda:InvokeFunction', arnOf(ids.hasher));
    expect([...allowedPairs(template, ids.roles.hasher)].sort()).toEqual(
      [...logs(ids.hasher), ...table(ids.table), ...objects(HASHER_OBJECT_ACTIONS), ...sqs, selfInvoke].sort(),
    );
  });

  it('sweeper: the objects of quiet sessions on content/*, the table, and invoking the hasher, nothing else', () => {
    expect([...allowedPairs(template, ids.roles.sweeper)].sort()).toEqual(
      [
        ...logs(ids.sweeper),
        ...table(ids.table),
        ...objects(SWEEPER_OBJECT_ACTIONS),
        pair('lambda:InvokeFunction', arnOf(ids.hasher)),
      ].sort(),
    );
  });

  it('capture authorizer: its log group, and GetItem on the table for CAPTURE# items only', () => {
    const fn = stack.functions.captureAuthorizer;
    const role = logicalId(fn.role);
    expect([...allowedPairs(template, role)].sort()).toEqual(
      [...logs(logicalId(fn.function)), pair('dynamodb:GetItem', arnOf(ids.table))].sort(),
    );
    const statement = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify((p.Properties as { Roles: unknown[] }).Roles).includes(role))
      .flatMap(
        (p) => (p.Properties as { PolicyDocument: { Statement: { Action: unknown; Condition?: unknown }[] } }).PolicyDocument.Statement,
      )
      .find((st) => st.Action === 'dynamodb:GetItem');
    expect(statement?.Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['CAPTURE#*'] } });
    const env = (props('AWS::Lambda::Function', logicalId(fn.function)).Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env['TABLE_NAME']).toEqual({ Ref: ids.table });
    expect(Object.keys(env).filter((k) => !k.startsWith('POWERTOOLS_') && k !== 'NODE_OPTIONS')).toEqual(['TABLE_NAME']);
  });

  it('sweeper: knows the hasher and its timeout, to re-drive a session quiet for longer than one run', () => {
    const env = (props('AWS::Lambda::Function', ids.sweeper).Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env).toMatchObject({ HASHER_FUNCTION_NAME: { Ref: ids.hasher }, HASHER_TIMEOUT_SECONDS: '900' });
    expect(props('AWS::Lambda::Function', ids.hasher).Timeout).toBe(900);
  });

  it('sweeper: runs every 15 minutes on an EventBridge schedule that retries, then dead-letters', () => {
    const dlq = logicalId(stack.sweepDeadLetters);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(15 minutes)',
      Targets: [
        Match.objectLike({
          Arn: arnOf(ids.sweeper),
          RetryPolicy: { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 720 },
          DeadLetterConfig: { Arn: arnOf(dlq) },
        }),
      ],
    });
    expect(props('AWS::SQS::Queue', dlq)).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86_400 });
    // EventBridge may send to the queue, for this rule only.
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: dlq }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Action: 'sqs:SendMessage',
            Principal: { Service: 'events.amazonaws.com' },
            Condition: { ArnEquals: { 'aws:SourceArn': arnOf(logicalId(stack.sweepSchedule)) } },
          }),
        ]),
      },
    });
  });

  it('deletes leave delete markers: no function may delete object versions or change versioning', () => {
    for (const role of Object.values(ids.roles)) {
      const actions = [...allowedPairs(template, role)].map((p) => p.split(' ')[0]);
      expect(actions).not.toContain('s3:DeleteObjectVersion');
      expect(actions).not.toContain('s3:PutBucketVersioning');
      expect(actions).not.toContain('s3:PutLifecycleConfiguration');
    }
    // Plain DeleteObject is all the service's own deletes need on a versioned bucket.
    for (const actions of [CONTENT_OBJECT_ACTIONS, HASHER_OBJECT_ACTIONS, SWEEPER_OBJECT_ACTIONS]) {
      expect(actions).toContain('s3:DeleteObject');
    }
  });

  it('no wildcard actions anywhere, and no Resource "*" in our functions\' policies', () => {
    // CDK's own BucketDeployment handler (the console's files) is granted by aws-cdk-lib; infra/nag.ts says why.
    const deployer = stack.node.children.find((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'));
    const deployerRole = deployer ? logicalId(deployer.node.findChild('ServiceRole')) : undefined;
    for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
      if (JSON.stringify((policy.Properties as { Roles: unknown[] }).Roles) === JSON.stringify([{ Ref: deployerRole }])) continue;
      const statements = (policy.Properties as { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } })
        .PolicyDocument.Statement;
      for (const s of statements) {
        const actions = Array.isArray(s.Action) ? s.Action : [s.Action];
        for (const a of actions) expect(a).not.toContain('*');
      }
    }
    for (const role of Object.values(ids.roles)) {
      for (const p of allowedPairs(template, role)) expect(p.endsWith(' "*"'), p).toBe(false);
    }
  });

  it('our function roles carry no managed policies', () => {
    for (const role of Object.values(ids.roles)) {
      expect(props('AWS::IAM::Role', role).ManagedPolicyArns).toBeUndefined();
    }
  });
});

describe('hasher notification', () => {
  it('S3 ObjectCreated under content/ invokes the hasher', () => {
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: { Ref: ids.bucket },
      NotificationConfiguration: {
        LambdaFunctionConfigurations: [
          {
            Events: ['s3:ObjectCreated:*'],
            Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: CONTENT_PREFIX }] } },
            LambdaFunctionArn: arnOf(ids.hasher),
          },
        ],
      },
    });
  });

  it('S3 may invoke the hasher, and only from this bucket', () => {
    template.hasResourceProperties('AWS::Lambda::Permission', {
      FunctionName: arnOf(ids.hasher),
      Principal: 's3.amazonaws.com',
      SourceArn: arnOf(ids.bucket),
    });
  });

  it('retries a bounded number of times, then sends the event to the failure queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: ids.hasher },
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 6 * 3600,
      DestinationConfig: { OnFailure: { Destination: arnOf(ids.queue) } },
    });
  });

  it('the failure queue is encrypted, TLS-only and keeps events 14 days', () => {
    expect(props('AWS::SQS::Queue', ids.queue)).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86_400 });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: ids.queue }],
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
    });
  });
});

describe('HTTP API', () => {
  const routes = (): Record<string, Record<string, unknown>> =>
    Object.fromEntries(
      Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map((r) => {
        const p = r.Properties as Record<string, unknown>;
        return [String(p.RouteKey), p];
      }),
    );
  const integrationFor = (fnId: string): string => {
    const found = Object.entries(template.findResources('AWS::ApiGatewayV2::Integration')).find(
      ([, r]) => JSON.stringify((r.Properties as { IntegrationUri: unknown }).IntegrationUri) === JSON.stringify(arnOf(fnId)),
    );
    if (!found) throw new Error(`no integration for ${fnId}`);
    return found[0];
  };

  it('has exactly the routes of functions/routes.ts plus $default', () => {
    expect(Object.keys(routes()).sort()).toEqual([...ROUTES.map(routeKey), '$default'].sort());
    expect(ROUTES.every((r) => routeKey(r).includes(` ${API_BASE}/`))).toBe(true);
  });

  const authorizerOf = (type: 'JWT' | 'REQUEST'): string => {
    const found = Object.entries(template.findResources('AWS::ApiGatewayV2::Authorizer')).find(
      ([, r]) => (r.Properties as { AuthorizerType: string }).AuthorizerType === type,
    );
    if (!found) throw new Error(`no ${type} authorizer`);
    return found[0];
  };

  it('puts the JWT authorizer on every route but the capture routes, which get the capture authorizer; maps each to its function', () => {
    const byFn = { records: integrationFor(ids.records), content: integrationFor(ids.content) };
    const all = routes();
    for (const route of ROUTES as readonly Route[]) {
      expect(all[routeKey(route)], routeKey(route)).toMatchObject({
        AuthorizationType: route.capture === undefined ? 'JWT' : 'CUSTOM',
        AuthorizerId: { Ref: authorizerOf(route.capture === undefined ? 'JWT' : 'REQUEST') },
        Target: { 'Fn::Join': ['', ['integrations/', { Ref: byFn[route.fn] }]] },
      });
    }
  });

  it('the capture authorizer: the Authorization header, simple responses, no caching, invoked only by this API', () => {
    const fn = logicalId(stack.functions.captureAuthorizer.function);
    const props = template.findResources('AWS::ApiGatewayV2::Authorizer')[authorizerOf('REQUEST')]?.Properties as Record<string, unknown>;
    expect(props).toMatchObject({
      AuthorizerType: 'REQUEST',
      IdentitySource: ['$request.header.Authorization'],
      AuthorizerPayloadFormatVersion: '2.0',
      EnableSimpleResponses: true,
      AuthorizerResultTtlInSeconds: 0,
    });
    expect(JSON.stringify(props['AuthorizerUri'])).toContain(fn);
    const perms = Object.values(template.findResources('AWS::Lambda::Permission'))
      .map((p) => p.Properties as { Principal: string; SourceArn: unknown; FunctionName: unknown })
      .filter((p) => JSON.stringify(p.FunctionName) === JSON.stringify(arnOf(fn)));
    expect(perms).toHaveLength(1);
    expect(perms[0]?.Principal).toBe('apigateway.amazonaws.com');
    expect(JSON.stringify(perms[0]?.SourceArn)).toContain(`{"Ref":"${logicalId(stack.api.httpApi)}"}`);
  });

  it('$default goes to records (404 in the envelope), behind the same JWT authorizer', () => {
    const authorizerId = authorizerOf('JWT');
    const route = routes()['$default'];
    expect(route).toMatchObject({ AuthorizationType: 'JWT', AuthorizerId: { Ref: authorizerId } });
    expect(route?.Target).toEqual({ 'Fn::Join': ['', ['integrations/', { Ref: integrationFor(ids.records) }]] });
  });

  it('no route at all goes without the authorizer', () => {
    const all = Object.values(template.findResources('AWS::ApiGatewayV2::Route'));
    expect(all).toHaveLength(ROUTES.length + 1);
    for (const r of all) expect(['JWT', 'CUSTOM']).toContain((r.Properties as { AuthorizationType?: string }).AuthorizationType);
  });

  it('API Gateway may invoke the functions only through this API', () => {
    const apiId = logicalId(stack.api.httpApi);
    const perms = Object.values(template.findResources('AWS::Lambda::Permission'))
      .map((p) => p.Properties as { Principal: string; SourceArn: unknown; FunctionName: unknown })
      .filter((p) => p.Principal === 'apigateway.amazonaws.com');
    expect(perms.length).toBeGreaterThanOrEqual(ROUTES.length);
    const authorizer = arnOf(logicalId(stack.functions.captureAuthorizer.function));
    for (const p of perms) {
      expect(JSON.stringify(p.SourceArn)).toContain(`{"Ref":"${apiId}"}`);
      expect([arnOf(ids.records), arnOf(ids.content), authorizer]).toContainEqual(p.FunctionName);
    }
  });

  it('integrations use payload format 2.0', () => {
    for (const i of Object.values(template.findResources('AWS::ApiGatewayV2::Integration'))) {
      expect(i.Properties).toMatchObject({ IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
    }
  });

  it('the authorizer checks Cognito tokens: the pool issuer, the app client as audience', () => {
    const pool = logicalId(stack.auth.cognito!.userPool);
    const client = logicalId(stack.auth.cognito!.client);
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: {
        // The API client's, and the console's (hosted UI) tokens.
        Audience: [{ Ref: client }, { Ref: logicalId(stack.console!.client!) }],
        Issuer: { 'Fn::Join': ['', ['https://cognito-idp.', { Ref: 'AWS::Region' }, '.amazonaws.com/', { Ref: pool }]] },
      },
    });
  });

  it('the $default stage auto-deploys, is throttled and writes JSON access logs', () => {
    const stage = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'));
    expect(stage).toHaveLength(1);
    const p = stage[0]?.Properties as Record<string, unknown>;
    expect(p).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
      AccessLogSettings: { DestinationArn: arnOf(logicalId(stack.api.accessLogs)) },
    });
    const format = JSON.parse(String((p.AccessLogSettings as { Format: string }).Format)) as Record<string, string>;
    expect(format).toMatchObject({ requestId: '$context.requestId', status: '$context.status', routeKey: '$context.routeKey' });
  });

  it('stage throttling comes from context', { timeout: 180_000 }, () => {
    const custom = buildStack({ context: { throttleRateLimit: '20', throttleBurstLimit: '40' } }).template;
    const stage = Object.values(custom.findResources('AWS::ApiGatewayV2::Stage'))[0]?.Properties as Record<string, unknown>;
    expect(stage.DefaultRouteSettings).toEqual({ ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 });
  });
});

describe('Cognito', () => {
  it('admins create users; strong passwords; the pool is retained', () => {
    template.hasResource('AWS::Cognito::UserPool', {
      Properties: Match.objectLike({
        AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
        Policies: { PasswordPolicy: Match.objectLike({ MinimumLength: 12, RequireSymbols: true }) },
        MfaConfiguration: 'OPTIONAL',
      }),
      DeletionPolicy: 'Retain',
    });
  });

  it('the app client allows USER_PASSWORD_AUTH and has no secret', () => {
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      ExplicitAuthFlows: Match.arrayWith(['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH']),
      GenerateSecret: false,
    });
  });

  it('has the admins group', () => {
    template.hasResourceProperties('AWS::Cognito::UserPoolGroup', { GroupName: 'admins' });
  });
});

describe('alarms, dashboard and outputs', () => {
  interface AlarmProps {
    MetricName?: string;
    Namespace?: string;
    Dimensions?: { Name: string; Value: unknown }[];
    Metrics?: unknown[];
    Threshold: number;
    AlarmActions: unknown[];
    OKActions: unknown[];
  }
  const alarms = (): AlarmProps[] => Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties as AlarmProps);
  const onFn = (a: AlarmProps, fn: string): boolean => JSON.stringify(a.Dimensions ?? []).includes(`"${fn}"`);
  const own = { Namespace: 'ImageService', Dimensions: [{ Name: 'service', Value: 'image-service' }] };

  it('one encrypted, TLS-only SNS topic that every alarm notifies, on ALARM and on OK', () => {
    const topics = template.findResources('AWS::SNS::Topic');
    expect(Object.keys(topics)).toHaveLength(1);
    const topic = logicalId(stack.monitoring.topic);
    expect(props('AWS::SNS::Topic', topic).KmsMasterKeyId).toEqual(arnOf(logicalId(stack.monitoring.topic.masterKey!)));
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
    });
    for (const a of alarms()) {
      expect(a.AlarmActions).toEqual([{ Ref: topic }]);
      expect(a.OKActions).toEqual([{ Ref: topic }]);
    }
  });

  it('CloudWatch may use the topic key (the AWS-managed SNS key would refuse it), and the key rotates', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
  });

  it('subscribes alarmEmail to the topic when given, and nothing otherwise', { timeout: 180_000 }, () => {
    expect(template.findResources('AWS::SNS::Subscription')).toEqual({});
    const withEmail = buildStack({ context: { alarmEmail: 'ops@example.org' } });
    withEmail.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.org',
      TopicArn: { Ref: logicalId(withEmail.stack.monitoring.topic) },
    });
  });

  it('API 5xx: as API Gateway counts them and as the error middleware answers them', () => {
    const apiId = logicalId(stack.api.httpApi);
    expect(alarms()).toContainEqual(
      expect.objectContaining({ Namespace: 'AWS/ApiGateway', MetricName: '5xx', Dimensions: [{ Name: 'ApiId', Value: { Ref: apiId } }] }),
    );
    expect(alarms()).toContainEqual(expect.objectContaining({ ...own, MetricName: 'ServerErrors', Threshold: 1 }));
  });

  it('function errors (the hasher’s: failures not the client’s) and Lambda throttles, for each function', () => {
    for (const fn of [ids.records, ids.content, ids.hasher, ids.sweeper]) {
      for (const metric of ['Errors', 'Throttles']) {
        expect(
          alarms().some((a) => a.MetricName === metric && onFn(a, fn)),
          `${metric} ${fn}`,
        ).toBe(true);
      }
    }
    expect(alarms()).toContainEqual(expect.objectContaining({ ...own, MetricName: 'HashDeadlineExceeded', Threshold: 1 }));
  });

  it('the hasher’s duration near its timeout', () => {
    const duration = alarms().find((a) => a.MetricName === 'Duration' && onFn(a, ids.hasher));
    expect(duration).toMatchObject({ Statistic: 'Maximum', Threshold: 0.8 * 900_000 });
  });

  it('the failure queue and the sweeper’s dead-letter queue not empty', () => {
    for (const queue of [ids.queue, logicalId(stack.sweepDeadLetters)]) {
      expect(
        alarms().some((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible' && JSON.stringify(a.Dimensions).includes(queue)),
      ).toBe(true);
    }
  });

  it('DynamoDB throttles on the table, summed over the operations the functions use', () => {
    const ddb = alarms().filter((a) => JSON.stringify(a.Metrics ?? []).includes('ThrottledRequests'));
    expect(ddb).toHaveLength(1);
    const json = JSON.stringify(ddb[0]?.Metrics);
    for (const op of ['GetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem', 'TransactWriteItems']) {
      expect(json).toContain(`"Value":"${op}"`);
    }
    expect(json).toContain(`{"Ref":"${ids.table}"}`);
  });

  it('has exactly these alarms', () => {
    // Errors and throttles of five functions (the capture authorizer's too); API 5xx twice; hasher deadline and duration; two queues; DynamoDB.
    expect(alarms()).toHaveLength(10 + 2 + 2 + 2 + 1);
    const names = alarms().map((a) => JSON.stringify(a));
    expect(names.filter((a) => a.includes('capture-authorizer function'))).toHaveLength(2);
  });

  it('a dashboard: requests, 4xx/5xx, latency, bytes hashed, hash rate, uploads by outcome', () => {
    const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboards).toHaveLength(1);
    // The body is a JSON string with references joined in; put placeholders there and parse it.
    const joined = (dashboards[0]?.Properties as { DashboardBody: { 'Fn::Join': [string, unknown[]] } } | undefined)?.DashboardBody;
    if (!joined) throw new Error('the dashboard has no body');
    const body = JSON.parse(joined['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : 'REF')).join('')) as {
      widgets: { properties: { title: string; metrics?: unknown[][] } }[];
    };
    const byTitle = new Map(
      body.widgets.map((w) => [w.properties.title, (w.properties.metrics ?? []).flat().filter((x) => typeof x === 'string')]),
    );
    const expected: Record<string, string[]> = {
      Requests: ['AWS/ApiGateway', 'Count'],
      '4xx and 5xx': ['4xx', '5xx', 'ServerErrors'],
      'Latency (ms)': ['Latency', 'IntegrationLatency'],
      'Bytes hashed': ['ImageService', 'HashedBytes'],
      'Hash rate (MB/s)': ['HashedBytes', 'HashTime'],
      'Uploads by outcome': ['Uploads_ready', 'Uploads_failed', 'Uploads_duplicate', 'Uploads_unknown'],
    };
    for (const [title, metrics] of Object.entries(expected)) {
      expect(byTitle.get(title), title).toEqual(expect.arrayContaining(metrics));
    }
  });

  it('outputs the API URL, pool and client ids, bucket, table, alarm topic and dashboard', () => {
    const outputs = template.findOutputs('*');
    for (const name of [
      'ApiUrl',
      'UserPoolId',
      'UserPoolClientId',
      'BucketName',
      'AccessLogsBucketName',
      'TableName',
      'FailureQueueUrl',
      'HasherFunctionName',
      'AlarmTopicArn',
      'DashboardName',
    ]) {
      expect(outputs, name).toHaveProperty(name);
    }
    expect(JSON.stringify(outputs.ApiUrl?.Value)).toContain(`${API_BASE}"`);
  });
});

describe('DefaultImage at installation', () => {
  it('is put by a custom resource on create only, record and name guard in one transaction, each only if absent', () => {
    const resources = Object.values(template.findResources('Custom::AWS'));
    expect(resources).toHaveLength(1);
    const props = resources[0]!['Properties'] as Record<string, unknown>;
    expect(props['Update']).toBeUndefined();
    expect(props['Delete']).toBeUndefined();
    const create = JSON.stringify(props['Create']);
    expect(create).toContain('\\"action\\":\\"TransactWriteItems\\"');
    expect(create).toContain('\\"ignoreErrorCodesMatching\\":\\"TransactionCanceledException\\"');
    expect(create.match(/attribute_not_exists\(pk\)/g)).toHaveLength(2);
    for (const text of [PREFIX.image, keys.name(DEFAULT_IMAGE_NAME).pk, 'Default image generated by scyld-add-boot-config', 'CentOS']) {
      expect(create).toContain(text);
    }
    expect(create).toContain(ids.table);
  });
});
