/** Lambda: image records (table only). Also API Gateway's `$default` route. */
import * as records from './api/records.js';
import { apiHandler } from './http/api-handler.js';

export const handler = apiHandler('records', {
  'POST /api/v1/images': records.createImage,
  'GET /api/v1/images': records.listImages,
  'GET /api/v1/image/{id}': records.getImage,
  'PATCH /api/v1/image/{id}': records.patchImage,
  'PUT /api/v1/image/{id}': records.replaceImage,
  'POST /api/v1/image/{id}/clone': records.cloneImage,
});
