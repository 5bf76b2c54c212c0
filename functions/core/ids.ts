import { randomUUID } from 'node:crypto';

/** UIDs are 32 lower-case hex characters, as the head node's API writes them. */
export const UID_PATTERN = /^[0-9a-f]{32}$/;

/** Image names: a letter, then letters, digits, ".", "_" or "-"; at most MAX_NAME_LENGTH. */
export const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9._-]*$/;
export const MAX_NAME_LENGTH = 128;

export const newUid = (): string => randomUUID().replaceAll('-', '');

export const isUid = (value: string): boolean => UID_PATTERN.test(value);

/** 32 hex digits in any case: a UID (no name may look like one, so none is mistaken). */
export const looksLikeUid = (value: string): boolean => /^[0-9a-fA-F]{32}$/.test(value);

/** The UID a value names when it is one, in any case; undefined otherwise. */
export const asUid = (value: string): string | undefined => (looksLikeUid(value) ? value.toLowerCase() : undefined);

/** Epoch seconds with a fraction, the API's `last_modified` unit. */
export const nowSeconds = (): number => Date.now() / 1000;
