/** A start-up failure with one line that says what to do; `npm start` prints it without a stack. */
export class LocalStackError extends Error {
  override readonly name = 'LocalStackError';
}
