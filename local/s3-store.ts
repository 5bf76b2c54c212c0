/**
 * The local S3's store: s3rver's FilesystemStore (same directory layout, so a
 * data directory keeps working), with what the content lifecycle needs.
 *
 * - A completed multipart upload keeps its part files instead of being copied
 *   into one file (S3 completes without rewriting the bytes; a copy took
 *   seconds per GiB and twice the disk space). Its object file is a sparse
 *   file of the object's size, so stat, listing and metadata work as for any
 *   object, and a manifest in `._S3rver_multipart/<identity>/` lists the parts
 *   whose bytes it stands for. Every write of an object file makes a new file
 *   renamed into place, so replacing or deleting the object leaves the old
 *   manifest matching nothing (see fileIdentity).
 * - Every file is written aside and renamed into place: readers never see a
 *   partial object, part or metadata file, and a refused or broken upload
 *   (BadDigest, client gone) leaves what was there before, as in S3.
 * - The md5 of stored bytes is computed on a worker thread (md5-stream.ts),
 *   objects are served in 1 MiB reads, and writers of one key take turns.
 * - Uploads: the checks S3 makes (an upload exists, under its key), ListParts
 *   and AbortMultipartUpload, and a completion or abort claims the upload by a
 *   rename, which only one of two racing requests can win.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { BigIntStats, Dirent } from 'node:fs';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, rmdir, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { pipeline, Readable, type Transform } from 'node:stream';
import { format } from 'node:util';
import { Md5Stream } from './md5-stream.js';
import { FilesystemStore, type Metadata, S3Object, type S3ObjectInstance } from './s3rver-modules.js';

const MANIFEST = 'manifest.json';
/** Bytes per read when serving an object: twice as fast as the default 64 KiB on the server's one thread. */
const READ_CHUNK_BYTES = 1024 * 1024;
const MANIFEST_CACHE_SIZE = 1024;
/** s3rver's naming of a key's files: `<name>._S3rver_<resource>`. */
const S3RVER_SUFFIX = '%s._S3rver_%s';
const OBJECT_SUFFIX = format(S3RVER_SUFFIX, '', 'object');

/** A part of a multipart object: its file and size. */
export interface ObjectPart {
  readonly path: string;
  readonly size: number;
}
/** An uploaded part of an upload in progress. */
export interface UploadedPart {
  readonly number: number;
  readonly size: number;
  readonly md5: string;
  readonly lastModified: Date;
}
/** An object file held open: its stat and, for a multipart object, its parts (null: it holds its own bytes). */
export interface OpenedObject {
  readonly fh: FileHandle;
  readonly stat: BigIntStats;
  readonly parts: readonly ObjectPart[] | null;
}
/** A Range request: first..last byte (inclusive), or the last `suffixLength` bytes. */
export interface ByteRange {
  start?: number;
  end?: number;
  suffixLength?: number;
}
export interface ListObjectsOptions {
  delimiter?: string;
  startAfter?: string;
  prefix?: string;
  maxKeys?: number;
}

/** Where a file is written before it is renamed into place. */
const temporaryPath = (filePath: string): string => `${filePath}.${randomBytes(8).toString('hex')}.tmp`;

const isMissing = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'ENOENT';

/**
 * Pipes `streams` into a new file at `filePath`. On failure the file is removed
 * once its stream has closed: a stream destroyed while its open() is pending
 * still creates the file after the error, which a refused upload then left behind.
 */
async function pipeToNewFile(filePath: string, source: Readable, ...through: Transform[]): Promise<void> {
  const file = createWriteStream(filePath);
  try {
    await new Promise<void>((resolve, reject) => {
      (pipeline as (...args: unknown[]) => unknown)(source, ...through, file, (err: Error | null) => (err ? reject(err) : resolve()));
    });
  } catch (err) {
    if (!file.closed) await new Promise<void>((resolve) => file.once('close', () => resolve()));
    await rm(filePath, { force: true });
    throw err;
  }
}

/** writeFile, but readers see the old content or the new, never a part. */
async function writeFileAtomic(filePath: string, data: string): Promise<void> {
  const tmpPath = temporaryPath(filePath);
  try {
    await writeFile(tmpPath, data);
    await rename(tmpPath, filePath);
  } catch (err) {
    await rm(tmpPath, { force: true });
    throw err;
  }
}

