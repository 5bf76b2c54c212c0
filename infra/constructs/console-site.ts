/**
 * The web console, deployed: its static files (console/build.ts) in a private
 * bucket behind CloudFront with origin access control, and the API behind the
 * same distribution under /api/*. One origin for the page and the API, so the
 * HTTP API needs no CORS at all and the token never crosses origins; only the
 * content bucket, which browsers reach through presigned URLs, gets a CORS
 * rule for this origin (added by the stack). /api/v1/openapi.json is the
 * static description from the bucket: no Lambda runs for it.
 *
 * With the stack's own Cognito pool, the console signs in through the hosted
 * UI (authorization code + PKCE, a public client); config.json tells the page.
 */
import { Aws, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  AllowedMethods,
  CachePolicy,
  Distribution,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  OriginProtocolPolicy,
  OriginRequestPolicy,
  ResponseHeadersPolicy,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin, S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { OAuthScope, type UserPool, type UserPoolClient, type UserPoolDomain } from 'aws-cdk-lib/aws-cognito';
import { BlockPublicAccess, Bucket, BucketEncryption, type IBucket, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { BucketDeployment, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { API_BASE } from '../../functions/routes.js';
import type { ServiceConfig } from '../config.js';

/**
 * The pages' Content-Security-Policy: parts go to and downloads come from S3
 * presigned URLs; Cognito's token and revocation endpoints on sign-in and
 * sign-out. test/browser/console.test.ts runs the console and the reference
 * page under it.
 */
export const CONSOLE_CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; " +
  "connect-src 'self' https://*.amazonaws.com https://*.amazoncognito.com; frame-ancestors 'none'; base-uri 'self'";

export interface ConsoleSiteProps {
  readonly config: ServiceConfig;
  readonly httpApi: IHttpApi;
  /** The built console (`npm run build:console` writes console/dist). */
  readonly siteDir: string;
  /** Where the site bucket's server access logs go. */
  readonly accessLogsBucket: IBucket;
  /** The stack's user pool: the console then signs in through its hosted UI. */
  readonly userPool?: UserPool;
}

export class ConsoleSite extends Construct {
  readonly bucket: Bucket;
  readonly distribution: Distribution;
  readonly deployment: BucketDeployment;
  /** https://<distribution domain> */
  readonly origin: string;
  readonly client: UserPoolClient | undefined;
  readonly domain: UserPoolDomain | undefined;

  constructor(scope: Construct, id: string, props: ConsoleSiteProps) {
    super(scope, id);
    const { config } = props;

    this.bucket = new Bucket(this, 'Site', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: BucketEncryption.S3_MANAGED,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: 'console-bucket/',
      // Only build output: nothing here that a redeploy does not restore.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const site = S3BucketOrigin.withOriginAccessControl(this.bucket);

    const headers = new ResponseHeadersPolicy(this, 'Headers', {
      comment: `${config.serviceName}: console security headers`,
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: CONSOLE_CSP, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(365), includeSubdomains: true, override: true },
      },
    });

    const apiDomain = `${props.httpApi.apiId}.execute-api.${Stack.of(this).region}.${Aws.URL_SUFFIX}`;
    this.distribution = new Distribution(this, 'Distribution', {
      comment: `${config.serviceName}: web console and API`,
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: site,
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        cachePolicy: CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: headers,
      },
      additionalBehaviors: {
        // More specific than /api/*: CloudFront takes the first pattern that matches, in this order.
        [`${API_BASE}/openapi.json`]: {
          origin: site,
          viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
          cachePolicy: CachePolicy.CACHING_OPTIMIZED,
        },
        '/api/*': {
          origin: new HttpOrigin(apiDomain, { protocolPolicy: OriginProtocolPolicy.HTTPS_ONLY }),
          viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
          allowedMethods: AllowedMethods.ALLOW_ALL,
          cachePolicy: CachePolicy.CACHING_DISABLED,
          // Authorization and the query go through; Host must be the API's own.
          originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        },
      },
    });
    this.origin = `https://${this.distribution.distributionDomainName}`;

    let auth: Record<string, unknown> = { kind: 'token' };
    if (props.userPool) {
      this.domain = props.userPool.addDomain('ConsoleDomain', {
        cognitoDomain: { domainPrefix: `${config.serviceName.toLowerCase().replace(/[^a-z0-9-]/g, '-')}-${Aws.ACCOUNT_ID}` },
      });
      this.client = props.userPool.addClient('ConsoleClient', {
        generateSecret: false,
        authFlows: {},
        oAuth: {
          flows: { authorizationCodeGrant: true },
          scopes: [OAuthScope.OPENID, OAuthScope.PROFILE, OAuthScope.EMAIL],
          callbackUrls: [`${this.origin}/`],
          logoutUrls: [`${this.origin}/`],
        },
        preventUserExistenceErrors: true,
        enableTokenRevocation: true,
        accessTokenValidity: Duration.hours(1),
        idTokenValidity: Duration.hours(1),
        refreshTokenValidity: Duration.days(1),
      });
      auth = {
        kind: 'cognito',
        domain: this.domain.baseUrl(),
        clientId: this.client.userPoolClientId,
        scopes: ['openid', 'profile', 'email'],
      };
    }

    this.deployment = new BucketDeployment(this, 'Deploy', {
      destinationBucket: this.bucket,
      sources: [
        Source.asset(props.siteDir),
        Source.jsonData('config.json', {
          api: API_BASE,
          auth,
          groupsClaim: config.groupsClaim,
          adminGroup: config.adminGroup,
          userClaim: config.userClaim,
        }),
      ],
      distribution: this.distribution,
      distributionPaths: ['/*'],
      memoryLimit: 512,
      // Its handler's logs kept as every log group of the stack's (docs/deploy.md): retained, with the configured retention.
      logGroup: new LogGroup(this, 'DeployLogs', { retention: config.logRetentionDays, removalPolicy: RemovalPolicy.RETAIN }),
    });
  }
}
