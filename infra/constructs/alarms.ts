/**
 * Alarms an operator needs to know about without looking: any function error
 * or throttle, an S3 event that ended in the failure queue (an upload that was
 * never hashed), and API 5xx responses. With `alarmTopicArn` in context each
 * alarm notifies that SNS topic; otherwise they show in the console only.
 */
import { Duration } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { Alarm, ComparisonOperator, type IAlarmAction, type Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface AlarmsProps {
  readonly functions: Readonly<Record<string, IFunction>>;
  readonly failureQueue: IQueue;
  readonly httpApi: HttpApi;
  readonly alarmTopicArn: string | undefined;
}

const PERIOD = Duration.minutes(5);

export class Alarms extends Construct {
  readonly alarms: Alarm[] = [];
  private readonly action: IAlarmAction | undefined;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    this.action =
      props.alarmTopicArn === undefined
        ? undefined
        : new SnsAction(Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn));

    for (const [name, fn] of Object.entries(props.functions)) {
      this.add(`${name}-errors`, fn.metricErrors({ period: PERIOD, statistic: 'Sum' }), 1, `${name} function errors`);
      this.add(
        `${name}-throttles`,
        fn.metricThrottles({ period: PERIOD, statistic: 'Sum' }),
        1,
        `${name} function throttled`,
      );
    }
    this.add(
      'failed-events',
      props.failureQueue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' }),
      1,
      'S3 events the hasher gave up on (see the failure queue); the sweeper fails those uploads after 7 hours',
    );
    this.add(
      'api-5xx',
      props.httpApi.metricServerError({ period: PERIOD, statistic: 'Sum' }),
      5,
      'API answered 5xx',
    );
  }

  private add(id: string, metric: Metric, threshold: number, description: string): void {
    const alarm = new Alarm(this, id, {
      metric,
      threshold,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // No traffic is not a failure.
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
    if (this.action) alarm.addAlarmAction(this.action);
    this.alarms.push(alarm);
  }
}
