/**
 * A name costs one read once a warm function has met it (the boot storm's
 * path), and never leads to the wrong image: a remembered UID whose record
 * no longer carries the name is dropped for a fresh look-up of the name guard.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { keys } from '../../functions/core/db/schema.js';
import { useHandlerEnv } from './fixtures.js';

const ddbMock = mockClient(DynamoDBDocumentClient);
mockClient(DynamoDBClient);

let findImage: typeof import('../../functions/core/images/service.js').findImage;

beforeAll(async () => {
  useHandlerEnv();
  ({ findImage } = await import('../../functions/core/images/service.js'));
});

const first = '0123456789abcdef0123456789abcdef';
const second = 'fedcba9876543210fedcba9876543210';
const image = (uid: string, name: string) => ({ Item: { ...keys.image(uid), kind: 'image', uid, name, frozen: false, version: 1 } });
const reads = () => ddbMock.commandCalls(GetCommand).map((call) => call.args[0].input.Key?.['pk'] as string);

beforeEach(() => ddbMock.reset());

describe('finding an image by name', () => {
  it('reads the name guard once, then only the record', async () => {
    ddbMock.on(GetCommand, { Key: keys.name('rocky9') }).resolves({ Item: { ...keys.name('rocky9'), uid: first } });
    ddbMock.on(GetCommand, { Key: keys.image(first) }).resolves(image(first, 'rocky9'));

    expect((await findImage('rocky9'))?.uid).toBe(first);
    expect(reads()).toEqual([keys.name('rocky9').pk, keys.image(first).pk]);
    expect((await findImage('rocky9'))?.uid).toBe(first);
    expect((await findImage('rocky9'))?.uid).toBe(first);
    expect(reads()).toEqual([keys.name('rocky9').pk, keys.image(first).pk, keys.image(first).pk, keys.image(first).pk]);
  });

  it('follows the name to another image once the remembered one was renamed', async () => {
    ddbMock.on(GetCommand, { Key: keys.name('alma9') }).resolves({ Item: { ...keys.name('alma9'), uid: first } });
    ddbMock.on(GetCommand, { Key: keys.image(first) }).resolves(image(first, 'alma9'));
    expect((await findImage('alma9'))?.uid).toBe(first);

    // The first image is renamed and a new one takes the name.
    ddbMock.reset();
    ddbMock.on(GetCommand, { Key: keys.image(first) }).resolves(image(first, 'alma9-old'));
    ddbMock.on(GetCommand, { Key: keys.name('alma9') }).resolves({ Item: { ...keys.name('alma9'), uid: second } });
    ddbMock.on(GetCommand, { Key: keys.image(second) }).resolves(image(second, 'alma9'));
    expect((await findImage('alma9'))?.uid).toBe(second);
    expect(reads()).toEqual([keys.image(first).pk, keys.name('alma9').pk, keys.image(second).pk]);
  });

  it('finds nothing once the remembered image is deleted and the name is free', async () => {
    ddbMock.on(GetCommand, { Key: keys.name('sles15') }).resolves({ Item: { ...keys.name('sles15'), uid: first } });
    ddbMock.on(GetCommand, { Key: keys.image(first) }).resolves(image(first, 'sles15'));
    expect((await findImage('sles15'))?.uid).toBe(first);

    ddbMock.reset();
    ddbMock.on(GetCommand).resolves({});
    expect(await findImage('sles15')).toBeUndefined();
    expect(reads()).toEqual([keys.image(first).pk, keys.name('sles15').pk]);
  });
});
