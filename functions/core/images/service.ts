/**
 * Image records: the rules of the reference page made precise in DESIGN.md.
 * Every write is conditional on what was read (the record's `version`, the
 * name guard's owner), so concurrent requests can't lose an update, take a
 * name twice or leave a guard without its image.
 */
import { conflict, forbidden, invalid, notFound, ServiceError } from '../errors.js';
import { asUid, isUid, MAX_NAME_LENGTH, NAME_PATTERN, newUid, nowSeconds } from '../ids.js';
import { retryWhileStale, Stale } from '../db/optimistic.js';
import { ConditionFailed, failingWith, TransactionConflict, writeAll, type Write } from '../db/transact.js';
import { buildItem, editableOf, stamp, type Actor, type EditableFields, type ImageItem } from './model.js';
import * as repo from './repository.js';

/** Finds an image by UID or by name. */
export async function findImage(given: string): Promise<ImageItem | undefined> {
  // No name is 32 hex digits (names that look like UIDs are refused), so a UID in upper case is still a UID.
  const id = asUid(given) ?? given;
  if (isUid(id)) return repo.getImageItem(id);
  // Anything that is neither a UID nor a possible name names no image: no read needed.
  if (!(id.length <= MAX_NAME_LENGTH && NAME_PATTERN.test(id))) return undefined;
  return findByName(id);
}

/**
 * A warm function remembers which UID a name led to, so that a boot storm
 * asking for one image by name costs one read per request, not two. The
 * remembered UID is only a guess: its record, read consistently, must carry
 * the name. Names are unique (the NAME# guard is written in the same
 * transaction as the record's name), so a record that has the name now is
 * the image the name means now, exactly as a fresh NAME# read would say.
 */
const knownNames = new Map<string, string>();
const KNOWN_NAMES_MAX = 1024;

async function findByName(name: string): Promise<ImageItem | undefined> {
  const guess = knownNames.get(name);
  if (guess !== undefined) {
    const item = await repo.getImageItem(guess);
    if (item?.name === name) return item;
    knownNames.delete(name);
  }
  const uid = await repo.getUidByName(name);
  if (uid === undefined) return undefined;
  const item = await repo.getImageItem(uid);
  if (item?.name === name) {
    // Oldest first out: a Map iterates in insertion order.
    if (knownNames.size >= KNOWN_NAMES_MAX) knownNames.delete(knownNames.keys().next().value as string);
    knownNames.set(name, uid);
  }
  return item;
}

export async function getImage(id: string): Promise<ImageItem> {
  const item = await findImage(id);
  if (!item) throw notFound(`no image with UID or name "${id}"`);
  return item;
}

async function resolveParent(parent: string, self?: string): Promise<string> {
  const item = await findImage(parent);
  if (!item) throw invalid(`parent "${parent}" is not an existing image (give its UID or name)`);
  if (item.uid === self) throw invalid('an image cannot be its own parent');
  return item.uid;
}

export async function createImage(fields: EditableFields, actor: Actor): Promise<ImageItem> {
  const parent = fields.parent != null ? await resolveParent(fields.parent) : undefined;
  const item = buildItem(newUid(), { ...fields, parent }, stamp(actor, nowSeconds()));
  const writes: Write[] = [repo.putNewImage(item), failingWith(repo.claimName(item.name, item.uid), () => nameTaken(item.name))];
  if (parent !== undefined) {
    writes.push(failingWith(repo.imageExists(parent), () => invalid(`parent "${fields.parent}" was deleted while this image was created`)));
  }
  try {
    await writeAll(writes);
  } catch (error) {
    if (error instanceof TransactionConflict) {
      throw conflict(`another request changed "${item.name}" at the same time; retry`);
    }
    throw error;
  }
  return item;
}

export interface WriteOptions {
  /** The versions the client's If-Match accepts; any other fails with 412. */
  expectedVersions?: readonly number[];
}

/**
 * Applies `change` to the current fields and writes the result, re-reading
 * and re-applying on a concurrent change so that no update is lost.
 */
export async function updateImage(
  id: string,
  change: (current: EditableFields) => EditableFields,
  actor: Actor,
  options: WriteOptions = {},
): Promise<ImageItem> {
  return withRetries(id, options, async (current) => {
    const requested = change(editableOf(current));
    const parent =
      requested.parent == null
        ? undefined
        : requested.parent === current.parent
          ? current.parent
          : await resolveParent(requested.parent, current.uid);
    const next: EditableFields = { ...requested, parent };
    // A frozen image that stays frozen takes no write at all, not even a new stamp.
    if (guardFrozen(current, next) === 'unchanged') return current;
    const parentChanged = parent !== current.parent;
    const item = buildItem(current.uid, next, stamp(actor, nowSeconds()), { ...current, version: current.version + 1 });
    const writes: Write[] = [repo.putImageIfVersion(item, current.version)];
    if (item.name !== current.name) {
      writes.push(
        repo.releaseName(current.name, current.uid),
        failingWith(repo.claimName(item.name, item.uid), () => nameTaken(item.name)),
      );
    }
    if (parentChanged && parent !== undefined) {
      writes.push(failingWith(repo.imageExists(parent), () => invalid(`parent "${requested.parent}" was deleted meanwhile`)));
    }
    await commit(writes);
    return item;
  });
}

