import { Session } from 'node:inspector/promises';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { startLocalStack } from '../local/stack.js';
import { timeCommand } from './lib/measure.js';
const dir = await mkdtemp(join(tmpdir(), 'prof-'));
const stack = await startLocalStack({ dataDir: join(dir, 'stack'), port: 0 });
const token = await stack.token('bench', { admin: true });
Object.assign(process.env, { HOME: join(dir,'home'), XDG_CONFIG_HOME: join(dir,'home/.c'), XDG_STATE_HOME: join(dir,'home/.s'), IMGCTL_URL: stack.apiUrl, IMGCTL_TOKEN: token, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_DEFAULT_REGION: 'us-east-1' });
const file = '/tmp/prof/f1g';
spawnSync('sh', ['-c', `[ -f ${file} ] || head -c 1073741824 /dev/urandom > ${file}`]);
const imgctl = (...a: string[]) => timeCommand(process.execPath, ['/work/main/cli/bin/imgctl.js', '--quiet', ...a]);
await imgctl('create', 'P');
const s = new Session(); s.connect(); await s.post('Profiler.enable');
for (const [name, fn] of [
  ['imgctl', () => imgctl('upload', 'P', file, '--no-wait', '--restart')],
  ['aws', () => timeCommand('aws', ['s3', 'cp', file, `s3://${stack.bucket}/bench/x.bin`, '--endpoint-url', stack.s3Endpoint, '--only-show-errors'])],
] as const) {
  await stack.settled(); await new Promise(r => setTimeout(r, 500));
  await s.post('Profiler.start');
  const c = process.cpuUsage();
  const r = await fn();
  const u = process.cpuUsage(c);
  const { profile } = await s.post('Profiler.stop');
  await writeFile(`/tmp/prof/${name}.cpuprofile`, JSON.stringify(profile));
  console.log(name, r.ms, 'cpu', (u.user + u.system) / 1e6);
}
await stack.stop();
