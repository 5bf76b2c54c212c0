/** The API's shapes, from the same zod schemas the OpenAPI description is made of (type-only: nothing is bundled). */
import type * as z from 'zod/mini';
import type { contentInfo, downloadLink, imageRecord, uploadSession } from '../../functions/api/responses.js';

export interface components {
  Image: z.output<typeof imageRecord>;
  UploadSession: z.output<typeof uploadSession>;
  DownloadLink: z.output<typeof downloadLink>;
  ContentInfo: z.output<typeof contentInfo>;
}