/** Deletes an image and frees its name. Returns the file it referred to, if any. */
export async function deleteImage(
  id: string,
  options: WriteOptions & { releaseFile?: (fileUid: string) => Write } = {},
): Promise<{ item: ImageItem; releasedFile?: string }> {
  return withRetries(id, options, async (current) => {
    if (current.frozen) throw frozenError(current);
    const writes: Write[] = [repo.deleteImageIfVersion(current.uid, current.version), repo.releaseName(current.name, current.uid)];
    if (current.file_uid !== undefined && options.releaseFile) writes.push(options.releaseFile(current.file_uid));
    await commit(writes);
    return { item: current, ...(current.file_uid !== undefined ? { releasedFile: current.file_uid } : {}) };
  });
}

/**
 * A new image sharing the source's content file (refcnt + 1, in the same
 * transaction), derived from it: parent is the source, distro and (unless
 * given) description are copied, and it starts unfrozen.
 */
export async function cloneImage(
  id: string,
  fields: { name: string; description?: string | null },
  actor: Actor,
  options: WriteOptions & { retainFile: (fileUid: string) => Write },
): Promise<ImageItem> {
  return retryWhileStale(
    async () => {
      const source = await getImage(id);
      checkVersion(source, options);
      const item = buildItem(
        newUid(),
        {
          name: fields.name,
          description: fields.description !== undefined ? fields.description : (source.description ?? null),
          distro: source.distro ?? null,
          parent: source.uid,
          frozen: false,
        },
        stamp(actor, nowSeconds()),
        { file_uid: source.file_uid, content: source.content },
      );
      // The source (the clone's parent) must still be as read when the clone commits: what the
      // clone copies (description, distro, content) is then that version's, as If-Match asked.
      const writes: Write[] = [
        repo.putNewImage(item),
        failingWith(repo.claimName(item.name, item.uid), () => nameTaken(item.name)),
        repo.imageAtVersion(source.uid, source.version),
      ];
      if (source.file_uid !== undefined) writes.push(options.retainFile(source.file_uid));
      try {
        await writeAll(writes);
      } catch (error) {
        // Any other condition: the source changed or went, or its file was released meanwhile.
        throw error instanceof ConditionFailed ? lostRace(source, options) : error;
      }
      return item;
    },
    () => conflict(`image "${id}" is being changed by other requests; retry the clone`),
  );
}

/**
 * Writes a change to an existing image. A write whose failed condition names
 * no error of its own (the image's version check among them) means a
 * concurrent change: the attempt is Stale and runs again on a fresh read.
 */
async function commit(writes: Write[]): Promise<void> {
  try {
    await writeAll(writes);
  } catch (error) {
    throw error instanceof ConditionFailed || error instanceof TransactionConflict ? new Stale() : error;
  }
}

/** Reads the image and runs `attempt` on it, again on a concurrent change unless the client pinned a version. */
async function withRetries<T>(id: string, options: WriteOptions, attempt: (current: ImageItem) => Promise<T>): Promise<T> {
  return retryWhileStale(
    async () => {
      const current = await getImage(id);
      checkVersion(current, options);
      try {
        return await attempt(current);
      } catch (error) {
        throw error instanceof Stale ? lostRace(current, options) : error;
      }
    },
    () => conflict(`image "${id}" is being changed by other requests; retry`),
  );
}

/**
 * A frozen image accepts one change: unfreezing it. A write that leaves it
 * exactly as it is (frozen included) is 'unchanged': answered, not written.
 */
function guardFrozen(current: ImageItem, next: EditableFields): 'write' | 'unchanged' {
  if (!current.frozen) return 'write';
  const before = editableOf(current);
  const unchanged = (['name', 'description', 'parent', 'distro'] as const).every((k) => (next[k] ?? null) === (before[k] ?? null));
  if (!unchanged) throw frozenError(current);
  return next.frozen === false ? 'write' : 'unchanged';
}

/** If-Match: the write is for the version the client read, or it fails with 412. */
export function checkVersion(current: ImageItem, options: WriteOptions): void {
  if (options.expectedVersions !== undefined && !options.expectedVersions.includes(current.version)) {
    throw preconditionFailed(current);
  }
}

/**
 * A write that lost a race with another: retried on the fresh record (Stale),
 * unless If-Match asked for the version read, which is now gone (412).
 */
export const lostRace = (read: ImageItem, options: WriteOptions): Error =>
  options.expectedVersions !== undefined ? preconditionFailed(read) : new Stale();

export function frozenError(item: ImageItem): ServiceError {
  return forbidden(`image "${item.name}" is frozen; unfreeze it first with {"frozen": false}`);
}

const nameTaken = (name: string): ServiceError => conflict(`an image named "${name}" already exists`);

const preconditionFailed = (current: ImageItem): ServiceError =>
  new ServiceError(
    'precondition_failed',
    `image "${current.name}" has changed since you read it (now at version ${current.version}); read it again`,
  );
