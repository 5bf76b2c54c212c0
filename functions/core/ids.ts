import { randomUUID } from 'node:crypto';

/** UIDs are 32 lower-case hex characters, as the head node's API writes them. */
export const UID_PATTERN = /^[0-9a-f]{32}$/;

export const newUid = (): string => randomUUID().replaceAll('-', '');

export const isUid = (value: string): boolean => UID_PATTERN.test(value);

/** Epoch seconds with a fraction, the API's `last_modified` unit. */
export const nowSeconds = (): number => Date.now() / 1000;
