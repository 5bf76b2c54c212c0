/**
 * Literal trait keys in the AWS SDK's generated schemas, so that esbuild can
 * tree-shake them (aws/aws-sdk-js-v3#7607).
 *
 * Each client's `dist-es/schemas/schemas_0.js` declares every shape of its
 * service as a top-level constant, with traits written as computed keys over
 * module constants: `{ [_hH]: _xarp }` where `const _hH = "httpHeader"`.
 * esbuild cannot prove a computed key free of side effects, so it keeps every
 * shape of the service, used or not: about 55 KiB of S3's in each function
 * that talks to S3. With the key written as the literal it stands for
 * (`{ "httpHeader": _xarp }`, the same object) esbuild drops what is unused.
 * smithy-lang/smithy-typescript#1889 makes the same change in the generator.
 *
 * `npm run sdk-patches` rewrites the installed clients and records the result
 * with patch-package (patches/@aws-sdk+client-*.patch), which `npm install`
 * applies. Run it again after upgrading the SDK; test/infra/bundles.test.ts
 * fails while the patches are missing.
 *
 *   npm run sdk-patches    (infra/write-sdk-patches.ts)
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './bundling.js';

/** The SDK clients the functions bundle. */
export const PATCHED_CLIENTS = ['@aws-sdk/client-s3', '@aws-sdk/client-dynamodb'] as const;

export interface Rewrite {
  readonly code: string;
  /** Computed keys replaced by literals. */
  readonly replaced: number;
}

/**
 * A module-level `const _x = "...";`: the only bindings a key is replaced for.
 * The generated modules declare nothing else named `_x` (no parameter or local
 * shadows one); the bundle tests and test/integration/bundles.test.ts run the
 * result.
 */
const STRING_CONSTANT = /^const (_\w+) = ("(?:[^"\\\n]|\\.)*");$/gm;
/**
 * A computed key over an identifier, where an object literal has its keys:
 * right after `{` or `,` (`m[_x]: 2`, the end of a conditional, is no key).
 */
const COMPUTED_KEY = /([{,]\s*)\[(_\w+)\]:/g;

export function literalTraitKeys(source: string): Rewrite {
  const constants = new Map<string, string>();
  for (const [, name, literal] of source.matchAll(STRING_CONSTANT)) {
    if (name !== undefined && literal !== undefined) constants.set(name, literal);
  }
  let replaced = 0;
  const code = source.replace(COMPUTED_KEY, (key: string, before: string, name: string) => {
    const literal = constants.get(name);
    // A literal "__proto__" key sets the prototype, where the computed one makes a property.
    if (literal === undefined || literal === '"__proto__"') return key;
    replaced++;
    return `${before}${literal}:`;
  });
  return { code, replaced };
}

function schemaFiles(client: string): string[] {
  const dir = join(REPO_ROOT, 'node_modules', client, 'dist-es', 'schemas');
  return readdirSync(dir)
    .filter((name) => /^schemas_\d+\.js$/.test(name))
    .map((name) => join(dir, name));
}

/** Rewrites the installed clients' schemas in place; returns the keys replaced per client. */
export function rewriteInstalledClients(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const client of PATCHED_CLIENTS) {
    let total = 0;
    for (const file of schemaFiles(client)) {
      const { code, replaced } = literalTraitKeys(readFileSync(file, 'utf8'));
      if (replaced > 0) writeFileSync(file, code);
      total += replaced;
    }
    counts.set(client, total);
  }
  return counts;
}
