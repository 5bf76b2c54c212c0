/**
 * How a hash goes on in another run: the hasher invokes itself (at its
 * deadline) and the re-drive invokes it (for a session that went quiet),
 * asynchronously, with this event instead of an S3 one. The run it starts
 * claims the session's lease and continues from the saved state
 * (finish.ts), so continuation past a deadline and recovery after a loss
 * are one path (DESIGN.md, "Content lifecycle" points 4-5).
 */
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { lambda } from '../clients.js';

export interface HashContinuation {
  /** Marks the event; S3 events have `Records` instead. */
  source: 'image-service.hash';
  upload_id: string;
}

export function isHashContinuation(event: unknown): event is HashContinuation {
  const e = event as Partial<HashContinuation> | null;
  return typeof e === 'object' && e !== null && e.source === 'image-service.hash' && typeof e.upload_id === 'string';
}

/** Queues one hasher run for the session; Lambda retries it as any asynchronous event. */
export async function invokeHasher(functionName: string, uploadId: string): Promise<void> {
  const event: HashContinuation = { source: 'image-service.hash', upload_id: uploadId };
  await lambda().send(
    new InvokeCommand({
      FunctionName: functionName,
      InvocationType: 'Event',
      Payload: new TextEncoder().encode(JSON.stringify(event)),
    }),
  );
}
