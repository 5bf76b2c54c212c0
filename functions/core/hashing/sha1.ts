import { createHash } from 'node:crypto';
import { createSHA1 } from 'hash-wasm';

/**
 * One SHA-1 computation. The native one (node:crypto) is about four times
 * faster than the WebAssembly one but cannot export its state; the
 * resumable one can, so a hash can stop at any byte and go on in another
 * process (DESIGN.md, "Content lifecycle" point 4).
 */
export interface Sha1 {
  readonly resumable: boolean;
  update(chunk: Uint8Array): void;
  /** Lower-case hex; the hash cannot be used afterwards. */
  digest(): string;
  /** The state after every byte given so far; undefined for the native hash. */
  save(): Uint8Array | undefined;
}

export function nativeSha1(): Sha1 {
  const hash = createHash('sha1');
  return {
    resumable: false,
    update: (chunk) => void hash.update(chunk),
    digest: () => hash.digest('hex'),
    save: () => undefined,
  };
}

/** A resumable SHA-1, fresh or continuing from a state that `save()` returned. */
export async function resumableSha1(state?: Uint8Array): Promise<Sha1> {
  const hash = await createSHA1();
  if (state) hash.load(state);
  else hash.init();
  return {
    resumable: true,
    update: (chunk) => void hash.update(chunk),
    digest: () => hash.digest('hex'),
    save: () => hash.save(),
  };
}
