/**
 * package.json declares every package the project's code imports, and
 * nothing it does not use: a package that merely happens to be installed (as
 * another's dependency) can vanish or change version with that other package.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/bundling.js';

/** Declared packages used as commands or for their types only, never imported by name. */
const NOT_IMPORTED: Readonly<Record<string, string>> = {
  typescript: 'tsc, in `npm test`',
  '@biomejs/biome': 'biome, the linter and formatter, in `npm test`',
  'aws-cdk': 'the cdk command (docs/deploy.md)',
  '@types/node': "Node's types",
};
const SOURCE_DIRS = ['functions', 'local', 'infra', 'cli', 'console', 'bench', 'test'];
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'cdk.out']);
/** `from 'x'`, `import 'x'`, `import('x')`, `require('x')`, `require.resolve('x')`, `.resolve('x/package.json')`. */
const SPECIFIER = /(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*|\.resolve\s*\(\s*)['"]([^'"./][^'"]*)['"]/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return SKIPPED_DIRS.has(entry.name) ? [] : sourceFiles(path);
    return /\.(?:tsx?|js|mjs|cjs)$/.test(entry.name) ? [path] : [];
  });
}

const packageOf = (specifier: string): string =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

/** Imported package -> the files importing it. */
function importedPackages(): Map<string, string[]> {
  const imported = new Map<string, string[]>();
  for (const file of SOURCE_DIRS.flatMap((dir) => sourceFiles(join(REPO_ROOT, dir)))) {
    // comments mention packages that are not imported
    const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|(^|[^:])\/\/.*$/gm, '$1');
    for (const [, specifier = ''] of code.matchAll(SPECIFIER)) {
      if (specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0] ?? '')) continue;
      const name = packageOf(specifier);
      imported.set(name, [...(imported.get(name) ?? []), relative(REPO_ROOT, file)]);
    }
  }
  return imported;
}

const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
};
const declared = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.devDependencies ?? {})]);
/** `import type ... from 'aws-lambda'` is served by @types/aws-lambda. */
const declares = (name: string): boolean => declared.has(name) || declared.has(`@types/${name.replace(/^@/, '').replace('/', '__')}`);

describe('package.json', () => {
  const imported = importedPackages();

  it('declares every package the code imports', () => {
    const undeclared = [...imported].filter(([name]) => !declares(name)).map(([name, files]) => `${name} (${files[0]})`);
    expect(undeclared).toEqual([]);
  });

  it('declares no package the code does not use', () => {
    const usedTypes = new Set([...imported.keys()].map((name) => `@types/${name.replace(/^@/, '').replace('/', '__')}`));
    const unused = [...declared].filter((name) => !imported.has(name) && !usedTypes.has(name) && !(name in NOT_IMPORTED));
    expect(unused).toEqual([]);
  });

  it('patches no dependency (no patch-package, no patches/)', () => {
    expect(declared.has('patch-package')).toBe(false);
    expect(readdirSync(REPO_ROOT)).not.toContain('patches');
  });
});

describe('the Node.js versions package.json names in engines', () => {
  const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>;
  };
  const lowest = semver.minVersion(manifest.engines.node);

  it('include the one running the tests', () => {
    expect(semver.satisfies(process.version, manifest.engines.node)).toBe(true);
  });

  it('are accepted by every installed package, down to the lowest (npm ci --engine-strict would agree)', () => {
    expect(lowest).not.toBeNull();
    const refusing = Object.entries(lock.packages).flatMap(([path, entry]) => {
      const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
      if (!path || !range || !lowest) return [];
      const fits = [lowest.version, process.version].every((version) => semver.satisfies(version, range));
      return fits ? [] : [`${path.replace(/^.*node_modules\//, '')}@${entry.version} wants node ${range}`];
    });
    expect(refusing).toEqual([]);
  });
});
