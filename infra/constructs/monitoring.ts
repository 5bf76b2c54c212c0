/**
 * What tells an operator that something is wrong, and where they look first.
 *
 * One SNS topic that every alarm notifies (on ALARM and on OK); the optional
 * `alarmEmail` context value subscribes an address. Alarms: API 5xx as API
 * Gateway counts them and as the error middleware counts them (a failure
 * turned into a 5xx envelope is still a failure), function errors (for the
 * hasher: the failures that are not the client's, since a bad checksum or
 * size ends the upload without an error), uploads the hasher ran out of time
 * on, failed events parked in a queue, Lambda and DynamoDB throttles, and the
 * hasher's duration near its timeout. A dashboard with the graphs an
 * operator opens first.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Operation, type ITable } from 'aws-cdk-lib/aws-dynamodb';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC, UPLOAD_OUTCOMES, uploadMetric } from '../../functions/core/metric-names.js';
import type { ServiceConfig } from '../config.js';

export type FunctionName = 'records' | 'content' | 'hasher' | 'sweeper' | 'capture-authorizer';

export interface MonitoringProps {
  readonly config: ServiceConfig;
  readonly functions: Readonly<Record<FunctionName, IFunction>>;
  readonly hasherTimeout: Duration;
  /** S3 events the hasher gave up on. */
  readonly failureQueue: IQueue;
  /** Sweeper runs the schedule could not deliver. */
  readonly sweepDeadLetters: IQueue;
  readonly httpApi: HttpApi;
  readonly table: ITable;
}

const PERIOD = Duration.minutes(5);
/** The hasher alarms when a run takes this share of its timeout. */
export const HASHER_DURATION_ALARM_RATIO = 0.8;

/** The DynamoDB operations the functions use (infra/constructs/grants.ts), for the throttle alarm. */
const TABLE_OPERATIONS = [
  Operation.GET_ITEM,
  Operation.QUERY,
  Operation.PUT_ITEM,
  Operation.UPDATE_ITEM,
  Operation.DELETE_ITEM,
  Operation.TRANSACT_WRITE_ITEMS,
];

export class Monitoring extends Construct {
  readonly topic: Topic;
  readonly alarms: Alarm[] = [];
  readonly dashboard: Dashboard;
  private readonly action: SnsAction;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { config, functions: fns, httpApi } = props;

