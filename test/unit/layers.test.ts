/**
 * The import directions of docs/architecture.md ("Layers"), read from the
 * sources: a change that makes a layer lean on one beside or above it fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(root, join(e.parentPath, e.name)));
}

/** Repository paths of the relative modules a file imports. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'/g)].map((m) => m[1] ?? '');
  return specs.map((s) => relative(root, resolve(root, dirname(file), s)).replace(/\.js$/, '.ts'));
}

/** Pairs "file -> imported" where a file under `from` imports something under any of `forbidden`. */
function violations(from: string, forbidden: readonly string[]): string[] {
  return sources(from).flatMap((file) =>
    importsOf(file)
      .filter((target) => forbidden.some((f) => target === f || target.startsWith(`${f}/`)))
      .map((target) => `${file} -> ${target}`),
  );
}

describe('import directions', () => {
  const upper = [
    'functions/api',
    'functions/http',
    'functions/routes.ts',
    'functions/records.ts',
    'functions/content.ts',
    'functions/hasher.ts',
    'functions/sweeper.ts',
    'functions/capture-authorizer.ts',
  ];

  it('the core imports nothing of the HTTP adapter or the handlers', () => {
    expect(violations('functions/core', upper)).toEqual([]);
  });

  it('images and files do not import each other, nor the use cases above them', () => {
    const useCases = ['functions/core/content', 'functions/core/uploads', 'functions/core/capture'];
    expect(violations('functions/core/images', ['functions/core/files', ...useCases])).toEqual([]);
    expect(violations('functions/core/files', ['functions/core/images', ...useCases])).toEqual([]);
  });

  it('db, hashing and the shared helpers import no domain module', () => {
    const domain = [
      'functions/core/images',
      'functions/core/files',
      'functions/core/content',
      'functions/core/uploads',
      'functions/core/capture',
    ];
    expect(violations('functions/core/db', domain)).toEqual([]);
    expect(violations('functions/core/hashing', domain)).toEqual([]);
  });

  it('the API adapters do not borrow from each other', () => {
    expect(violations('functions/api', ['functions/api/records.ts', 'functions/api/content.ts', 'functions/api/capture.ts'])).toEqual([]);
  });

  it('the capture authorizer loads nothing but the credential check, the schema, config, the SDK timeouts and the route table', () => {
    expect(importsOf('functions/capture-authorizer.ts').sort()).toEqual([
      'functions/core/capture/authorize.ts',
      'functions/core/capture/credential.ts',
      'functions/core/config.ts',
      'functions/core/db/schema.ts',
      'functions/core/request-handler.ts',
      'functions/routes.ts',
    ]);
    expect(importsOf('functions/core/capture/authorize.ts').sort()).toEqual([
      'functions/core/capture/credential.ts',
      'functions/core/db/schema.ts',
    ]);
  });

  it('imgctl runs nothing of functions/ but the retry loop, which imports nothing', () => {
    const valueImports = sources('cli').flatMap((file) => {
      const text = readFileSync(join(root, file), 'utf8');
      return [...text.matchAll(/(?:^|\n)\s*import\s+(?!type\b)[^'"]*?from\s+'(\.[^']+)'/g)]
        .map((m) => relative(root, resolve(root, dirname(file), m[1] ?? '')).replace(/\.js$/, '.ts'))
        .filter((target) => target.startsWith('functions/'));
    });
    expect([...new Set(valueImports)]).toEqual(['functions/core/retry.ts']);
    expect(importsOf('functions/core/retry.ts')).toEqual([]);
    expect(readFileSync(join(root, 'functions/core/retry.ts'), 'utf8')).not.toMatch(/\bfrom\s+'/);
  });

  it('cdk-nag suppressions do not import the stack that applies them', () => {
    expect(importsOf('infra/nag.ts')).not.toContain('infra/image-service-stack.ts');
  });
});
