/**
 * Builds the web console: the app bundled by esbuild (Preact), its page and
 * styles, the OpenAPI description and the reference page that renders it
 * with Scalar's bundle copied from node_modules (nothing loads from a CDN).
 *
 * The local gateway serves the result from memory (local/console.ts); run as
 * a script it writes the files to a directory for the stack to deploy:
 *   tsx console/build.ts [outdir]   (default console/dist)
 */
import { readFile, mkdir, writeFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { openApiDocument } from '../functions/api/openapi.js';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

export interface SiteFile {
  contents: Uint8Array;
  type: string;
}

/** Path below the site's root (no leading slash) → file. */
export type Site = Map<string, SiteFile>;

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  json: 'application/json; charset=utf-8',
};
const typeOf = (path: string): string => TYPES[path.split('.').pop() ?? ''] ?? 'application/octet-stream';

/** The console's own JavaScript must stay small (test/browser/size.test.ts holds it to this, gzipped). */
export const APP_JS_GZIP_BUDGET = 100 * 1024;

export async function buildConsole(options: { minify?: boolean } = {}): Promise<Site> {
  const out = await build({
    entryPoints: [join(here, 'src/main.tsx')],
    bundle: true,
    write: false,
    format: 'esm',
    target: ['es2022', 'chrome111', 'firefox115', 'safari16'],
    minify: options.minify ?? true,
    sourcemap: false,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outfile: 'app.js',
    legalComments: 'none',
    logLevel: 'silent',
  });
  const site: Site = new Map();
  const add = (path: string, contents: Uint8Array | string): void => {
    site.set(path, { contents: typeof contents === 'string' ? new TextEncoder().encode(contents) : contents, type: typeOf(path) });
  };
  for (const file of out.outputFiles) add('app.js', file.contents);
  add('index.html', await readFile(join(here, 'index.html')));
  add('style.css', await readFile(join(here, 'style.css')));
  add('reference/index.html', await readFile(join(here, 'reference.html')));
  add('reference/init.js', await readFile(join(here, 'reference.js')));
  add('reference/scalar.js', await readFile(join(dirname(require.resolve('@scalar/api-reference')), 'browser/standalone.js')));
  add('api/v1/openapi.json', JSON.stringify(openApiDocument(), null, 2));
  return site;
}

/** Writes the site to `dir` (emptied first), as the stack deploys it. */
export async function writeConsole(dir: string, site?: Site): Promise<void> {
  const files = site ?? (await buildConsole());
  await rm(dir, { recursive: true, force: true });
  for (const [path, file] of files) {
    const target = join(dir, path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, file.contents);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = resolve(process.argv[2] ?? join(here, 'dist'));
  await writeConsole(dir);
  console.log(`console built in ${dir}`);
}
