/**
 * CDK entry (`cdk.json`: `npx tsx infra/app.ts`). The stack is
 * environment-agnostic (it looks nothing up), so `cdk synth` works offline
 * and produces the same template that `cdk deploy` sends to whichever
 * account and region the caller's credentials name.
 */
import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadConfig } from './config.js';
import { ImageServiceStack } from './image-service-stack.js';

const app = new App();
const config = loadConfig(app.node);

const stack = new ImageServiceStack(app, config.stackName, {
  config,
  description: 'Image Service: Image object API on Lambda, DynamoDB and S3',
});
Tags.of(stack).add('service', config.serviceName);

// Every synth and deploy is checked; an unacknowledged error stops it.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
