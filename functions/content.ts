/** Lambda: image content, upload sessions, and image deletion (which releases content). */
import * as content from './api/content.js';
import { apiHandler } from './http/api-handler.js';

export const handler = apiHandler('content', {
  'DELETE /api/v1/image/{id}': content.deleteImage,
  'GET /api/v1/image/{id}/content': content.getContent,
  'PUT /api/v1/image/{id}/content': content.startUpload,
  'DELETE /api/v1/image/{id}/content': content.deleteContent,
  'GET /api/v1/image/{id}/content/stat': content.contentStat,
  'GET /api/v1/image/{id}/content/info': content.contentInfo,
  'GET /api/v1/image/{id}/content/upload/{upload_id}': content.describeUpload,
  'POST /api/v1/image/{id}/content/upload/{upload_id}': content.completeUpload,
  'DELETE /api/v1/image/{id}/content/upload/{upload_id}': content.abortUpload,
});