async function statOrNull(filePath: string): Promise<BigIntStats | null> {
  try {
    return await stat(filePath, { bigint: true });
  } catch (err) {
    if (isMissing(err)) return null;
    throw err;
  }
}

export class LocalS3Store extends FilesystemStore {
  /**
   * The identity of an object file (a bigint stat), which names its parts'
   * directory: inode, size and modification time in nanoseconds. An object
   * file is never written after it is renamed into place, so these do not
   * change while it lives; a later file that reuses the inode has another
   * mtime. (Birth time is not used: several filesystems do not record it, and
   * the identity would then be the inode alone. The device is left out: the
   * parts live in the bucket's directory, on the object's device, and device
   * numbers are not stable across reboots.)
   */
  static fileIdentity(stat: BigIntStats): string {
    return `${stat.ino}-${stat.size}-${stat.mtimeNs}`;
  }

  /** What fileIdentity was before: kept to find the parts of objects completed by earlier versions. */
  private static legacyIdentity(stat: BigIntStats): string {
    return `${stat.ino}-${stat.birthtimeNs}`;
  }

  /** Parts by `<bucket>/<identity>` (null: a plain object). */
  private readonly manifests = new Map<string, readonly ObjectPart[] | null>();
  /** Reads under way of multipart objects, by `<bucket>/<identity>`. */
  private readonly readers = new Map<string, { count: number; released: boolean }>();
  /** The last write queued per object file. */
  private readonly locks = new Map<string, Promise<unknown>>();

  getMultipartDir(bucket: string, identity: string): string {
    return path.join(this.getResourcePath(bucket, undefined, 'multipart'), identity);
  }

  /**
   * The parts behind an open object file (`stat`: its bigint fstat), in order;
   * null for an object that holds its own bytes; undefined when the file was
   * replaced or deleted since it was opened (its parts may be gone already:
   * read as a plain file it would give zeros). Answers are cached by identity:
   * a manifest exists before its object file is renamed into place and never
   * changes, and an identity is never reused.
   */
  async getObjectParts(bucket: string, fh: FileHandle, stat: BigIntStats): Promise<readonly ObjectPart[] | null | undefined> {
    const identity = LocalS3Store.fileIdentity(stat);
    const cacheKey = `${bucket}/${identity}`;
    if (this.manifests.has(cacheKey)) return this.manifests.get(cacheKey);
    const dir = this.getMultipartDir(bucket, identity);
    let parts: ObjectPart[] | null = null;
    try {
      parts = await this.readManifest(dir, bucket, stat);
    } catch (err) {
      if (!isMissing(err)) throw err;
      // Parts are released only after their object file was unlinked or
      // replaced: a file still linked with no manifest holds its own bytes.
      if ((await fh.stat({ bigint: true })).nlink === 0n) return undefined;
    }
    if (this.manifests.size >= MANIFEST_CACHE_SIZE) {
      const oldest = this.manifests.keys().next().value;
      if (oldest !== undefined) this.manifests.delete(oldest);
    }
    this.manifests.set(cacheKey, parts);
    return parts;
  }

  private async readManifest(dir: string, bucket: string, stat: BigIntStats): Promise<ObjectPart[]> {
    let text: string;
    try {
      text = await readFile(path.join(dir, MANIFEST), 'utf8');
    } catch (err) {
      if (!isMissing(err)) throw err;
      // parts recorded under the identity earlier versions used: moved under this one
      const legacy = this.getMultipartDir(bucket, LocalS3Store.legacyIdentity(stat));
      text = await readFile(path.join(legacy, MANIFEST), 'utf8');
      await rename(legacy, dir).catch((renameErr: unknown) => {
        if (!isMissing(renameErr)) throw renameErr; // moved by a concurrent reader
      });
    }
    const manifest = JSON.parse(text) as { parts: { file: string; size: number }[] };
    return manifest.parts.map((part) => ({ path: path.join(dir, part.file), size: part.size }));
  }

