/**
 * Runs a Lambda handler in the test process against the shared local stack:
 * the same environment the stack gives its own handlers, set before the
 * handler's module is loaded (handlers read it when first used).
 */
import { useLocalHandlerEnvironment } from '../../local/handler-env.js';
import { stack } from './api.js';

export function useStackEnvironment(): void {
  useLocalHandlerEnvironment(stack(), { POWERTOOLS_LOG_LEVEL: 'ERROR', POWERTOOLS_METRICS_DISABLED: 'true' });
}
