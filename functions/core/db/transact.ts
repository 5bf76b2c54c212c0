/**
 * Conditional writes, one or many items. A single write goes out as a plain
 * Put/Update/Delete (half the cost of a one-item transaction); several go out
 * as one TransactWriteItems. Either way a failed condition comes back as the
 * index of the write whose condition failed, so callers map it to the domain
 * error that fits (name taken, concurrent change, ...).
 */
import {
  ConditionalCheckFailedException,
  TransactionCanceledException,
  TransactionConflictException,
} from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { ddb } from '../clients.js';
import { config } from '../config.js';

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];
type WithoutTable<T> = T extends { TableName?: string } ? Omit<T, 'TableName'> : T;

export type Write =
  | { Put: WithoutTable<NonNullable<TransactItem['Put']>> }
  | { Update: WithoutTable<NonNullable<TransactItem['Update']>> }
  | { Delete: WithoutTable<NonNullable<TransactItem['Delete']>> }
  | { ConditionCheck: WithoutTable<NonNullable<TransactItem['ConditionCheck']>> };

/** Thrown when one write's condition failed; `index` is its position. */
export class ConditionFailed extends Error {
  override readonly name = 'ConditionFailed';
  constructor(readonly index: number) {
    super(`condition of write ${index} failed`);
  }
}

/** A transaction lost to a concurrent one (DynamoDB's TransactionConflict). */
export class TransactionConflict extends Error {
  override readonly name = 'TransactionConflict';
}

export async function writeAll(writes: readonly Write[]): Promise<void> {
  const TableName = config.tableName;
  if (writes.length === 1) {
    const [only] = writes as [Write];
    try {
      if ('Put' in only) await ddb().send(new PutCommand({ TableName, ...only.Put }));
      else if ('Update' in only) await ddb().send(new UpdateCommand({ TableName, ...only.Update }));
      else if ('Delete' in only) await ddb().send(new DeleteCommand({ TableName, ...only.Delete }));
      else return await writeMany(TableName, writes);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new ConditionFailed(0);
      // A plain write that collided with a transaction in flight on the same item.
      if (error instanceof TransactionConflictException) throw new TransactionConflict(error.message);
      throw error;
    }
    return;
  }
  await writeMany(TableName, writes);
}

async function writeMany(TableName: string, writes: readonly Write[]): Promise<void> {
  const TransactItems = writes.map((w): TransactItem => {
    if ('Put' in w) return { Put: { TableName, ...w.Put } };
    if ('Update' in w) return { Update: { TableName, ...w.Update } };
    if ('Delete' in w) return { Delete: { TableName, ...w.Delete } };
    return { ConditionCheck: { TableName, ...w.ConditionCheck } };
  });
  try {
    await ddb().send(new TransactWriteCommand({ TransactItems }));
  } catch (error) {
    if (error instanceof TransactionCanceledException) {
      const reasons = error.CancellationReasons ?? [];
      const failed = reasons.findIndex((r) => r.Code === 'ConditionalCheckFailed');
      if (failed >= 0) throw new ConditionFailed(failed);
      if (reasons.some((r) => r.Code === 'TransactionConflict')) throw new TransactionConflict(error.message);
    }
    if (error instanceof TransactionConflictException) throw new TransactionConflict(error.message);
    throw error;
  }
}
