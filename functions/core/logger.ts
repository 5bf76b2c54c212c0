import { Logger } from '@aws-lambda-powertools/logger';
import { config } from './config.js';

/** One structured JSON logger per container, named by the stack's config (functions/core/config.ts). */
export const logger = new Logger({ serviceName: config.serviceName });
