/**
 * The one Lambda construct: every function of the service gets the same
 * runtime, architecture, bundling and logging from here, and a role of its
 * own that starts with nothing but its log group; the stack adds the few
 * grants each function needs.
 *
 * X-Ray tracing is off, on purpose and everywhere: HTTP APIs do not take part
 * in X-Ray, and instrumenting the SDK clients (Powertools Tracer) would put
 * aws-xray-sdk-core into every bundle's cold start for traces of a few
 * DynamoDB calls. Latency is watched through API Gateway's and Lambda's own
 * metrics and the structured logs (docs/deploy.md, "Watching it run").
 */
import { type Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, type IDestination, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  ALIASES,
  FUNCTION_WORKERS,
  type FunctionName,
  LAMBDA_RUNTIME_NAME,
  LOCK_FILE,
  MAIN_FIELDS,
  REPO_ROOT,
  REQUIRE_BANNER,
  entryOf,
  workerBuildCommand,
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
  /** Concurrency set aside for (and limiting) this function. */
  readonly reservedConcurrentExecutions?: number;
}

/** CDK's Runtime of that name (infra/bundling.ts keeps the name, free of CDK). */
function lambdaRuntime(): Runtime {
  const runtime = Runtime.ALL.find((r) => r.name === LAMBDA_RUNTIME_NAME);
  if (!runtime) throw new Error(`aws-cdk-lib knows no Lambda runtime ${LAMBDA_RUNTIME_NAME}`);
  return runtime;
}

export class ServiceFunction extends Construct {
  readonly function: NodejsFunction;
  readonly logGroup: LogGroup;
  readonly role: Role;

  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    super(scope, id);
    const { config } = props;

    // Logs outlive the stack: after a deletion they are still there to say what happened.
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: config.logRetentionDays,
      removalPolicy: RemovalPolicy.RETAIN,
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
      runtime: lambdaRuntime(),
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      tracing: Tracing.DISABLED,
      ...(props.reservedConcurrentExecutions !== undefined ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions } : {}),
      // Read by functions/core/config.ts; the alarms and dashboard use the same two values.
      environment: {
        POWERTOOLS_SERVICE_NAME: config.serviceName,
        POWERTOOLS_LOG_LEVEL: config.logLevel,
        POWERTOOLS_METRICS_NAMESPACE: config.metricsNamespace,
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
        // The worker threads' scripts, each beside index.mjs (infra/bundling.ts, FUNCTION_WORKERS).
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir, outputDir) =>
            FUNCTION_WORKERS[props.name].map((script) => workerBuildCommand(script, inputDir, outputDir)),
        },
      },
      ...(props.asyncInvoke ?? {}),
    });
  }
}
