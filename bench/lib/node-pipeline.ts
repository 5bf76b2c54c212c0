/**
 * A baseline for the hasher benchmark: the least a Node.js process can do to
 * hash an object of the local S3. One plain GET, each chunk of the response
 * handed to one sha1 as it arrives: no SDK, no ranges, no retries, no memory
 * bound. What the hasher adds to this is the cost of being the hasher; what
 * this costs next to `curl | openssl sha1` is the cost of Node.js here.
 *
 *   node node-pipeline.mjs <url>   (prints {"sha1": ..., "ms": ...})
 */
import { createHash } from 'node:crypto';
import { get } from 'node:http';

const url = process.argv[2];
if (!url) throw new Error('usage: node-pipeline <url>');
const started = performance.now();
const sha1 = await new Promise<string>((resolve, reject) => {
  get(url, (response) => {
    if (response.statusCode !== 200) {
      reject(new Error(`GET ${url} answered ${response.statusCode}`));
      response.resume();
      return;
    }
    const hash = createHash('sha1');
    response.on('data', (chunk: Buffer) => hash.update(chunk));
    response.once('end', () => resolve(hash.digest('hex')));
    response.once('error', reject);
  }).once('error', reject);
});
process.stdout.write(`${JSON.stringify({ sha1, ms: performance.now() - started })}\n`);
