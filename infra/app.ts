/**
 * CDK entry (`cdk.json`: `npx tsx infra/app.ts`). The stack is
 * environment-agnostic (it looks nothing up), so `cdk synth` works offline
 * and produces the same template that `cdk deploy` sends to whichever
 * account and region the caller's credentials name.
 */
import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { join } from 'node:path';
import { writeConsole } from '../console/build.js';
import { REPO_ROOT } from './bundling.js';
import { loadConfig } from './config.js';
import { ImageServiceStack } from './image-service-stack.js';

const app = new App();
const config = loadConfig(app.node);

// The console's files, with openapi.json, built fresh for every synth.
const consoleDir = join(REPO_ROOT, 'console', 'dist');
await writeConsole(consoleDir);

const stack = new ImageServiceStack(app, config.stackName, {
  config,
  consoleDir,
  description: 'Image Service: Image object API on Lambda, DynamoDB and S3',
});
Tags.of(stack).add('service', config.serviceName);

// Every synth and deploy is checked; an unacknowledged error stops it.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
