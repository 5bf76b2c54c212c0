/**
 * A conditional write whose failed condition is an answer, not an error:
 * true when the item was written, false when it was not as the condition
 * required (another request or run got there first).
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';

const FAILED = Symbol('the condition failed');

async function settled<T>(write: Promise<T>): Promise<T | typeof FAILED> {
  try {
    return await write;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return FAILED;
    throw error;
  }
}

export async function writtenIf(write: Promise<unknown>): Promise<boolean> {
  return (await settled(write)) !== FAILED;
}

/** The write's output (what `ReturnValues` asked for) when it was written; undefined when its condition failed. */
export async function outputIf<T>(write: Promise<T>): Promise<T | undefined> {
  const out = await settled(write);
  return out === FAILED ? undefined : out;
}
