/** One byte range of an object; `end` is inclusive, as in an HTTP `Range` header. */
export interface ByteRange {
  readonly index: number;
  readonly start: number;
  readonly end: number;
  readonly length: number;
}

/** Splits [0, size) into consecutive ranges of `rangeSize` bytes (the last may be shorter). */
export function splitRanges(size: number, rangeSize: number): ByteRange[] {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new RangeError(`size must be a non-negative integer, got ${size}`);
  }
  if (!Number.isSafeInteger(rangeSize) || rangeSize <= 0) {
    throw new RangeError(`rangeSize must be a positive integer, got ${rangeSize}`);
  }
  const ranges: ByteRange[] = [];
  for (let start = 0, index = 0; start < size; start += rangeSize, index++) {
    const length = Math.min(rangeSize, size - start);
    ranges.push({ index, start, end: start + length - 1, length });
  }
  return ranges;
}
