/** Validation of blob keys and dataset paths: one rule set for both storages, so a key that works locally works on S3. */

export class InvalidBlobKeyError extends Error {
  override name = 'InvalidBlobKeyError';
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`invalid blob key ${JSON.stringify(key)}: ${reason}`);
  }
}

/** Reserved first segment: the local store's temporary files live there. */
export const RESERVED_TMP_SEGMENT = '.floe-tmp';

const MAX_KEY_BYTES = 1024; // S3's limit on object key length

/** Throws `InvalidBlobKeyError` unless `key` is a relative `/`-separated path without traversal. */
export function checkBlobKey(key: unknown): string {
  if (typeof key !== 'string') throw new InvalidBlobKeyError(String(key), 'must be a string');
  if (key.length === 0) throw new InvalidBlobKeyError(key, 'is empty');
  if (key.includes('\0')) throw new InvalidBlobKeyError(key, 'contains a NUL character');
  if ([...key].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f))
    throw new InvalidBlobKeyError(key, 'contains a control character');
  if (key.includes('\\')) throw new InvalidBlobKeyError(key, 'contains a backslash (use "/" between segments)');
  if (key.startsWith('/')) throw new InvalidBlobKeyError(key, 'is absolute (must be relative to the store)');
  if (/^[A-Za-z]:/.test(key)) throw new InvalidBlobKeyError(key, 'starts with a drive letter');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES)
    throw new InvalidBlobKeyError(key, `is longer than ${MAX_KEY_BYTES} bytes`);
  const segments = key.split('/');
  for (const segment of segments) {
    if (segment === '..') throw new InvalidBlobKeyError(key, 'contains a ".." segment (path traversal)');
    if (segment === '.') throw new InvalidBlobKeyError(key, 'contains a "." segment');
    if (segment === '') throw new InvalidBlobKeyError(key, 'contains an empty segment ("//" or a trailing "/")');
  }
  if (segments[0] === RESERVED_TMP_SEGMENT) throw new InvalidBlobKeyError(key, `"${RESERVED_TMP_SEGMENT}" is reserved`);
  return key;
}

/** A list prefix may be empty or end with "/", but must not escape the store either. */
export function checkBlobPrefix(prefix: unknown): string {
  if (prefix === undefined || prefix === '') return '';
  if (typeof prefix !== 'string') throw new InvalidBlobKeyError(String(prefix), 'prefix must be a string');
  checkBlobKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
  return prefix;
}

/** Turns BlobData into chunks of bytes. */
export async function* chunksOf(
  data: Uint8Array | string | AsyncIterable<Uint8Array | string>,
): AsyncIterable<Uint8Array> {
  if (typeof data === 'string') {
    yield Buffer.from(data, 'utf8');
  } else if (data instanceof Uint8Array) {
    yield data;
  } else {
    for await (const chunk of data) yield typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
  }
}

export function checkRange(key: string, start: number, end: number): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new RangeError(`invalid byte range [${start}, ${end}) for blob "${key}"`);
  }
}
