/**
 * CDK entry (`cdk.json`: `npx tsx infra/app.ts`). Without an account in the
 * environment the stack is environment-agnostic, so `cdk synth` works offline.
 */
import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadConfig } from './config.js';
import { ImageServiceStack } from './image-service-stack.js';

const app = new App();
const config = loadConfig(app.node);
const account = process.env.CDK_DEFAULT_ACCOUNT;
const region = process.env.CDK_DEFAULT_REGION;

const stack = new ImageServiceStack(app, config.stackName, {
  config,
  description: 'Image Service: Image object API on Lambda, DynamoDB and S3',
  ...(account && region ? { env: { account, region } } : {}),
});
Tags.of(stack).add('service', config.serviceName);

// Every synth and deploy is checked; an unacknowledged error stops it.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
