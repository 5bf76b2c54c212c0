/**
 * The IAM grants in infra/constructs/grants.ts against the AWS SDK commands
 * the code in functions/ sends or presigns. The local stack enforces no IAM,
 * so without this a new command would first fail as AccessDenied on AWS.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FUNCTIONS_DIR } from '../../infra/bundling.js';
import {
  CONTENT_OBJECT_ACTIONS,
  HASHER_OBJECT_ACTIONS,
  SWEEPER_OBJECT_ACTIONS,
  TABLE_ITEM_ACTIONS,
} from '../../infra/constructs/grants.js';

const WRITE_ITEMS = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem'];

/** SDK command (lib-dynamodb, client-dynamodb or client-s3 name) → the IAM actions it needs. */
const ACTIONS: Readonly<Record<string, readonly string[]>> = {
  Get: ['dynamodb:GetItem'],
  GetItem: ['dynamodb:GetItem'],
  Put: ['dynamodb:PutItem'],
  PutItem: ['dynamodb:PutItem'],
  Update: ['dynamodb:UpdateItem'],
  UpdateItem: ['dynamodb:UpdateItem'],
  Delete: ['dynamodb:DeleteItem'],
  DeleteItem: ['dynamodb:DeleteItem'],
  Query: ['dynamodb:Query'],
  Scan: ['dynamodb:Scan'],
  BatchGet: ['dynamodb:BatchGetItem'],
  BatchGetItem: ['dynamodb:BatchGetItem'],
  BatchWrite: ['dynamodb:BatchWriteItem'],
  BatchWriteItem: ['dynamodb:BatchWriteItem'],
  TransactGet: ['dynamodb:GetItem'],
  TransactGetItems: ['dynamodb:GetItem'],
  TransactWrite: WRITE_ITEMS,
  TransactWriteItems: WRITE_ITEMS,
  GetObject: ['s3:GetObject'],
  HeadObject: ['s3:GetObject'],
  PutObject: ['s3:PutObject'],
  CreateMultipartUpload: ['s3:PutObject'],
  UploadPart: ['s3:PutObject'],
  CompleteMultipartUpload: ['s3:PutObject'],
  AbortMultipartUpload: ['s3:AbortMultipartUpload'],
  ListParts: ['s3:ListMultipartUploadParts'],
  DeleteObject: ['s3:DeleteObject'],
  // The hasher's continuation and the sweeper's re-drive; granted on the hasher alone (test/infra/stack.test.ts).
  Invoke: ['lambda:InvokeFunction'],
};

function commandsInFunctions(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const files = readdirSync(FUNCTIONS_DIR, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  for (const file of files) {
    for (const m of readFileSync(join(FUNCTIONS_DIR, file), 'utf8').matchAll(/\bnew (\w+)Command\b/g)) {
      const name = m[1] ?? '';
      found.set(name, [...(found.get(name) ?? []), file]);
    }
  }
  return found;
}

describe('grants match the SDK commands in functions/', () => {
  const commands = commandsInFunctions();
  const needed = (prefix: string): string[] =>
    [...new Set([...commands.keys()].flatMap((c) => ACTIONS[c] ?? []).filter((a) => a.startsWith(prefix)))].sort();

  it('finds the commands, and knows each one', () => {
    expect(commands.size).toBeGreaterThan(0);
    const unknown = [...commands.entries()].filter(([c]) => !(c in ACTIONS)).map(([c, files]) => `${c}Command in ${files.join(', ')}`);
    expect(unknown, 'add the command to ACTIONS here and its action to infra/constructs/grants.ts').toEqual([]);
  });

  it('the table grant is exactly what the commands need', () => {
    expect([...TABLE_ITEM_ACTIONS].sort()).toEqual(needed('dynamodb:'));
  });

  it('the content grant is exactly the object operations the code performs or presigns', () => {
    expect([...CONTENT_OBJECT_ACTIONS].sort()).toEqual(needed('s3:'));
  });

  it('the hasher gets a subset: read and delete', () => {
    expect(CONTENT_OBJECT_ACTIONS).toEqual(expect.arrayContaining([...HASHER_OBJECT_ACTIONS]));
    expect([...HASHER_OBJECT_ACTIONS].sort()).toEqual(['s3:DeleteObject', 's3:GetObject']);
  });

  it('the sweeper gets a subset: what a quiet session needs (check, list, complete, abort, delete)', () => {
    expect(CONTENT_OBJECT_ACTIONS).toEqual(expect.arrayContaining([...SWEEPER_OBJECT_ACTIONS]));
  });
});
