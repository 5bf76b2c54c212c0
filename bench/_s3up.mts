// s3rver standalone in this process (profiled); a child process PUTs parts via presigned URLs.
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path'; import { tmpdir } from 'node:os';
import { fork } from 'node:child_process';
import { CreateMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { startS3rver, localS3Client } from './lib/local-s3.js';
if (process.argv[2] === 'client') {
  const urls: string[] = JSON.parse(process.argv[3]!);
  const body = Buffer.alloc(64 << 20, 7);
  const conc = Number(process.env.C ?? 4);
  const t = performance.now();
  let i = 0;
  await Promise.all(Array.from({ length: conc }, async () => { while (i < urls.length) { const u = urls[i++]!; const r = await fetch(u, { method: 'PUT', body }); await r.text(); if (r.status !== 200) throw new Error(String(r.status)); } }));
  const ms = performance.now() - t;
  console.log('client', ((urls.length * 64) / (ms / 1000)).toFixed(0), 'MiB/s', process.cpuUsage());
  process.exit(0);
}
const s3 = await startS3rver(await mkdtemp(join(tmpdir(), 'up-')), ['b']);
const c = localS3Client(s3.endpoint);
const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: 'b', Key: 'k' }));
const urls = await Promise.all(Array.from({ length: 16 }, (_, n) => getSignedUrl(c, new UploadPartCommand({ Bucket: 'b', Key: 'k', UploadId, PartNumber: n + 1 }), { expiresIn: 600 })));
const s = new Session(); s.connect(); await s.post('Profiler.enable'); await s.post('Profiler.start');
const cpu = process.cpuUsage();
await new Promise((res) => fork(new URL(import.meta.url).pathname, ['client', JSON.stringify(urls)], { execArgv: ['--import', 'tsx'] }).on('exit', res));
console.log('server cpu', process.cpuUsage(cpu));
const { profile } = await s.post('Profiler.stop');
writeFileSync('/tmp/prof/up.cpuprofile', JSON.stringify(profile));
await s3.close(); process.exit(0);
