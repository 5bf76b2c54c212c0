/** Lambda: image content, upload sessions, capture jobs, and image deletion (which releases content). */
import * as capture from './api/capture.js';
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
  'POST /api/v1/image/{id}/capture': capture.startCapture,
  'GET /api/v1/image/{id}/capture': capture.listOrStartCapture,
  'DELETE /api/v1/image/{id}/capture/{capture_id}': capture.revokeCapture,
  'GET /api/v1/capture/{capture_id}': capture.captureStatus,
  'PUT /api/v1/capture/{capture_id}/content': capture.captureStartUpload,
  'GET /api/v1/capture/{capture_id}/content/upload/{upload_id}': capture.captureDescribeUpload,
  'POST /api/v1/capture/{capture_id}/content/upload/{upload_id}': capture.captureCompleteUpload,
  'DELETE /api/v1/capture/{capture_id}/content/upload/{upload_id}': capture.captureAbortUpload,
});