    // CloudWatch cannot publish to a topic under the AWS-managed SNS key; this key lets it.
    const key = new Key(this, 'AlarmTopicKey', {
      description: `${config.serviceName}: encrypts the alarm topic`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    key.grant(new ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.topic = new Topic(this, 'AlarmTopic', {
      displayName: `${config.serviceName} alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    if (config.alarmEmail !== undefined) this.topic.addSubscription(new EmailSubscription(config.alarmEmail));
    this.action = new SnsAction(this.topic);

    const own = (metricName: string, statistic = 'Sum'): Metric =>
      new Metric({
        namespace: config.metricsNamespace,
        metricName,
        // Powertools adds the service name as a dimension to every metric.
        dimensionsMap: { service: config.serviceName },
        statistic,
        period: PERIOD,
      });

    // API: what API Gateway counts, and what our error middleware answered with a 5xx envelope.
    this.add('api-5xx', httpApi.metricServerError({ period: PERIOD, statistic: 'Sum' }), 5, 'The API answered 5xx (API Gateway count)');
    this.add(
      'api-server-errors',
      own(METRIC.serverErrors),
      1,
      'An API function answered a 5xx envelope (AWS throttling or an unhandled error); its log has the details',
    );

    for (const [name, fn] of Object.entries(fns)) {
      this.add(
        `${name}-errors`,
        fn.metricErrors({ period: PERIOD, statistic: 'Sum' }),
        1,
        name === 'hasher'
          ? 'The hasher failed on an upload for a reason that is not the client’s (S3 or DynamoDB error, crash); Lambda retries, then parks the event in the failure queue'
          : `The ${name} function failed outside its error handling`,
      );
      this.add(`${name}-throttles`, fn.metricThrottles({ period: PERIOD, statistic: 'Sum' }), 1, `The ${name} function was throttled`);
    }
    this.add(
      'hasher-deadline',
      own(METRIC.hashDeadlineExceeded),
      1,
      'A hasher run reached its deadline without hashing anything new (continuing in a new run is routine, this is not); raise hasherMemoryMb or hasherConcurrency',
    );
    const timeoutMs = props.hasherTimeout.toMilliseconds();
    this.add(
      'hasher-duration',
      fns.hasher.metricDuration({ period: PERIOD, statistic: 'Maximum' }),
      Math.round(timeoutMs * HASHER_DURATION_ALARM_RATIO),
      `A hasher run took ${HASHER_DURATION_ALARM_RATIO * 100}% of its ${timeoutMs / 1000} s timeout: images that large are hashed across several runs (Uploads_continued), each adding a run's start-up and a re-read of its last checkpoint`,
    );
    this.add(
      'failed-events',
      props.failureQueue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' }),
      1,
      'S3 events the hasher gave up on are in the failure queue (docs/deploy.md: re-drive them); the sweeper fails those uploads after its margin',
    );
    this.add(
      'sweep-dead-letters',
      props.sweepDeadLetters.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' }),
      1,
      'EventBridge could not invoke the sweeper (see its dead-letter queue)',
    );
    this.add(
      'table-throttles',
      props.table.metricThrottledRequestsForOperations({ operations: TABLE_OPERATIONS, period: PERIOD }),
      1,
      'DynamoDB throttled requests to the table',
    );

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: `${config.stackName}-${config.serviceName}`,
      defaultInterval: Duration.hours(3),
    });
    const hashedBytes = own(METRIC.hashedBytes);
    this.dashboard.addWidgets(
      graph('Requests', [httpApi.metricCount({ period: PERIOD, statistic: 'Sum', label: 'requests' })]),
      graph('4xx and 5xx', [
        httpApi.metricClientError({ period: PERIOD, statistic: 'Sum', label: '4xx' }),
        httpApi.metricServerError({ period: PERIOD, statistic: 'Sum', label: '5xx' }),
        own(METRIC.serverErrors).with({ label: '5xx envelopes' }),
      ]),
      graph('Latency (ms)', [
        httpApi.metricLatency({ period: PERIOD, statistic: 'p50', label: 'p50' }),
        httpApi.metricLatency({ period: PERIOD, statistic: 'p99', label: 'p99' }),
        httpApi.metricIntegrationLatency({ period: PERIOD, statistic: 'p99', label: 'Lambda p99' }),
      ]),
    );
    this.dashboard.addWidgets(
      graph('Bytes hashed', [hashedBytes.with({ label: 'bytes' })]),
      graph('Hash rate (MB/s)', [
        new MathExpression({
          expression: 'bytes / (ms / 1000) / 1000000',
          usingMetrics: { bytes: hashedBytes, ms: own(METRIC.hashTime) },
          period: PERIOD,
          label: 'MB/s while hashing',
        }),
      ]),
      graph(
        'Uploads by outcome',
        UPLOAD_OUTCOMES.map((o) => own(uploadMetric(o)).with({ label: o })),
      ),
    );
    this.dashboard.addWidgets(
      graph(
        'Function errors and throttles',
        Object.entries(fns).flatMap(([name, fn]) => [
          fn.metricErrors({ period: PERIOD, statistic: 'Sum', label: `${name} errors` }),
          fn.metricThrottles({ period: PERIOD, statistic: 'Sum', label: `${name} throttles` }),
        ]),
      ),
      graph('Hasher duration (ms)', [fns.hasher.metricDuration({ period: PERIOD, statistic: 'Maximum', label: 'max' })]),
      new AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 8, height: 6 }),
    );
  }

  private add(id: string, metric: IMetric, threshold: number, description: string): void {
    const alarm = new Alarm(this, id, {
      metric,
      threshold,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // No traffic is not a failure.
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
    this.alarms.push(alarm);
  }
}

function graph(title: string, metrics: IMetric[]): GraphWidget {
  return new GraphWidget({ title, left: metrics, width: 8, height: 6 });
}
