/**
 * cdk-nag's AwsSolutions pack over the whole app, as `cdk synth` runs it:
 * no unacknowledged error, and every acknowledgement says why.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type App, Validations } from 'aws-cdk-lib';
import type { PolicyValidationPluginReport } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { buildStack } from './helpers.js';
import { CONTENT_PREFIX } from '../../functions/core/db/schema.js';

const ACK_KEY = Validations.ACKNOWLEDGED_RULES_METADATA_KEY;

interface Acknowledged {
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}

function acknowledgements(root: IConstruct): Acknowledged[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === ACK_KEY)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, unknown>).map(([id, v]) => ({
          path: c.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason: typeof v === 'string' ? v : JSON.stringify(v),
        })),
      ),
  );
}

function check(context: Record<string, unknown> = {}): { report: PolicyValidationPluginReport; app: App } {
  const { app } = buildStack({ context });
  // Registered as app.ts does: synthesis itself fails on an unacknowledged error.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  app.synth();
  return { report: new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(app), app };
}

const describeFindings = (report: PolicyValidationPluginReport, severity: string): string[] =>
  report.violations
    .filter((v) => v.severity === severity)
    .map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}: ${v.description}`);

describe('cdk-nag AwsSolutions', () => {
  let report: PolicyValidationPluginReport;
  let app: App;
  beforeAll(() => {
    ({ report, app } = check());
  });

  it('reports no unacknowledged errors', () => {
    expect(describeFindings(report, 'error')).toEqual([]);
  });

  it('reports no unacknowledged warnings either', () => {
    expect(describeFindings(report, 'warning')).toEqual([]);
  });

  it('every acknowledgement names one rule (and finding) and gives a specific reason', () => {
    const acks = acknowledgements(app).filter((a) => a.id.startsWith('AwsSolutions-'));
    console.log(acks.map((a) => `${a.id} @ ${a.path}\n    ${a.reason}`).join('\n'));
    expect(acks.length).toBeGreaterThan(0);
    for (const a of acks) {
      expect(a.id).toMatch(/^AwsSolutions-[A-Z]+\d+(\[.+\])?$/);
      expect(a.reason.length, a.id).toBeGreaterThan(60);
    }
    // IAM5 on our functions only for the one narrow finding: the content/ prefix (tracing is off).
    // (CDK's BucketDeployment handler, which deploys the console, is granted by aws-cdk-lib: infra/nag.ts.)
    const iam5 = new Set(
      acks
        .filter((a) => a.id.startsWith('AwsSolutions-IAM5') && !a.path.includes('/Custom::CDKBucketDeployment'))
        .map((a) => a.id.replace(/<[^>]+>/, '<bucket>')),
    );
    expect([...iam5].sort()).toEqual([`AwsSolutions-IAM5[Resource::<bucket>/${CONTENT_PREFIX}*]`]);
    // Every route has an authorizer: nothing to acknowledge for APIG4.
    expect(acks.filter((a) => a.id.startsWith('AwsSolutions-APIG4'))).toEqual([]);
  });

  it('also passes with an external OIDC issuer and enforced settings', () => {
    const oidc = check({ jwtIssuer: 'https://login.example.org/realms/cluster', jwtAudience: 'image-service' }).report;
    expect(describeFindings(oidc, 'error')).toEqual([]);
    const mfa = check({ mfa: 'required' }).report;
    expect(describeFindings(mfa, 'error')).toEqual([]);
    expect(describeFindings(mfa, 'warning')).toEqual([]);
  });
});
