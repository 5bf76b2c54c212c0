/**
 * The service's data: one DynamoDB table (DESIGN.md's item kinds) and the
 * content bucket. Both are RETAINed: a stack deletion must never take the
 * images with it.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { BlockPublicAccess, Bucket, BucketEncryption, HttpMethods, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { TABLE_SCHEMA } from '../../functions/core/db/schema.js';
import type { ServiceConfig } from '../config.js';

// The table's names and the content prefix are the functions' own (functions/core/db/schema.ts).
export { CONTENT_PREFIX, TABLE_SCHEMA } from '../../functions/core/db/schema.js';

/**
 * How far back the table can be restored (DynamoDB's maximum). Deleted or
 * replaced content files stay in the bucket as noncurrent versions exactly as
 * long, so a restored table still finds every file it refers to
 * (docs/deploy.md, "Restoring the table").
 */
export const RECOVERY_WINDOW_DAYS = 35;

export class Storage extends Construct {
  readonly table: Table;
  readonly bucket: Bucket;
  readonly accessLogsBucket: Bucket;

  constructor(scope: Construct, id: string, config: ServiceConfig) {
    super(scope, id);

    this.table = new Table(this, 'Table', {
      partitionKey: { name: TABLE_SCHEMA.partitionKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: {
        pointInTimeRecoveryEnabled: true,
        recoveryPeriodInDays: RECOVERY_WINDOW_DAYS,
      },
      deletionProtection: true,
      timeToLiveAttribute: TABLE_SCHEMA.ttlAttribute,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: TABLE_SCHEMA.byNameIndex,
      partitionKey: { name: TABLE_SCHEMA.byNamePartitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE_SCHEMA.byNameSortKey, type: AttributeType.STRING },
      projectionType: ProjectionType.ALL,
    });

    // Server access logs: who fetched or wrote which object, for audits.
    this.accessLogsBucket = new Bucket(this, 'AccessLogs', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: BucketEncryption.S3_MANAGED,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(365) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.bucket = new Bucket(this, 'Content', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      // SSE-S3: presigned URLs work without KMS grants for every caller.
      encryption: BucketEncryption.S3_MANAGED,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'content-bucket/',
      // The functions delete with plain DeleteObject: on a versioned bucket that leaves a
      // delete marker and keeps the bytes as a noncurrent version for the recovery window.
      versioned: true,
      lifecycleRules: [
        {
          id: 'abort-incomplete-multipart-uploads',
          abortIncompleteMultipartUploadAfter: Duration.days(config.abortIncompleteUploadDays),
        },
        {
          id: 'expire-noncurrent-versions',
          noncurrentVersionExpiration: Duration.days(RECOVERY_WINDOW_DAYS),
          // A marker left with no version behind it is clutter that slows listings.
          expiredObjectDeleteMarker: true,
        },
      ],
      // Browsers PUT parts straight to S3 and must read each part's ETag to complete the upload.
      cors: [
        {
          allowedMethods: [HttpMethods.PUT, HttpMethods.GET, HttpMethods.HEAD],
          allowedOrigins: [...config.corsAllowedOrigins],
          allowedHeaders: ['*'],
          exposedHeaders: ['ETag'],
          maxAge: 3600,
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
