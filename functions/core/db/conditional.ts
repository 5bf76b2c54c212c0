/**
 * A conditional write whose failed condition is an answer, not an error:
 * true when the item was written, false when it was not as the condition
 * required (another request or run got there first).
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';

export async function writtenIf(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}
