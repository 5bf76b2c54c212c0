/**
 * The HTTP API: exactly the routes of functions/routes.ts plus `$default`,
 * every one behind the JWT authorizer but the capture routes, which are
 * behind the capture authorizer (a capture job's credential, nothing else),
 * so nothing invokes a Lambda without a valid token or credential. `$default` lets the records function answer an unknown path
 * (with a valid token) with a 404 in the API's envelope; without a token API
 * Gateway answers 401 itself. One stage, throttled, with JSON access logs.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  HttpRoute,
  HttpRouteKey,
  HttpStage,
  type IHttpRouteAuthorizer,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { API_BASE, type ApiFunction, ROUTES, type Route, routeKey } from '../../functions/routes.js';
import type { ServiceConfig } from '../config.js';

export interface ApiProps {
  readonly config: ServiceConfig;
  readonly authorizer: IHttpRouteAuthorizer;
  /** The REQUEST authorizer of the capture routes. */
  readonly captureAuthorizer: IHttpRouteAuthorizer;
  readonly handlers: Readonly<Record<ApiFunction, IFunction>>;
}

/** One JSON object per request; HTTP API $context variables. */
const ACCESS_LOG_FIELDS: Readonly<Record<string, string>> = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  ip: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  method: '$context.httpMethod',
  path: '$context.path',
  routeKey: '$context.routeKey',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  latencyMs: '$context.responseLatency',
  integrationLatencyMs: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
  sub: '$context.authorizer.claims.sub',
};

export class Api extends Construct {
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;
  readonly routes: HttpRoute[] = [];
  readonly defaultRoute: HttpRoute;
  /** Base URL of the service, ending in API_BASE. */
  readonly baseUrl: string;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const { config } = props;

    this.httpApi = new HttpApi(this, 'HttpApi', {
      apiName: config.serviceName,
      description: `${config.serviceName}: Image object API`,
      createDefaultStage: false,
    });

    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: config.logRetentionDays,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      // Every route, $default included: a flood of requests stops here, before Lambda and DynamoDB.
      throttle: { rateLimit: config.throttleRateLimit, burstLimit: config.throttleBurstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });

    const integrations: Record<ApiFunction, HttpLambdaIntegration> = {
      records: new HttpLambdaIntegration('RecordsIntegration', props.handlers.records),
      content: new HttpLambdaIntegration('ContentIntegration', props.handlers.content),
    };

    for (const route of ROUTES as readonly Route[]) {
      const path = `${API_BASE}${route.path}`;
      const httpRoute = new HttpRoute(this, routeKey(route).replace(/[^A-Za-z0-9]+/g, '-'), {
        httpApi: this.httpApi,
        routeKey: HttpRouteKey.with(path, HttpMethod[route.method]),
        integration: integrations[route.fn],
        authorizer: route.capture !== undefined ? props.captureAuthorizer : props.authorizer,
      });
      this.routes.push(httpRoute);
    }

    // Unknown paths: with a valid token the envelope's 404 (or 405), without one API Gateway's 401.
    this.defaultRoute = new HttpRoute(this, 'DefaultRoute', {
      httpApi: this.httpApi,
      routeKey: HttpRouteKey.DEFAULT,
      integration: integrations.records,
      authorizer: props.authorizer,
    });

    this.baseUrl = `${this.httpApi.apiEndpoint}${API_BASE}`;
  }
}
