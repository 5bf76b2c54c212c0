/**
 * Conditional writes, one or many items. A single write goes out as a plain
 * Put/Update/Delete (half the cost of a one-item transaction); several go out
 * as one TransactWriteItems. Each write may carry the domain error its failed
 * condition means (`failsWith`: name taken, concurrent change, ...); writeAll
 * throws that error, or ConditionFailed for a write that names none.
 */
import { ConditionalCheckFailedException, TransactionCanceledException, TransactionConflictException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand, TransactWriteCommand, UpdateCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../clients.js';
import { config } from '../config.js';

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];
type WithoutTable<T> = T extends { TableName?: string } ? Omit<T, 'TableName'> : T;

export type Write = (
  | { Put: WithoutTable<NonNullable<TransactItem['Put']>> }
  | { Update: WithoutTable<NonNullable<TransactItem['Update']>> }
  | { Delete: WithoutTable<NonNullable<TransactItem['Delete']>> }
  | { ConditionCheck: WithoutTable<NonNullable<TransactItem['ConditionCheck']>> }
) & {
  /** The error to throw when this write's condition fails. */
  failsWith?: () => Error;
};

/** The same write, failing with `error` when its condition does not hold. */
export const failingWith = (write: Write, error: () => Error): Write => ({ ...write, failsWith: error });

/** Thrown when the condition of a write that names no error of its own failed. */
export class ConditionFailed extends Error {
  override readonly name = 'ConditionFailed';
  constructor() {
    super('a write condition failed');
  }
}

const failureOf = (write: Write | undefined): Error => write?.failsWith?.() ?? new ConditionFailed();

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
      if (error instanceof ConditionalCheckFailedException) throw failureOf(only);
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
      // Reasons come in the order of the writes, one each.
      const failed = reasons.findIndex((r) => r.Code === 'ConditionalCheckFailed');
      if (failed >= 0) throw failureOf(writes[failed]);
      if (reasons.some((r) => r.Code === 'TransactionConflict')) throw new TransactionConflict(error.message);
    }
    if (error instanceof TransactionConflictException) throw new TransactionConflict(error.message);
    throw error;
  }
}
