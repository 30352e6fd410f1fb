/**
 * Blobs on S3-compatible object storage (AWS S3, SeaweedFS, MinIO, Ceph RGW …) through
 * @aws-sdk/client-s3, path-style addressing when an endpoint is given. S3 makes a PUT visible only
 * once complete; large or streamed writes use a multipart upload that is aborted on failure, so a
 * failed write never shows a partial object either.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import { checkBlobKey, checkBlobPrefix, checkRange, chunksOf } from './keys';
import { BlobNotFoundError, type BlobData, type BlobInfo, type BlobStore } from './types';

export interface S3Options {
  /** e.g. `http://127.0.0.1:8333`. Default: `FLOE_S3_ENDPOINT`, `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, else AWS. */
  endpoint?: string;
  /** Default: `AWS_REGION`, `AWS_DEFAULT_REGION`, else `us-east-1`. */
  region?: string;
  /** Default: `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`. */
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** Path-style URLs (`endpoint/bucket/key`). Default: true when an endpoint is given. */
  forcePathStyle?: boolean;
  /** Create the bucket when it does not exist. Default: false (`FLOE_S3_CREATE_BUCKET=1` turns it on). */
  createBucket?: boolean;
}

export interface ResolvedS3Config {
  endpoint?: string;
  region: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  forcePathStyle: boolean;
  createBucket: boolean;
}

export function resolveS3Config(opts: S3Options = {}, env: NodeJS.ProcessEnv = process.env): ResolvedS3Config {
  const endpoint = opts.endpoint ?? env.FLOE_S3_ENDPOINT ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  return {
    endpoint,
    region: opts.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    accessKeyId: opts.accessKeyId ?? env.AWS_ACCESS_KEY_ID,
    secretAccessKey: opts.secretAccessKey ?? env.AWS_SECRET_ACCESS_KEY,
    sessionToken: opts.sessionToken ?? env.AWS_SESSION_TOKEN,
    forcePathStyle: opts.forcePathStyle ?? endpoint !== undefined,
    createBucket: opts.createBucket ?? env.FLOE_S3_CREATE_BUCKET === '1',
  };
}

/** `s3://bucket/some/prefix` → bucket and a prefix that is empty or ends with "/". */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!match) throw new Error(`not an S3 URL: ${url} (expected s3://bucket/prefix)`);
  const [, bucket, rest] = match;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new Error(`invalid S3 bucket name "${bucket}" in ${url} (3-63 lowercase letters, digits, "." or "-")`);
  }
  const trimmed = rest.replace(/\/+$/, '');
  if (trimmed) checkBlobKey(trimmed);
  return { bucket, prefix: trimmed ? `${trimmed}/` : '' };
}

/** Objects up to this size go in one PUT; larger or streamed ones in parts of this size (S3's minimum part is 5 MiB). */
const PART_SIZE = 8 * 1024 * 1024;

function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function isMissing(err: unknown): boolean {
  const name = (err as Error).name;
  return name === 'NoSuchKey' || name === 'NotFound' || httpStatus(err) === 404;
}

export class S3BlobStore implements BlobStore {
  readonly kind = 's3' as const;

  private constructor(
    readonly client: S3Client,
    readonly bucket: string,
    /** Empty or ends with "/". */
    readonly prefix: string,
  ) {}

