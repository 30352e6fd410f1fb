/** Bytes to store: whole, as text (UTF-8), or as a stream of chunks (e.g. `fs.createReadStream`). */
export type BlobData = Uint8Array | string | AsyncIterable<Uint8Array | string>;

export interface BlobInfo {
  key: string;
  size: number;
  modified: Date;
}

/**
 * Artifacts (models, plots, reports, exports) by key: `a/b/c.ext`, `/`-separated, relative.
 * The same behaviour on a local folder and on S3-compatible object storage:
 * - `put` is atomic: readers see the old object or the complete new one, never a part, and a write
 *   that fails (including a stream that throws midway) leaves the old object as it was;
 * - `get`/`getRange`/`stat` of a missing key throw `BlobNotFoundError` (`stat` returns undefined);
 * - `delete` of a missing key is not an error;
 * - keys with `..`, `.`, empty segments, a leading `/`, `\` or NUL are refused (`InvalidBlobKeyError`).
 */
export interface BlobStore {
  readonly kind: 'local' | 's3';
  put(key: string, data: BlobData): Promise<void>;
  get(key: string): Promise<Uint8Array>;
  /** Bytes `[start, end)` (end exclusive, clamped to the object's size). */
  getRange(key: string, start: number, end: number): Promise<Uint8Array>;
  /** The object as a stream of chunks, for large artifacts. */
  getStream(key: string): Promise<AsyncIterable<Uint8Array>>;
  exists(key: string): Promise<boolean>;
  stat(key: string): Promise<BlobInfo | undefined>;
  /** Keys starting with `prefix` (a plain string prefix, as in S3), sorted. */
  list(prefix?: string): Promise<string[]>;
  delete(key: string): Promise<void>;
  /** Where the object lives: a `file://` URL or an `s3://bucket/key` URI. */
  url(key: string): string;
  /** Releases connections (S3 client sockets); the store's `close()` calls it. */
  close(): void;
}

export class BlobNotFoundError extends Error {
  override name = 'BlobNotFoundError';
  constructor(
    readonly key: string,
    where: string,
  ) {
    super(`no blob "${key}" in ${where}`);
  }
}
