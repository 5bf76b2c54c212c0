/**
 * Who may call the API. By default a Cognito user pool of our own (admins
 * create users; no self sign-up) with an app client and the admin group;
 * with `jwtIssuer`/`jwtAudience` in context, an existing OIDC provider
 * instead. Either way API Gateway verifies the JWT and the functions read
 * the role from its claims.
 */
import { Duration, Lazy, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { AccountRecovery, Mfa, UserPool, type UserPoolClient, type UserPoolGroup } from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import type { MfaMode, ServiceConfig } from '../config.js';

const MFA: Record<MfaMode, Mfa> = { off: Mfa.OFF, optional: Mfa.OPTIONAL, required: Mfa.REQUIRED };

export interface CognitoResources {
  readonly userPool: UserPool;
  readonly client: UserPoolClient;
  readonly adminGroup: UserPoolGroup;
}

export class Auth extends Construct {
  readonly authorizer: HttpJwtAuthorizer;
  /** Present when the stack owns the user pool (no `jwtIssuer` in context). */
  readonly cognito: CognitoResources | undefined;
  /** App clients whose tokens the API accepts (the console adds its own: allowClient). */
  private readonly audiences: string[] = [];

  constructor(scope: Construct, id: string, config: ServiceConfig) {
    super(scope, id);
    const { auth } = config;

    if (auth.kind === 'oidc') {
      this.cognito = undefined;
      this.authorizer = new HttpJwtAuthorizer('JwtAuthorizer', auth.issuer, { jwtAudience: [...auth.audience] });
      return;
    }

    const userPool = new UserPool(this, 'UserPool', {
      selfSignUpEnabled: false,
      signInAliases: { username: true, email: true },
      signInCaseSensitive: false,
      standardAttributes: { email: { required: false, mutable: true } },
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      mfa: MFA[auth.mfa],
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: AccountRecovery.EMAIL_ONLY,
      // Users and their group memberships outlive the stack, like the data.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const client = userPool.addClient('ApiClient', {
      // USER_PASSWORD_AUTH lets scripts and curl users get a token with the AWS CLI alone.
      authFlows: { userPassword: true, userSrp: true },
      generateSecret: false,
      disableOAuth: true,
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.days(30),
    });

    const adminGroup = userPool.addGroup('AdminGroup', {
      groupName: config.adminGroup,
      description: `${config.serviceName}: may create, change and delete images`,
    });

    this.cognito = { userPool, client, adminGroup };
    // Cognito access tokens carry `client_id` rather than `aud`; API Gateway checks either against the audience.
    const issuer = `https://cognito-idp.${Stack.of(this).region}.amazonaws.com/${userPool.userPoolId}`;
    this.audiences.push(client.userPoolClientId);
    this.authorizer = new HttpJwtAuthorizer('JwtAuthorizer', issuer, {
      jwtAudience: Lazy.list({ produce: () => this.audiences }),
    });
  }

  /** Accepts tokens issued to another app client of the stack's pool (the console's). */
  allowClient(clientId: string): void {
    this.audiences.push(clientId);
  }
}