  static clientFor(config: ResolvedS3Config): S3Client {
    return new S3Client({
      endpoint: config.endpoint,
      region: config.region,
      forcePathStyle: config.forcePathStyle,
      credentials:
        config.accessKeyId && config.secretAccessKey
          ? {
              accessKeyId: config.accessKeyId,
              secretAccessKey: config.secretAccessKey,
              sessionToken: config.sessionToken,
            }
          : undefined,
      // Checksums on every request are newer than some S3-compatible servers; send them only when required.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  static async open(args: { bucket: string; prefix: string; config: ResolvedS3Config }): Promise<S3BlobStore> {
    const client = S3BlobStore.clientFor(args.config);
    const where = `s3://${args.bucket} at ${args.config.endpoint ?? 'AWS'}`;
    try {
      await client.send(new HeadBucketCommand({ Bucket: args.bucket }));
    } catch (err) {
      if (!isMissing(err)) {
        client.destroy();
        throw new Error(`cannot reach bucket ${where}: ${(err as Error).name} ${(err as Error).message}`, {
          cause: err,
        });
      }
      if (!args.config.createBucket) {
        client.destroy();
        throw new Error(
          `bucket ${where} does not exist (create it, or pass s3.createBucket / FLOE_S3_CREATE_BUCKET=1)`,
        );
      }
      try {
        await client.send(new CreateBucketCommand({ Bucket: args.bucket }));
      } catch (createErr) {
        const name = (createErr as Error).name;
        if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') {
          client.destroy();
          throw new Error(`cannot create bucket ${where}: ${(createErr as Error).message}`, { cause: createErr });
        }
      }
    }
    return new S3BlobStore(client, args.bucket, args.prefix);
  }

  /** Storage options for lancedb (Rust object_store names) matching this configuration. */
  static lanceStorageOptions(config: ResolvedS3Config): Record<string, string> {
    const options: Record<string, string> = { aws_region: config.region };
    if (config.endpoint) {
      options.aws_endpoint = config.endpoint;
      if (config.endpoint.startsWith('http://')) options.allow_http = 'true';
    }
    if (config.forcePathStyle) options.aws_virtual_hosted_style_request = 'false';
    if (config.accessKeyId) options.aws_access_key_id = config.accessKeyId;
    if (config.secretAccessKey) options.aws_secret_access_key = config.secretAccessKey;
    if (config.sessionToken) options.aws_session_token = config.sessionToken;
    return options;
  }

  private objectKey(key: string): string {
    return this.prefix + checkBlobKey(key);
  }

  private where(): string {
    return `s3://${this.bucket}/${this.prefix}`;
  }

  async put(key: string, data: BlobData): Promise<void> {
    const Key = this.objectKey(key);
    if (typeof data === 'string' || data instanceof Uint8Array) {
      const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      if (body.byteLength <= PART_SIZE) {
        await this.client.send(
          new PutObjectCommand({ Bucket: this.bucket, Key, Body: body, ContentLength: body.byteLength }),
        );
        return;
      }
    }
    // Buffer up to one part; a small stream still goes as one PUT.
    const iterator = chunksOf(data)[Symbol.asyncIterator]();
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    let done = false;
    const fill = async (): Promise<void> => {
      while (!done && pendingBytes < PART_SIZE) {
        const next = await iterator.next();
        if (next.done) done = true;
        else {
          pending.push(next.value);
          pendingBytes += next.value.byteLength;
        }
      }
    };
    const takePart = (): Buffer => {
      const all = Buffer.concat(pending);
      const part = all.subarray(0, Math.min(PART_SIZE, all.byteLength));
      const rest = all.subarray(part.byteLength);
      pending = rest.byteLength > 0 ? [rest] : [];
      pendingBytes = rest.byteLength;
      return part;
    };
    await fill();
    if (done && pendingBytes <= PART_SIZE) {
      const body = Buffer.concat(pending);
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key, Body: body, ContentLength: body.byteLength }),
      );
      return;
    }
    const { UploadId } = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key }));
    const parts: CompletedPart[] = [];
    try {
      while (pendingBytes > 0 || !done) {
        await fill();
        if (pendingBytes === 0) break;
        const body = takePart();
        const PartNumber = parts.length + 1;
        const { ETag } = await this.client.send(
          new UploadPartCommand({
            Bucket: this.bucket,
            Key,
            UploadId,
            PartNumber,
            Body: body,
            ContentLength: body.byteLength,
          }),
        );
        parts.push({ ETag, PartNumber });
      }
      await this.client.send(
        new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId, MultipartUpload: { Parts: parts } }),
      );
    } catch (err) {
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId }))
        .catch(() => undefined);
      throw err;
    }
  }

  async get(key: string): Promise<Uint8Array> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return await out.Body!.transformToByteArray();
    } catch (err) {
      if (isMissing(err)) throw new BlobNotFoundError(key, this.where());
      throw err;
    }
  }

  async getRange(key: string, start: number, end: number): Promise<Uint8Array> {
    checkRange(key, start, end);
    if (start === end) {
      if (!(await this.exists(key))) throw new BlobNotFoundError(key, this.where());
      return new Uint8Array(0);
    }
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key), Range: `bytes=${start}-${end - 1}` }),
      );
      return await out.Body!.transformToByteArray();
    } catch (err) {
      if (isMissing(err)) throw new BlobNotFoundError(key, this.where());
      // 416: the range starts at or past the end; clamp like the local store does.
      if (httpStatus(err) === 416 || (err as Error).name === 'InvalidRange') return new Uint8Array(0);
      throw err;
    }
  }

  async getStream(key: string): Promise<AsyncIterable<Uint8Array>> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return out.Body as unknown as AsyncIterable<Uint8Array>;
    } catch (err) {
      if (isMissing(err)) throw new BlobNotFoundError(key, this.where());
      throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    return (await this.stat(key)) !== undefined;
  }

  async stat(key: string): Promise<BlobInfo | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return { key, size: out.ContentLength ?? 0, modified: out.LastModified ?? new Date(0) };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async list(prefix = ''): Promise<string[]> {
    checkBlobPrefix(prefix);
    const keys: string[] = [];
    let ContinuationToken: string | undefined;
    do {
      const out = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken }),
      );
      for (const object of out.Contents ?? []) {
        if (object.Key && !object.Key.endsWith('/')) keys.push(object.Key.slice(this.prefix.length));
      }
      ContinuationToken = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (ContinuationToken);
    return keys.sort();
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
  }

  url(key: string): string {
    return `s3://${this.bucket}/${this.objectKey(key)}`;
  }

  close(): void {
    this.client.destroy();
  }
}
