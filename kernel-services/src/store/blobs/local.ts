/**
 * Blobs as files under one folder. Writes go to `<root>/.floe-tmp/` first, are fsynced and renamed
 * into place (rename is atomic within a file system), so a reader never sees a partial file and a
 * failed or killed write leaves at most an orphan temp file, which `open` sweeps later.
 */
import { randomUUID } from 'node:crypto';
import type * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { checkBlobKey, checkBlobPrefix, checkRange, chunksOf, RESERVED_TMP_SEGMENT } from './keys';
import { BlobNotFoundError, type BlobData, type BlobInfo, type BlobStore } from './types';

/** Temp files older than this belong to a dead writer and may be removed. */
const ORPHAN_AGE_MS = 24 * 3600 * 1000;

function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export class LocalBlobStore implements BlobStore {
  readonly kind = 'local' as const;
  private readonly tmpDir: string;

  constructor(readonly root: string) {
    this.root = path.resolve(root);
    this.tmpDir = path.join(this.root, RESERVED_TMP_SEGMENT);
  }

  static async open(root: string): Promise<LocalBlobStore> {
    const store = new LocalBlobStore(root);
    await fsp.mkdir(store.tmpDir, { recursive: true });
    await store.sweepOrphans();
    return store;
  }

  private pathOf(key: string): string {
    return path.join(this.root, ...checkBlobKey(key).split('/'));
  }

  async put(key: string, data: BlobData): Promise<void> {
    const target = this.pathOf(key);
    const tmp = path.join(this.tmpDir, `${randomUUID()}.part`);
    await fsp.mkdir(this.tmpDir, { recursive: true });
    const handle = await fsp.open(tmp, 'wx');
    try {
      try {
        for await (const chunk of chunksOf(data)) {
          let offset = 0;
          while (offset < chunk.byteLength) {
            const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset);
            offset += bytesWritten;
          }
        }
        await handle.sync();
      } finally {
        await handle.close();
      }
      // A concurrent delete may remove the empty parent folder between mkdir and rename: retry.
      for (let attempt = 0; ; attempt++) {
        await fsp.mkdir(path.dirname(target), { recursive: true });
        try {
          await fsp.rename(tmp, target);
          break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 3) throw err;
        }
      }
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      if ((err as NodeJS.ErrnoException).code === 'EISDIR' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') {
        throw new Error(
          `cannot write blob "${key}" in ${this.root}: a key and a key prefix collide on the local store (${(err as Error).message})`,
          { cause: err },
        );
      }
      throw err;
    }
    // Make the rename itself durable.
    await syncDir(path.dirname(target));
  }

  async get(key: string): Promise<Uint8Array> {
    try {
      return await fsp.readFile(this.pathOf(key));
    } catch (err) {
      if (isNotFound(err) || (err as NodeJS.ErrnoException).code === 'EISDIR')
        throw new BlobNotFoundError(key, this.root);
      throw err;
    }
  }

  async getRange(key: string, start: number, end: number): Promise<Uint8Array> {
    checkRange(key, start, end);
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(this.pathOf(key), 'r');
    } catch (err) {
      if (isNotFound(err)) throw new BlobNotFoundError(key, this.root);
      throw err;
    }
    try {
      const { size } = await handle.stat();
      const stop = Math.min(end, size);
      if (start >= stop) return new Uint8Array(0);
      const out = Buffer.allocUnsafe(stop - start);
      let filled = 0;
      while (filled < out.byteLength) {
        const { bytesRead } = await handle.read(out, filled, out.byteLength - filled, start + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return out.subarray(0, filled);
    } finally {
      await handle.close();
    }
  }

  async getStream(key: string): Promise<AsyncIterable<Uint8Array>> {
    const file = this.pathOf(key);
    // Open first so a missing key fails here, not on the first read.
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(file, 'r');
    } catch (err) {
      if (isNotFound(err)) throw new BlobNotFoundError(key, this.root);
      throw err;
    }
    return handle.createReadStream({ autoClose: true });
  }

  async exists(key: string): Promise<boolean> {
    return (await this.stat(key)) !== undefined;
  }

  async stat(key: string): Promise<BlobInfo | undefined> {
    try {
      const st = await fsp.stat(this.pathOf(key));
      return st.isFile() ? { key, size: st.size, modified: st.mtime } : undefined;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async list(prefix = ''): Promise<string[]> {
    checkBlobPrefix(prefix);
    // Walk only the folder the prefix points into, then filter by the string prefix.
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash >= 0 ? prefix.slice(0, slash) : '';
    const start = dirKey ? path.join(this.root, ...dirKey.split('/')) : this.root;
    const keys: string[] = [];
    const walk = async (dir: string, keyPrefix: string): Promise<void> => {
      let entries: fs.Dirent[];
      try {
        entries = await fsp.readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (isNotFound(err)) return;
        throw err;
      }
      for (const entry of entries) {
        const key = keyPrefix + entry.name;
        if (!keyPrefix && entry.name === RESERVED_TMP_SEGMENT) continue;
        if (entry.isDirectory()) {
          // Descend only where the prefix can still match.
          const asDir = `${key}/`;
          if (asDir.startsWith(prefix) || prefix.startsWith(asDir)) await walk(path.join(dir, entry.name), asDir);
        } else if (entry.isFile() && key.startsWith(prefix)) {
          keys.push(key);
        }
      }
    };
    await walk(start, dirKey ? `${dirKey}/` : '');
    return keys.sort();
  }

  async delete(key: string): Promise<void> {
    const file = this.pathOf(key);
    try {
      await fsp.unlink(file);
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    // Remove folders the delete left empty, up to the root, so `list` stays cheap.
    let dir = path.dirname(file);
    while (dir.startsWith(this.root + path.sep) && dir !== this.root) {
      try {
        await fsp.rmdir(dir);
      } catch {
        break; // not empty, or removed concurrently
      }
      dir = path.dirname(dir);
    }
  }

  url(key: string): string {
    return pathToFileURL(this.pathOf(key)).toString();
  }

  close(): void {
    // Nothing held open between calls.
  }

  /** Removes temp files left by writers that died long ago (never a live writer's file). */
  private async sweepOrphans(): Promise<void> {
    const now = Date.now();
    for (const name of await fsp.readdir(this.tmpDir).catch(() => [] as string[])) {
      const file = path.join(this.tmpDir, name);
      const st = await fsp.stat(file).catch(() => undefined);
      if (st && now - st.mtimeMs > ORPHAN_AGE_MS) await fsp.rm(file, { force: true });
    }
  }
}

async function syncDir(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, 'r');
    await handle.sync();
  } catch {
    // Some file systems refuse fsync on a directory; the data itself is already synced.
  } finally {
    await handle?.close();
  }
}
