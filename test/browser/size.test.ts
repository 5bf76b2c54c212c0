import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { APP_JS_GZIP_BUDGET, buildConsole } from '../../console/build.js';

describe('console bundle', () => {
  it(`is at most ${APP_JS_GZIP_BUDGET / 1024} KiB of gzipped JavaScript`, async () => {
    const site = await buildConsole();
    const js = [...site].filter(([path]) => path.endsWith('.js') && !path.startsWith('reference/'));
    expect(js.map(([path]) => path)).toEqual(['app.js']);
    const gzipped = gzipSync(js[0]![1].contents).length;
    expect(gzipped).toBeLessThanOrEqual(APP_JS_GZIP_BUDGET);
  });
});