  /**
   * Removes the parts behind a replaced or deleted object file; while reads of
   * them are under way, once the last one ends (S3 finishes serving the object
   * a GET started on).
   */
  private async releaseObjectFile(bucket: string, stat: BigIntStats | null): Promise<void> {
    if (!stat) return;
    const identity = LocalS3Store.fileIdentity(stat);
    this.manifests.delete(`${bucket}/${identity}`);
    const reading = this.readers.get(`${bucket}/${identity}`);
    if (reading) reading.released = true;
    else await rm(this.getMultipartDir(bucket, identity), { recursive: true, force: true });
  }

  /** Runs `fn` alone among the store's writers of `filePath`. */
  private async exclusive<T>(filePath: string, fn: () => Promise<T>): Promise<T> {
    const before = this.locks.get(filePath) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const settled = run.catch(() => undefined);
    this.locks.set(filePath, settled);
    try {
      return await run;
    } finally {
      if (this.locks.get(filePath) === settled) this.locks.delete(filePath);
    }
  }

  /**
   * Opens an object file. A file replaced while it was being opened is given
   * up for the one in its place; a sparse file whose parts are missing (a data
   * directory copied elsewhere, say) is an error, never a body of zeros.
   */
  async openObjectFile(bucket: string, objectPath: string): Promise<OpenedObject> {
    for (let attempt = 1; ; attempt++) {
      const fh = await open(objectPath, 'r');
      try {
        const stat = await fh.stat({ bigint: true });
        const parts = await this.getObjectParts(bucket, fh, stat);
        if (parts !== undefined) {
          if (!parts && stat.size >= 1048576n && stat.blocks * 512n < stat.size / 2n) {
            throw new Error(`${objectPath} is sparse and its parts are lost`);
          }
          return { fh, stat, parts };
        }
      } catch (err) {
        await fh.close();
        throw err;
      }
      await fh.close();
      if (attempt === 3) throw Object.assign(new Error(`${objectPath} keeps being replaced`), { code: 'EAGAIN' });
    }
  }

  /** A readable of bytes start..end (inclusive) of an opened object file, from the file itself or across its parts. */
  streamObjectFile(bucket: string, { fh, stat, parts }: OpenedObject, range: { start?: number; end?: number }): Readable {
    const highWaterMark = READ_CHUNK_BYTES;
    if (!parts) return createReadStream('', { fd: fh, highWaterMark, ...range });
    const identity = LocalS3Store.fileIdentity(stat);
    const readerKey = `${bucket}/${identity}`;
    const reading = this.readers.get(readerKey) ?? { count: 0, released: false };
    reading.count++;
    this.readers.set(readerKey, reading);
    let ended = false;
    // on 'close': after the end, an error, or a destroy before any read
    const done = (): void => {
      if (ended) return;
      ended = true;
      if (--reading.count > 0) return;
      this.readers.delete(readerKey);
      if (reading.released) rm(this.getMultipartDir(bucket, identity), { recursive: true, force: true }).catch(() => undefined);
    };
    // the parts are read by path (one open at a time); the object file is not needed
    fh.close().catch(() => undefined);
    const { start = 0, end = Number.POSITIVE_INFINITY } = range;
    async function* partBytes(): AsyncGenerator<Buffer> {
      let offset = 0;
      for (const part of parts ?? []) {
        const first = offset;
        const last = offset + part.size - 1;
        offset += part.size;
        if (part.size === 0 || last < start) continue;
        if (first > end) break;
        yield* createReadStream(part.path, {
          start: Math.max(start, first) - first,
          end: Math.min(end, last) - first,
          highWaterMark,
        });
      }
    }
    return Readable.from(partBytes(), { objectMode: false }).once('close', done);
  }

  /** Bytes start..end (inclusive) of an object file, its own or its parts'. */
  async readObjectFile(bucket: string, objectPath: string, range: { start?: number; end?: number }): Promise<Readable> {
    return this.streamObjectFile(bucket, await this.openObjectFile(bucket, objectPath), range);
  }

