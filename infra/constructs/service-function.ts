/**
 * The one Lambda construct: every function of the service gets the same
 * runtime, architecture, bundling, logging and tracing from here, and a role
 * of its own that starts with nothing but its log group; the stack adds the
 * few grants each function needs.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, type IDestination, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  ALIASES,
  type FunctionName,
  LAMBDA_RUNTIME,
  LOCK_FILE,
  MAIN_FIELDS,
  REPO_ROOT,
  REQUIRE_BANNER,
  entryOf,
} from '../bundling.js';
import type { ServiceConfig } from '../config.js';

export interface AsyncInvokeOptions {
  readonly retryAttempts: number;
  readonly maxEventAge: Duration;
  readonly onFailure: IDestination;
}

export interface ServiceFunctionProps {
  readonly name: FunctionName;
  readonly description: string;
  readonly config: ServiceConfig;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly environment: Readonly<Record<string, string>>;
  /** For functions invoked asynchronously (S3 events): bounded retries and where failed events go. */
  readonly asyncInvoke?: AsyncInvokeOptions;
}

export class ServiceFunction extends Construct {
  readonly function: NodejsFunction;
  readonly logGroup: LogGroup;
  readonly role: Role;

  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    super(scope, id);
    const { config } = props;

    this.logGroup = new LogGroup(this, 'Logs', {
      retention: config.logRetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // Our own role instead of the default one, which would carry the managed
    // AWSLambdaBasicExecutionRole (logs:* on every log group).
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `${config.serviceName} ${props.name} function`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: entryOf(props.name),
      handler: 'handler',
      description: props.description,
      runtime: LAMBDA_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      tracing: Tracing.ACTIVE,
      environment: {
        POWERTOOLS_SERVICE_NAME: config.serviceName,
        POWERTOOLS_LOG_LEVEL: config.logLevel,
        POWERTOOLS_METRICS_NAMESPACE: 'ImageService',
        // Stack traces in the logs point into functions/*.ts, not the minified bundle.
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      depsLockFilePath: LOCK_FILE,
      projectRoot: REPO_ROOT,
      bundling: {
        format: OutputFormat.ESM,
        mainFields: MAIN_FIELDS,
        banner: REQUIRE_BANNER,
        minify: true,
        sourceMap: true,
        // The runtime's SDK lags and changes under us; bundle the versions we test with.
        bundleAwsSDK: true,
        // NodejsFunction runs esbuild in projectRoot, so the relative alias paths resolve the same.
        esbuildArgs: { '--alias': Object.entries(ALIASES).map(([from, to]) => `${from}=${to}`) },
      },
      ...(props.asyncInvoke ?? {}),
    });
  }
}
