/**
 * Builds the stack the way `cdk synth` does (same feature flags from cdk.json,
 * same context handling), for assertions and cdk-nag in memory.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { REPO_ROOT } from '../../infra/bundling.js';
import { loadConfig } from '../../infra/config.js';
import { ImageServiceStack } from '../../infra/image-service-stack.js';

export interface CdkJson {
  readonly app: string;
  readonly context: Record<string, unknown>;
}

export const cdkJson = (): CdkJson => JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as CdkJson;

let fixture: string | undefined;
/** A stand-in for the built console: the template does not depend on the files' contents. */
export function consoleFixture(): string {
  if (!fixture) {
    fixture = mkdtempSync(join(tmpdir(), 'console-site-'));
    writeFileSync(join(fixture, 'index.html'), '<!doctype html><title>console</title>');
  }
  return fixture;
}

export interface BuildOptions {
  /** Extra context, as `-c key=value` would give it. */
  readonly context?: Record<string, unknown>;
  /** Run esbuild for the functions (slow); assertions on the template do not need it. */
  readonly bundle?: boolean;
}

export interface Built {
  readonly app: App;
  readonly stack: ImageServiceStack;
  readonly template: Template;
}

export function buildStack(options: BuildOptions = {}): Built {
  const app = new App({
    context: {
      ...cdkJson().context,
      // The CLI's way of skipping asset bundling for stacks it does not deploy.
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...options.context,
    },
  });
  const stack = new ImageServiceStack(app, 'ImageService', { config: loadConfig(app.node), consoleDir: consoleFixture() });
  return { app, stack, template: Template.fromStack(stack) };
}

export const logicalId = (scope: IConstruct): string => {
  const child = scope.node.defaultChild;
  if (!child) throw new Error(`${scope.node.path} has no default child`);
  return Stack.of(scope).getLogicalId(child as CfnElement);
};

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: Json;
}

/** Every (action, resource) an identity policy attached to the role allows; resources as JSON. */
export function allowedPairs(template: Template, roleLogicalId: string): Set<string> {
  const pairs = new Set<string>();
  const policies = template.findResources('AWS::IAM::Policy');
  for (const policy of Object.values(policies)) {
    const props = policy.Properties as { Roles: Json[]; PolicyDocument: { Statement: Statement[] } };
    if (!props.Roles.some((r) => JSON.stringify(r) === JSON.stringify({ Ref: roleLogicalId }))) continue;
    for (const s of props.PolicyDocument.Statement) {
      if (s.Effect !== 'Allow') continue;
      const actions = Array.isArray(s.Action) ? s.Action : [s.Action];
      const resources = Array.isArray(s.Resource) ? s.Resource : [s.Resource];
      for (const a of actions) for (const r of resources) pairs.add(`${a} ${JSON.stringify(r)}`);
    }
  }
  return pairs;
}

export const arnOf = (id: string): Json => ({ 'Fn::GetAtt': [id, 'Arn'] });
export const arnWith = (id: string, suffix: string): Json => ({ 'Fn::Join': ['', [arnOf(id), suffix]] });
export const pair = (action: string, resource: Json): string => `${action} ${JSON.stringify(resource)}`;