  /**
   * `openedStat`: the stat of an object file the caller holds open, whose size
   * and date are then the ones reported (a file replaced since would otherwise
   * give a size the bytes served do not have).
   */
  async getMetadata(bucket: string, key: string, openedStat?: BigIntStats): Promise<Metadata> {
    const objectPath = this.getResourcePath(bucket, key, 'object');
    const metadataPath = this.getResourcePath(bucket, key, 'metadata.json');
    // throws ENOENT if the object does not exist
    const fileStat = openedStat ?? (await stat(objectPath, { bigint: true }));
    const [storedMetadata, md5] = await Promise.all([
      readFile(metadataPath, 'utf8').then(
        (text) => JSON.parse(text) as Metadata,
        (err: unknown) => {
          if (isMissing(err)) return undefined;
          throw err;
        },
      ),
      readFile(`${objectPath}.md5`, 'utf8').catch(async (err: unknown) => {
        if (!isMissing(err)) throw err;
        // an object file put there by hand: its md5 is computed once and kept
        const hash = createHash('md5');
        for await (const chunk of await this.readObjectFile(bucket, objectPath, {})) hash.update(chunk as Buffer);
        const digest = hash.digest('hex');
        await writeFileAtomic(`${objectPath}.md5`, digest);
        return digest;
      }),
    ]);
    return {
      ...storedMetadata,
      etag: JSON.stringify(md5),
      'last-modified': fileStat.mtime.toUTCString(),
      'content-length': Number(fileStat.size),
    };
  }

  /** Each file written aside and renamed into place: a reader never finds one half-written (an empty ETag, JSON cut short). */
  async putMetadata(bucket: string, key: string, metadata: Metadata, md5?: string): Promise<void> {
    const json: Metadata = {};
    for (const [name, value] of Object.entries(metadata)) {
      if (S3Object.ALLOWED_METADATA.includes(name) || name.startsWith('x-amz-meta-')) json[name] = value;
    }
    if (md5) await writeFileAtomic(this.getResourcePath(bucket, key, 'object.md5'), md5);
    await writeFileAtomic(this.getResourcePath(bucket, key, 'metadata.json'), JSON.stringify(json, null, 2));
  }

  /**
   * Keys in ascending order, as S3 lists them. The store's own directories
   * (uploads in progress, the parts of multipart objects) are not walked, and
   * a file gone between a directory's read and its use (a temporary file
   * renamed, a key deleted) is skipped.
   */
  async listObjects(
    bucket: string,
    { delimiter = '', startAfter = '', prefix = '', maxKeys = Number.POSITIVE_INFINITY }: ListObjectsOptions,
  ): Promise<{ objects: S3ObjectInstance[]; commonPrefixes: string[]; isTruncated: boolean }> {
    const bucketPath = this.getBucketPath(bucket);
    const internal = new Set(['uploads', 'multipart'].map((dir) => format(S3RVER_SUFFIX, '', dir)));
    const encodedPrefix = FilesystemStore.encodeKeyPath(prefix);
    const found: string[] = [];
    const walk = async (dir: string, relative: string): Promise<void> => {
      let entries: Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (isMissing(err)) return;
        throw err;
      }
      for (const entry of entries) {
        const name = relative + entry.name;
        if (entry.isDirectory()) {
          if (relative === '' && internal.has(entry.name)) continue;
          const below = `${name}/`;
          // only directories that can hold keys under the prefix
          if (below.startsWith(encodedPrefix) || encodedPrefix.startsWith(below)) await walk(path.join(dir, entry.name), below);
        } else if (name.endsWith(OBJECT_SUFFIX)) {
          found.push(FilesystemStore.decodeKeyPath(name.slice(0, -OBJECT_SUFFIX.length)));
        }
      }
    };
    await walk(bucketPath, '');

