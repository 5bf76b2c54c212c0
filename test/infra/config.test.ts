/**
 * Typed context: defaults, `-c key=value` strings, and synth-time errors
 * that name the bad setting. Also the OIDC variant of the stack.
 */
import { describe, expect, it } from 'vitest';
import { App } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { DEFAULTS, loadConfig } from '../../infra/config.js';
import { buildStack, cdkJson } from './helpers.js';

const load = (context: Record<string, unknown>) => loadConfig(new App({ context }).node);

describe('context settings', () => {
  it('has a default for everything, and Cognito auth with optional MFA', () => {
    expect(load({})).toMatchObject({
      ...Object.fromEntries(Object.entries(DEFAULTS).filter(([k]) => k !== 'mfa')),
      auth: { kind: 'cognito', mfa: 'optional' },
      alarmEmail: undefined,
    });
  });

  it('reads -c strings as numbers and lists', () => {
    const c = load({ hasherMemoryMb: '2048', abortIncompleteUploadDays: '7', corsAllowedOrigins: 'https://a.example, https://b.example' });
    expect(c.hasherMemoryMb).toBe(2048);
    expect(c.abortIncompleteUploadDays).toBe(7);
    expect(c.corsAllowedOrigins).toEqual(['https://a.example', 'https://b.example']);
  });

  it('switches to an external OIDC issuer when jwtIssuer is given', () => {
    expect(load({ jwtIssuer: 'https://idp.example/realms/x', jwtAudience: ['a', 'b'] }).auth).toEqual({
      kind: 'oidc',
      issuer: 'https://idp.example/realms/x',
      audience: ['a', 'b'],
    });
  });

  it.each([
    [{ logRetentionDays: 13 }, /logRetentionDays/],
    [{ hasherRetryAttempts: 3 }, /hasherRetryAttempts/],
    [{ defaultPartSize: 1024 }, /defaultPartSize/],
    [{ uploadUrlExpirySeconds: '1h' }, /uploadUrlExpirySeconds/],
    [{ uploadUrlExpirySeconds: 604_800 }, /uploadUrlExpirySeconds/],
    [{ mfa: 'sometimes' }, /mfa/],
    [{ jwtIssuer: 'https://idp.example' }, /jwtAudience/],
    [{ jwtIssuer: 'http://idp.example', jwtAudience: 'a' }, /jwtIssuer/],
    [{ hasherConcurrency: 64, hasherRangeSize: 64 * 1024 * 1024 }, /hasherMemoryMb/],
    [{ alarmEmail: 'ops' }, /alarmEmail/],
    [{ throttleRateLimit: 100, throttleBurstLimit: 50 }, /throttleBurstLimit/],
    [{ hasherReservedConcurrency: 0 }, /hasherReservedConcurrency/],
    [{ metricsNamespace: 'has space' }, /metricsNamespace/],
  ])('rejects %j', (context, message) => {
    expect(() => load(context)).toThrow(message);
  });

  it('cdk.json runs the app with tsx and sets no deployment setting of its own', () => {
    const json = cdkJson();
    expect(json.app).toBe('npx tsx infra/app.ts');
    const settings = Object.keys(json.context).filter((k) => !k.startsWith('@aws-cdk'));
    expect(settings).toEqual([]);
  });
});

describe('stack variants', { timeout: 180_000 }, () => {
  it('with jwtIssuer: no user pool, the authorizer trusts the given issuer and audience', () => {
    const { template } = buildStack({
      context: {
        jwtIssuer: 'https://login.example.org/realms/cluster',
        jwtAudience: 'image-service',
        groupsClaim: 'groups',
        userClaim: 'preferred_username',
      },
    });
    template.resourceCountIs('AWS::Cognito::UserPool', 0);
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      JwtConfiguration: { Issuer: 'https://login.example.org/realms/cluster', Audience: ['image-service'] },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { GROUPS_CLAIM: 'groups', USER_CLAIM: 'preferred_username' } },
    });
    expect(Object.keys(template.findOutputs('*'))).not.toContain('UserPoolId');
  });

  it('context reaches the resources: retention, lifecycle days, memory, retries, throttling, alarm email', () => {
    const { template } = buildStack({
      context: {
        logRetentionDays: '30',
        abortIncompleteUploadDays: '5',
        hasherMemoryMb: '3008',
        hasherRetryAttempts: '1',
        throttleRateLimit: '10',
        throttleBurstLimit: '20',
        alarmEmail: 'ops@example.org',
        hasherReservedConcurrency: '3',
        mfa: 'required',
      },
    });
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 5 } })]),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', { MemorySize: 3008, Timeout: 900 });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 1 });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.org' });
    template.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 3 });
    template.hasResourceProperties('AWS::Cognito::UserPool', { MfaConfiguration: 'ON' });
  });
});
