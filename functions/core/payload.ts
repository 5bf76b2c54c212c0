/**
 * What Lambda counts against its response limit: the returned object
 * serialized as JSON, in UTF-8. An API answer's body is JSON carried in that
 * object as a string, so its text is escaped a second time (every quote and
 * backslash doubles, a control character grows from one byte to seven).
 */
export const LAMBDA_MAX_RESPONSE_BYTES = 6 * 1024 * 1024;

/** The bytes `json`, once part of a response body, adds to the Lambda response payload. */
export const payloadBytesOf = (json: string): number => Buffer.byteLength(JSON.stringify(json), 'utf8') - 2;