    const commonPrefixes = new Set<string>();
    const keys: string[] = [];
    let isTruncated = false;
    for (const key of found.sort()) {
      if (key <= startAfter || !key.startsWith(prefix)) continue;
      if (delimiter) {
        const idx = key.slice(prefix.length).indexOf(delimiter);
        if (idx !== -1) {
          commonPrefixes.add(key.slice(0, prefix.length + idx + 1));
          continue;
        }
      }
      if (keys.length < maxKeys) keys.push(key);
      else {
        isTruncated = true;
        break;
      }
    }
    const objects = await Promise.all(
      keys.map((key) =>
        this.getMetadata(bucket, key).then(
          (metadata) => new S3Object(bucket, key, null, metadata),
          (err: unknown) => {
            if (isMissing(err)) return undefined;
            throw err;
          },
        ),
      ),
    );
    return {
      objects: objects.filter((o): o is S3ObjectInstance => o !== undefined),
      commonPrefixes: [...commonPrefixes].sort(),
      isTruncated,
    };
  }

  /**
   * The object with its bytes (a range of them, or none if the range cannot be
   * satisfied: `range` set, `content` null), or null if there is none. The
   * object file is opened first, and the size and date served are that file's:
   * metadata read before a replacement and bytes read after it would give a
   * Content-Length the body never reached.
   */
  async getObject(bucket: string, key: string, options?: ByteRange): Promise<S3ObjectInstance | null> {
    let opened: OpenedObject;
    try {
      opened = await this.openObjectFile(bucket, this.getResourcePath(bucket, key, 'object'));
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
    let content: Readable | null = null;
    try {
      const size = Number(opened.stat.size);
      const metadata = await this.getMetadata(bucket, key, opened.stat);
      const lastByte = Math.max(0, size - 1);
      const ranged =
        options !== undefined && (options.start !== undefined || options.end !== undefined || options.suffixLength !== undefined);
      const start = options?.suffixLength !== undefined ? Math.max(0, size - options.suffixLength) : (options?.start ?? 0);
      // `bytes=0-0` asks for one byte: an end of 0 is not "no end"
      const end = Math.min(
        options?.suffixLength === undefined && options?.end !== undefined ? options.end : Number.POSITIVE_INFINITY,
        lastByte,
      );
      const range = { start, end };
      // no range of an empty object is satisfiable (S3 answers 416)
      if (start < 0 || end < start || (ranged && size === 0)) {
        const object = new S3Object(bucket, key, null, metadata);
        if (ranged) object.range = range;
        return object;
      }
      content = this.streamObjectFile(bucket, opened, range);
      const object = new S3Object(bucket, key, content, metadata);
      if (ranged) object.range = range;
      return object;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    } finally {
      if (!content) await opened.fh.close().catch(() => undefined);
    }
  }

  /** Writes the object's bytes (hashed on the way) aside, then puts the file in place with its metadata. */
  async putObject(object: S3ObjectInstance): Promise<{ size: number; md5: string }> {
    const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
    await mkdir(path.dirname(objectPath), { recursive: true });
    const tmpPath = temporaryPath(objectPath);
    let size: number;
    let md5: string;
    if (Buffer.isBuffer(object.content)) {
      await pipeToNewFile(tmpPath, Readable.from([object.content]));
      size = object.content.length;
      md5 = createHash('md5').update(object.content).digest('hex');
    } else {
      const hashing = new Md5Stream();
      await pipeToNewFile(tmpPath, object.content ?? Readable.from([]), hashing);
      size = hashing.size;
      md5 = hashing.md5 ?? '';
    }
    await this.installObjectFile(object.bucket, object.key, tmpPath, object.metadata, md5);
    return { size, md5 };
  }

  /**
   * Puts a complete object file (written at `tmpPath`) in place with its
   * metadata, and releases the parts of the object it replaces. Metadata and
   * ETag go first: a reader between the two steps would otherwise find the
   * object without its .md5 and write the md5 of the bytes there, which can
   * land after (and replace) a multipart ETag.
   */
  private async installObjectFile(bucket: string, key: string, tmpPath: string, metadata: Metadata, md5: string): Promise<void> {
    const objectPath = this.getResourcePath(bucket, key, 'object');
    // one writer at a time, so each releases the parts of the file it replaced
    await this.exclusive(objectPath, async () => {
      const previous = await statOrNull(objectPath);
      await this.putMetadata(bucket, key, metadata, md5);
      await rename(tmpPath, objectPath);
      await this.releaseObjectFile(bucket, previous);
    });
  }

  /**
   * The source's bytes (its own or its parts') into a new file renamed into
   * place: copying onto the destination in place would keep its identity, and
   * with it the parts of a multipart object it replaced.
   */
  async copyObject(
    srcBucket: string,
    srcKey: string,
    destBucket: string,
    destKey: string,
    replacementMetadata?: Metadata,
  ): Promise<Metadata> {
    const srcObjectPath = this.getResourcePath(srcBucket, srcKey, 'object');
    const destObjectPath = this.getResourcePath(destBucket, destKey, 'object');
    const sameObject = srcObjectPath === destObjectPath;
    if (!sameObject) {
      await mkdir(path.dirname(destObjectPath), { recursive: true });
      const tmpPath = temporaryPath(destObjectPath);
      await pipeToNewFile(tmpPath, await this.readObjectFile(srcBucket, srcObjectPath, {}));
      await this.exclusive(destObjectPath, async () => {
        const previous = await statOrNull(destObjectPath);
        await rename(tmpPath, destObjectPath);
        await this.releaseObjectFile(destBucket, previous);
      });
    }
    if (replacementMetadata) {
      await this.putMetadata(destBucket, destKey, replacementMetadata);
    } else if (!sameObject) {
      const copy = async (resource: string): Promise<void> => {
        const text = await readFile(this.getResourcePath(srcBucket, srcKey, resource), 'utf8');
        await writeFileAtomic(this.getResourcePath(destBucket, destKey, resource), text);
      };
      await Promise.all([copy('metadata.json'), copy('object.md5')]);
    }
    return this.getMetadata(destBucket, destKey);
  }

  /** Deletes the object's files, the parts behind a multipart object, and directories left empty. */
  async deleteObject(bucket: string, key: string): Promise<void> {
    const objectPath = this.getResourcePath(bucket, key, 'object');
    await this.exclusive(objectPath, async () => {
      const objectFile = await statOrNull(objectPath);
      await Promise.all(
        [objectPath, this.getResourcePath(bucket, key, 'object.md5'), this.getResourcePath(bucket, key, 'metadata.json')].map((filePath) =>
          unlink(filePath).catch((err: unknown) => {
            if (!isMissing(err)) throw err;
          }),
        ),
      );
      await this.releaseObjectFile(bucket, objectFile);
    });
    const bucketPath = this.getBucketPath(bucket);
    const dirs = key.split('/');
    dirs.pop(); // the last part is in the file names
    while (dirs.length) {
      const dir = path.join(bucketPath, ...dirs);
      const left = await readdir(dir).catch(() => ['?']);
      if (left.length) break;
      await rmdir(dir).catch(() => undefined);
      dirs.pop();
    }
  }

  /** Upload ids are 32 hex digits (s3rver's initiateMultipartUpload); anything else is unknown, and never joined into a path. */
  private getUploadDir(bucket: string, uploadId: string): string | null {
    if (!/^[0-9a-f]{32}$/.test(uploadId)) return null;
    return path.join(this.getResourcePath(bucket, undefined, 'uploads'), uploadId);
  }

  /** The upload's key and initiation headers, or null if there is no such upload. */
  async getUpload(bucket: string, uploadId: string): Promise<{ key: string; metadata: Metadata } | null> {
    const uploadDir = this.getUploadDir(bucket, uploadId);
    if (!uploadDir) return null;
    try {
      const [key, metadata] = await Promise.all([
        readFile(path.join(uploadDir, 'key'), 'utf8'),
        readFile(path.join(uploadDir, 'metadata'), 'utf8').then((text) => JSON.parse(text) as Metadata),
      ]);
      return { key, metadata };
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  /**
   * Stores a part of an existing upload (the caller checked it exists; ENOENT
   * if it went meanwhile). The bytes go to a temporary file renamed into place
   * once complete, so a failed retry of a part leaves the part uploaded before
   * intact, as in S3.
   */
  async putPart(bucket: string, uploadId: string, partNumber: number, content: Readable): Promise<{ size: number; md5: string }> {
    const uploadDir = this.getUploadDir(bucket, uploadId);
    if (!uploadDir) throw Object.assign(new Error(`no upload ${uploadId}`), { code: 'ENOENT' });
    const partPath = path.join(uploadDir, String(partNumber));
    const tmpPath = temporaryPath(partPath);
    const hashing = new Md5Stream();
    await pipeToNewFile(tmpPath, content, hashing);
    const { size } = hashing;
    const md5 = hashing.md5 ?? '';
    await rename(tmpPath, partPath);
    await writeFile(`${partPath}.md5`, md5);
    return { size, md5 };
  }

  /** The uploaded parts, ascending. */
  async listParts(bucket: string, uploadId: string): Promise<UploadedPart[]> {
    const uploadDir = this.getUploadDir(bucket, uploadId);
    if (!uploadDir) return [];
    const names = (await readdir(uploadDir)).filter((n) => /^\d+$/.test(n));
    const parts = await Promise.all(
      names.map(async (name): Promise<UploadedPart | null> => {
        const partPath = path.join(uploadDir, name);
        try {
          const [partStat, md5] = await Promise.all([stat(partPath), readFile(`${partPath}.md5`, 'utf8')]);
          return { number: Number(name), size: partStat.size, md5, lastModified: partStat.mtime };
        } catch (err) {
          // a part just renamed into place has no .md5 yet: not uploaded yet
          if (isMissing(err)) return null;
          throw err;
        }
      }),
    );
    return parts.filter((p): p is UploadedPart => p !== null).sort((a, b) => a.number - b.number);
  }

  /** Claims the upload (a rename, which only one of an abort and a completion racing can win), then removes it; false if it was gone. */
  async deleteUpload(bucket: string, uploadId: string): Promise<boolean> {
    const uploadDir = this.getUploadDir(bucket, uploadId);
    if (!uploadDir) return false;
    const claimed = temporaryPath(uploadDir);
    try {
      await rename(uploadDir, claimed);
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
    await rm(claimed, { recursive: true, force: true });
    return true;
  }

  /**
   * Completes an upload without copying its bytes: a sparse object file of the
   * object's size is made, the upload directory becomes the object's parts
   * directory in one rename (parts not listed are discarded, as S3 does), then
   * the object file is put in place. `etag` is S3's multipart ETag. Answers
   * null when the upload is gone (completed or aborted meanwhile).
   */
  async putObjectMultipart(
    bucket: string,
    uploadId: string,
    parts: readonly { number: number }[],
    etag: string,
  ): Promise<{ key: string; size: number; md5: string } | null> {
    const uploadDir = this.getUploadDir(bucket, uploadId);
    if (!uploadDir) return null;
    // The upload is claimed first, by a rename only one request can win: a
    // second completion (or an abort) racing this one finds it gone, and a
    // late part finds no upload to write into.
    const multipartRoot = this.getResourcePath(bucket, undefined, 'multipart');
    await mkdir(multipartRoot, { recursive: true });
    const claimed = temporaryPath(path.join(multipartRoot, 'claimed'));
    try {
      await rename(uploadDir, claimed);
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
    let tmpPath: string | undefined;
    try {
      const [key, metadata, listed] = await Promise.all([
        readFile(path.join(claimed, 'key'), 'utf8'),
        readFile(path.join(claimed, 'metadata'), 'utf8').then((text) => JSON.parse(text) as Metadata),
        Promise.all(
          [...parts]
            .sort((a, b) => a.number - b.number)
            .map(async (part) => {
              const file = String(part.number);
              return { file, size: (await stat(path.join(claimed, file))).size };
            }),
        ),
      ]);
      const size = listed.reduce((sum, part) => sum + part.size, 0);

      const objectPath = this.getResourcePath(bucket, key, 'object');
      await mkdir(path.dirname(objectPath), { recursive: true });
      tmpPath = temporaryPath(objectPath);
      let identity: string;
      const fh = await open(tmpPath, 'wx');
      try {
        await fh.truncate(size);
        identity = LocalS3Store.fileIdentity(await fh.stat({ bigint: true }));
      } finally {
        await fh.close();
      }
      const keep = new Set([MANIFEST, ...listed.map((part) => part.file)]);
      await Promise.all(
        (await readdir(claimed))
          .filter((name) => !keep.has(name))
          .map((name) => rm(path.join(claimed, name), { recursive: true, force: true })),
      );
      await writeFile(path.join(claimed, MANIFEST), JSON.stringify({ size, parts: listed }));
      await rename(claimed, this.getMultipartDir(bucket, identity));
      await this.installObjectFile(bucket, key, tmpPath, metadata, etag);
      return { key, size, md5: etag };
    } catch (err) {
      // nothing was published: the upload is given back as it was
      if (tmpPath) await rm(tmpPath, { force: true });
      await rename(claimed, uploadDir).catch(() => undefined);
      throw err;
    }
  }
}
