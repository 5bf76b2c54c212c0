/** The deployed console: private bucket behind CloudFront (OAC), the API on the same origin, Cognito hosted UI. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { App } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { parseConfig } from '../../console/src/config.js';
import type { ImageServiceStack } from '../../infra/image-service-stack.js';
import { buildStack, logicalId } from './helpers.js';

let template: Template;
let stack: ImageServiceStack;
let app: App;
beforeAll(() => {
  ({ template, stack, app } = buildStack());
});

type Behavior = Record<string, unknown>;
const distributionConfig = (): { DefaultCacheBehavior: Behavior; CacheBehaviors: Behavior[]; Origins: Record<string, unknown>[] } =>
  (
    template.findResources('AWS::CloudFront::Distribution')[logicalId(stack.console!.distribution)]!.Properties as {
      DistributionConfig: ReturnType<typeof distributionConfig>;
    }
  ).DistributionConfig;

describe('console site', () => {
  it('keeps the files in a private bucket that only CloudFront reads, through origin access control', () => {
    const bucket = logicalId(stack.console!.bucket);
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
    template.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucket },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Allow', Action: 's3:GetObject', Principal: { Service: 'cloudfront.amazonaws.com' } }),
        ]),
      },
    });
    const config = distributionConfig();
    expect(config.DefaultCacheBehavior).toMatchObject({ ViewerProtocolPolicy: 'redirect-to-https' });
    expect(config.DefaultCacheBehavior['ResponseHeadersPolicyId']).toBeDefined();
  });

  it('routes /api/* to the HTTP API uncached with the viewer headers, and openapi.json to the bucket', () => {
    const behaviors = distributionConfig().CacheBehaviors;
    expect(behaviors.map((b) => b['PathPattern'])).toEqual(['/api/v1/openapi.json', '/api/*']);
    const api = behaviors[1]!;
    expect(api['AllowedMethods']).toEqual(expect.arrayContaining(['GET', 'PUT', 'POST', 'PATCH', 'DELETE']));
    expect(api['CachePolicyId']).toBe('4135ea2d-6df8-44a3-9df3-4b5a84be39ad'); // CachingDisabled
    expect(api['OriginRequestPolicyId']).toBe('b689b0a8-53d0-40ab-baf2-68738e2966ac'); // AllViewerExceptHostHeader
    const origins = distributionConfig().Origins;
    const apiOrigin = origins.find((o) => o['Id'] === api['TargetOriginId'])!;
    expect(JSON.stringify(apiOrigin['DomainName'])).toContain(logicalId(stack.api.httpApi));
    expect(apiOrigin['CustomOriginConfig']).toMatchObject({ OriginProtocolPolicy: 'https-only' });
    expect(behaviors[0]!['TargetOriginId']).toBe(distributionConfig().DefaultCacheBehavior['TargetOriginId']);
  });

  it('signs in through the hosted UI: a public client with the code flow, back to the console', () => {
    const client = logicalId(stack.console!.client!);
    const props = template.findResources('AWS::Cognito::UserPoolClient')[client]!.Properties as Record<string, unknown>;
    expect(props).toMatchObject({ AllowedOAuthFlows: ['code'], AllowedOAuthFlowsUserPoolClient: true, GenerateSecret: false });
    expect(JSON.stringify(props['CallbackURLs'])).toContain(logicalId(stack.console!.distribution));
    template.resourceCountIs('AWS::Cognito::UserPoolDomain', 1);
  });

  it("writes config.json telling the page to use Cognito, and invalidates the distribution's cache", () => {
    const deployments = Object.values(template.findResources('Custom::CDKBucketDeployment'));
    expect(deployments).toHaveLength(1);
    const props = deployments[0]!.Properties as Record<string, unknown>;
    const markers = JSON.stringify(props['SourceMarkers']);
    expect(markers).toContain(logicalId(stack.console!.client!));
    expect(props['DistributionPaths']).toEqual(['/*']);
  });

  it('writes a config.json that the page reads as Cognito sign-in on the hosted UI domain, with the console client', () => {
    const props = Object.values(template.findResources('Custom::CDKBucketDeployment'))[0]!.Properties as {
      SourceObjectKeys: string[];
      SourceMarkers: Record<string, { Ref: string }>[];
    };
    // Source.jsonData stages the file with markers for the deploy-time values, which the deployment fills in.
    const index = props.SourceMarkers.findIndex((markers) => Object.keys(markers).length > 0);
    const file = join(app.synth().directory, `asset.${props.SourceObjectKeys[index]!.replace(/\.zip$/, '')}`, 'config.json');
    const deployed: Record<string, string> = {
      [logicalId(stack.console!.domain!)]: 'image-service-123456789012',
      'AWS::Region': 'eu-west-1',
      [logicalId(stack.console!.client!)]: 'consoleclientid',
    };
    let text = readFileSync(file, 'utf8');
    for (const [marker, value] of Object.entries(props.SourceMarkers[index]!)) {
      expect(deployed, `marker for ${value.Ref}`).toHaveProperty([value.Ref]);
      text = text.replaceAll(marker, deployed[value.Ref]!);
    }
    expect(parseConfig(JSON.parse(text))).toEqual({
      api: '/api/v1',
      auth: {
        kind: 'cognito',
        domain: 'https://image-service-123456789012.auth.eu-west-1.amazoncognito.com',
        clientId: 'consoleclientid',
        scopes: ['openid', 'profile', 'email'],
      },
      groupsClaim: 'cognito:groups',
      adminGroup: 'admins',
      userClaim: 'username',
    });
  });

  it('with an external OIDC issuer, asks for a pasted token instead', () => {
    const { template: oidc } = buildStack({ context: { jwtIssuer: 'https://login.example.org/realms/c', jwtAudience: 'image-service' } });
    oidc.resourceCountIs('AWS::Cognito::UserPoolClient', 0);
    oidc.resourceCountIs('AWS::CloudFront::Distribution', 1);
  });
});
