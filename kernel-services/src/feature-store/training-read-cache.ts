/**
 * The training-read cache: one split of a frozen training dataset materialised once as a flat file of
 * fixed-size float32 records in split order, so that a shuffled epoch is positional reads from a local
 * file instead of Lance random-access takes (whose rows cross from Rust to JavaScript as Arrow IPC at
 * roughly 150–250 MB per CPU-second here; see docs/benchmarks.md, featurestore).
 *
 * A training dataset is immutable (its splits are exact Lance row ids at one Lance version), so the
 * cache never goes stale in place: it is keyed by the dataset's frozen identity and the loader's
 * selection, and rebuilt when the file on disk does not match that identity or fails its checksums.
 *
 * File layout (little-endian):
 *   [0, 8)          magic `FLOETRC1`
 *   [8, 12)         u32 length L of the header JSON
 *   [12, 12+L)      header JSON (ReadCacheHeader)
 *   [12+L, 44+L)    SHA-256 of the header JSON bytes
 *   … zero padding to `recordsOffset` (a multiple of 4096)
 *   records         `count` records of `recordBytes`: the channels stacked channels-last, [H, W, C] float32
 *   labels          `count` float32 (the loader's `ys`)
 *   scalars         per scalar feature, `count` float32 (null → NaN)
 * `contentSha256` covers everything from `recordsOffset` to the end of the file.
 *
 * Writes go to a temporary file that is fsynced and renamed over the final name, so a crash never
 * leaves a half-written cache under the name readers open. Builders of the same file take a lock
 * file so concurrent loaders (e.g. search workers) build it once; the rename keeps even racing
 * builders (a stolen stale lock) from producing a corrupt file — the last complete one wins.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type * as arrow from 'apache-arrow';
import type { TensorFeature } from '@floe/schema';
import { FeatureStoreError } from './errors';
import { TrainingDataset } from './training-dataset';

export const READ_CACHE_FORMAT = 'floe-training-reads/1';
const MAGIC = Buffer.from('FLOETRC1', 'ascii');
const BLOCK = 4096;
/** A lock whose holder stopped touching it this long ago is abandoned (holders touch it every 2 s). */
const STALE_LOCK_MS = 30_000;

/** What a loader reads: tensor features stacked as channels, the label, and scalar inputs. */
export interface ReadCacheSelection {
  channels: TensorFeature[];
  label: string;
  scalars: string[];
}

export interface ReadCacheHeader {
  format: string;
  /** SHA-256 of the frozen identity below (dataset, Lance version, selection, shape). */
  identity: string;
  project: string | null;
  dataset: { id: number; name: string; version: number; splitsBlob: string };
  featureGroup: { name: string; version: number; table: string; commit: number; lanceVersion: number };
  split: string;
  channels: string[];
  label: string;
  scalars: string[];
  /** [H, W, C] of one record. */
  sampleShape: [number, number, number];
  recordBytes: number;
  count: number;
  /** SHA-256 of the split's row ids (u32 pairs, in split order): binds record i to row id i. */
  rowIdsSha256: string;
  recordsOffset: number;
  labelsOffset: number;
  scalarsOffset: number;
  fileBytes: number;
  contentSha256: string;
  builtAt: string;
  builtBy: string;
}

export type ReadCacheVerification = 'full' | 'header';

export interface ReadCacheOpenOptions {
  /** Folder for cache files. Default `FLOE_TRAINING_CACHE_DIR`, else `<home>/cache/training-reads`. */
  dir?: string;
  /**
   * `full` (default) also checks the content checksum, once per process for a given file (a
   * sequential read of it, which also warms the page cache); `header` checks identity, size and the
   * header checksum only.
   */
  verify?: ReadCacheVerification;
  /**
   * 0 (default): records are read on the calling thread with synchronous positional reads, in the
   * event loop turn after a batch is asked for (read-ahead fills idle turns). N: N reader threads.
   */
  readThreads?: number;
}

/** How a cache came to be used: found valid, or (re)built now and why. */
export interface ReadCacheStatus {
  file: string;
  state: 'hit' | 'built';
  /** Why it was built: missing, stale, corrupt (with details). */
  reason?: string;
  buildSeconds?: number;
}

/** [H, W, C] of the stacked channels; every channel must be [H, W] (or [H, W, 1]). */
export function stackedShape(channels: TensorFeature[]): [number, number, number] {
  const s = channels[0]!.shape;
  return [s[0]!, s[1] ?? 1, channels.length];
}

/** The Arrow buffers of one tensor column chunk, for stacking rows of it as a channel. */
export interface ChannelSource {
  values: Float32Array;
  base: number;
}

export function channelSources(batch: arrow.RecordBatch, channels: readonly string[], hw: number): ChannelSource[] {
  return channels.map((name) => {
    const data = batch.getChild(name)!.data[0]!;
    const child = data.children[0]!;
    return { values: child.values as Float32Array, base: data.offset * hw + child.offset };
  });
}

/** Row `r` of the channel sources, channels last, into `out` at `at` (floats). */
export function stackRow(bands: ChannelSource[], r: number, hw: number, out: Float32Array, at: number): void {
  const c = bands.length;
  if (c === 1) {
    const { values, base } = bands[0]!;
    out.set(values.subarray(base + r * hw, base + (r + 1) * hw), at);
    return;
  }
  for (let k = 0; k < c; k++) {
    const { values, base } = bands[k]!;
    const src = base + r * hw;
    for (let p = 0; p < hw; p++) out[at + p * c + k] = values[src + p]!;
  }
}

function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function rowIdsSha256(rowIds: readonly number[]): string {
  // Row ids are u64 in Lance and safe integers here: hash them as two u32 halves each.
  const buf = Buffer.allocUnsafe(rowIds.length * 8);
  rowIds.forEach((id, i) => {
    buf.writeUInt32LE(id % 2 ** 32, i * 8);
    buf.writeUInt32LE(Math.floor(id / 2 ** 32), i * 8 + 4);
  });
  return sha256Hex(buf);
}

const roundUp = (n: number, to: number): number => Math.ceil(n / to) * to;

function defaultDir(dataset: TrainingDataset): string {
  return process.env.FLOE_TRAINING_CACHE_DIR
    ? path.resolve(process.env.FLOE_TRAINING_CACHE_DIR)
    : path.join(dataset.featureStore.store.home, 'cache', 'training-reads');
}

/** Header fields fixed by the dataset and selection (everything but the content checksum and build stamp). */
async function expectedHeader(
  dataset: TrainingDataset,
  sel: ReadCacheSelection,
  split: string,
  rowIds: readonly number[],
): Promise<
  Omit<
    ReadCacheHeader,
    'contentSha256' | 'builtAt' | 'builtBy' | 'recordsOffset' | 'labelsOffset' | 'scalarsOffset' | 'fileBytes'
  >
> {
  const lineage = dataset.spec.lineage.featureGroup;
  const sampleShape = stackedShape(sel.channels);
  const frozen = {
    format: READ_CACHE_FORMAT,
    project: (await dataset.featureStore.store.meta('project_id')) ?? null,
    dataset: { id: dataset.info.id, name: dataset.name, version: dataset.version, splitsBlob: dataset.info.splitsBlob },
    featureGroup: {
      name: lineage.name,
      version: lineage.version,
      table: dataset.featureGroup.info.datasetTable,
      commit: lineage.commit,
      lanceVersion: lineage.lanceVersion,
    },
    channels: sel.channels.map((c) => c.name),
    label: sel.label,
    scalars: sel.scalars,
    sampleShape,
  };
  return {
    ...frozen,
    identity: sha256Hex(JSON.stringify(frozen)),
    split,
    recordBytes: sampleShape[0] * sampleShape[1] * sampleShape[2] * 4,
    count: rowIds.length,
    rowIdsSha256: rowIdsSha256(rowIds),
  };
}

type Expected = Awaited<ReturnType<typeof expectedHeader>>;

function layoutFor(
  e: Expected,
  headerJsonBytes: number,
): Pick<ReadCacheHeader, 'recordsOffset' | 'labelsOffset' | 'scalarsOffset' | 'fileBytes'> {
  const recordsOffset = roundUp(12 + headerJsonBytes + 32, BLOCK);
  const labelsOffset = recordsOffset + e.count * e.recordBytes;
  const scalarsOffset = labelsOffset + e.count * 4;
  return { recordsOffset, labelsOffset, scalarsOffset, fileBytes: scalarsOffset + e.scalars.length * e.count * 4 };
}

function cacheFile(dir: string, e: Expected): string {
  return path.join(dir, `${e.dataset.name}-v${e.dataset.version}`, `${e.split}.${e.identity.slice(0, 24)}.floereads`);
}

/** Files whose content checksum this process has checked, by path and inode identity. */
const verifiedFiles = new Set<string>();
const statKey = (file: string, st: fs.Stats): string => `${file}\0${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;

function readFully(fd: number, buf: Uint8Array, position: number, file: string): void {
  let done = 0;
  while (done < buf.length) {
    const n = fs.readSync(fd, buf, done, buf.length - done, position + done);
    if (n === 0)
      throw new FeatureStoreError(
        `training-read cache ${file}: ends at byte ${position + done}, expected ${position + buf.length}`,
      );
    done += n;
  }
}

function writeFully(fd: number, buf: Uint8Array, position: number): void {
  let done = 0;
  while (done < buf.length) done += fs.writeSync(fd, buf, done, buf.length - done, position + done);
}

/** Reads and checks a cache file's header against what the loader expects; a reason string when it does not match. */
function checkHeader(fd: number, file: string, e: Expected): ReadCacheHeader | string {
  const st = fs.fstatSync(fd);
  if (st.size < 12 + 32) return `file is ${st.size} bytes, too short for a header`;
  const head = Buffer.alloc(12);
  readFully(fd, head, 0, file);
  if (!head.subarray(0, 8).equals(MAGIC)) return 'bad magic (not a training-read cache file)';
  const jsonBytes = head.readUInt32LE(8);
  if (jsonBytes > 1 << 20 || 12 + jsonBytes + 32 > st.size) return `header length ${jsonBytes} does not fit the file`;
  const rest = Buffer.alloc(jsonBytes + 32);
  readFully(fd, rest, 12, file);
  const json = rest.subarray(0, jsonBytes);
  if (sha256Hex(json) !== rest.subarray(jsonBytes).toString('hex')) return 'header checksum mismatch (corrupt header)';
  let h: ReadCacheHeader;
  try {
    h = JSON.parse(json.toString('utf8')) as ReadCacheHeader;
  } catch (err) {
    return `header is not JSON: ${(err as Error).message}`;
  }
  if (h.format !== e.format) return `format ${h.format}, expected ${e.format}`;
  for (const key of ['identity', 'split', 'recordBytes', 'count', 'rowIdsSha256'] as const) {
    if (JSON.stringify(h[key]) !== JSON.stringify(e[key]))
      return `stale: ${key} is ${JSON.stringify(h[key])}, expected ${JSON.stringify(e[key])}`;
  }
  const layout = layoutFor(e, jsonBytes);
  for (const key of Object.keys(layout) as (keyof typeof layout)[]) {
    if (h[key] !== layout[key]) return `layout: ${key} is ${h[key]}, expected ${layout[key]}`;
  }
  if (st.size !== h.fileBytes) return `file is ${st.size} bytes, header says ${h.fileBytes} (truncated or extended)`;
  if (!/^[0-9a-f]{64}$/.test(h.contentSha256)) return 'header has no content checksum';
  return h;
}

/** The header of a cache file, its magic and header checksum checked (for tools and benchmarks). */
export function readCacheHeader(file: string): ReadCacheHeader {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(12);
    readFully(fd, head, 0, file);
    if (!head.subarray(0, 8).equals(MAGIC))
      throw new FeatureStoreError(`${file} is not a training-read cache file (bad magic)`);
    const jsonBytes = head.readUInt32LE(8);
    if (jsonBytes > 1 << 20)
      throw new FeatureStoreError(`training-read cache ${file}: header length ${jsonBytes} is not plausible`);
    const rest = Buffer.alloc(jsonBytes + 32);
    readFully(fd, rest, 12, file);
    if (sha256Hex(rest.subarray(0, jsonBytes)) !== rest.subarray(jsonBytes).toString('hex')) {
      throw new FeatureStoreError(`training-read cache ${file}: header checksum mismatch`);
    }
    return JSON.parse(rest.subarray(0, jsonBytes).toString('utf8')) as ReadCacheHeader;
  } finally {
    fs.closeSync(fd);
  }
}

function contentSha256(fd: number, file: string, from: number, to: number): string {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(Math.min(8 << 20, Math.max(1, to - from)));
  for (let at = from; at < to;) {
    const n = fs.readSync(fd, buf, 0, Math.min(buf.length, to - at), at);
    if (n === 0) throw new FeatureStoreError(`training-read cache ${file}: ends at byte ${at}, expected ${to}`);
    hash.update(buf.subarray(0, n));
    at += n;
  }
  return hash.digest('hex');
}

/** Opens and checks a cache file; a reason string when it is missing, stale or corrupt. */
function tryOpen(
  file: string,
  e: Expected,
  verify: ReadCacheVerification,
): { fd: number; header: ReadCacheHeader } | string {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw err;
  }
  try {
    const header = checkHeader(fd, file, e);
    if (typeof header === 'string') {
      fs.closeSync(fd);
      return header;
    }
    const key = statKey(file, fs.fstatSync(fd));
    if (verify === 'full' && !verifiedFiles.has(key)) {
      const sum = contentSha256(fd, file, header.recordsOffset, header.fileBytes);
      if (sum !== header.contentSha256) {
        fs.closeSync(fd);
        return `content checksum mismatch (corrupt data): ${sum.slice(0, 12)}… != ${header.contentSha256.slice(0, 12)}…`;
      }
      verifiedFiles.add(key);
    }
    return { fd, header };
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface LockOwner {
  host: string;
  pid: number;
  token: string;
}

function lockIsStale(lock: string): boolean {
  let st: fs.Stats;
  let owner: Partial<LockOwner> = {};
  try {
    st = fs.statSync(lock);
    owner = JSON.parse(fs.readFileSync(lock, 'utf8')) as LockOwner;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false; // gone: retry taking it
    // Unreadable owner (a holder that died between create and write): stale once it is not fresh.
    return Date.now() - (fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? 0) > 5_000;
  }
  if (owner.host === os.hostname() && typeof owner.pid === 'number' && !processAlive(owner.pid)) return true;
  return Date.now() - st.mtimeMs > STALE_LOCK_MS;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `build` holding `<file>.lock`, unless `ready()` becomes true first (another process built it).
 * The lock only saves duplicate work: correctness comes from the temp file + rename.
 */
async function underBuildLock(
  file: string,
  ready: () => boolean,
  build: () => Promise<void>,
): Promise<'built' | 'ready'> {
  const lock = `${file}.lock`;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const owner: LockOwner = { host: os.hostname(), pid: process.pid, token: randomBytes(8).toString('hex') };
  for (;;) {
    if (ready()) return 'ready';
    let fd: number;
    try {
      fd = fs.openSync(lock, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (lockIsStale(lock)) {
        // Move it aside rather than unlink: of several waiters that judged it stale, one wins the rename.
        const aside = `${lock}.stale-${owner.token}`;
        try {
          fs.renameSync(lock, aside);
          fs.rmSync(aside, { force: true });
        } catch {
          // another waiter moved it first
        }
        continue;
      }
      await sleep(100 + Math.random() * 100);
      continue;
    }
    try {
      fs.writeSync(fd, JSON.stringify(owner));
    } finally {
      fs.closeSync(fd);
    }
    const heartbeat = setInterval(() => {
      const now = new Date();
      try {
        fs.utimesSync(lock, now, now);
      } catch {
        // lock moved aside by a waiter that thought it stale: the rename still keeps the file whole
      }
    }, 2_000);
    heartbeat.unref();
    try {
      if (ready()) return 'ready';
      await build();
      return 'built';
    } finally {
      clearInterval(heartbeat);
      try {
        const now = JSON.parse(fs.readFileSync(lock, 'utf8')) as LockOwner;
        if (now.token === owner.token) fs.rmSync(lock, { force: true });
      } catch {
        // already gone
      }
    }
  }
}

/** Removes temp files of builders on this host whose process is gone (a crash mid-build). */
function removeAbandonedTemps(file: string): void {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}.tmp-`;
  for (const name of fs.readdirSync(dir)) {
    if (!name.startsWith(prefix)) continue;
    const [host, pid] = name.slice(prefix.length).split('-');
    if (host === hostTag() && !processAlive(Number(pid))) fs.rmSync(path.join(dir, name), { force: true });
  }
}

function hostTag(): string {
  return createHash('sha256').update(os.hostname()).digest('hex').slice(0, 8);
}

/** Streams the split from Lance (sorted takes at the frozen version) into a new cache file, atomically. */
async function buildCacheFile(
  dataset: TrainingDataset,
  sel: ReadCacheSelection,
  rowIds: readonly number[],
  e: Expected,
  file: string,
): Promise<void> {
  if (os.endianness() !== 'LE')
    throw new FeatureStoreError('training-read caches are little-endian; this machine is big-endian');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  removeAbandonedTemps(file);
  const tmp = `${file}.tmp-${hostTag()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  const placeholder: ReadCacheHeader = {
    ...e,
    ...layoutFor(e, 0),
    contentSha256: '0'.repeat(64),
    builtAt: new Date().toISOString(),
    builtBy: `${os.hostname()}:${process.pid}`,
  };
  // The header's length does not depend on the values still unknown (fixed-width checksum and
  // layout numbers are padded below), so the layout can be fixed before the data is written.
  const widthOf = (h: ReadCacheHeader): number => Buffer.byteLength(JSON.stringify(h));
  let jsonBytes = widthOf(placeholder) + 64; // room for the layout numbers to grow
  const layout = layoutFor(e, jsonBytes);
  const [h, w, c] = e.sampleShape;
  const hw = h * w;
  const sampleFloats = hw * c;
  const count = e.count;
  const fd = fs.openSync(tmp, 'wx');
  try {
    const hash = createHash('sha256');
    const labels = new Float32Array(count);
    const scalars = sel.scalars.map(() => new Float32Array(count).fill(NaN));
    const chunkRows = Math.max(1, Math.min(1024, Math.floor((32 << 20) / e.recordBytes)));
    const chunk = new Float32Array(chunkRows * sampleFloats);
    const filled = new Uint8Array(chunkRows);
    const columns = [...new Set([...e.channels, e.label, ...e.scalars])];
    const table = await dataset.openTable();
    try {
      for (let i = 0; i < count; i += chunkRows) {
        const ids = rowIds.slice(i, i + chunkRows);
        const at = new Map<number, number>();
        ids.forEach((id, k) => at.set(id, k));
        filled.fill(0);
        const batches = await TrainingDataset.take(table, ids, columns);
        for (const b of batches) {
          const rid = b.getChild('_rowid')!;
          const label = b.getChild(e.label)!;
          const scalarCols = e.scalars.map((s) => b.getChild(s)!);
          const bands = channelSources(b, e.channels, hw);
          for (let r = 0; r < b.numRows; r++) {
            const id = Number(rid.get(r) as bigint);
            const k = at.get(id);
            if (k === undefined || filled[k])
              throw new FeatureStoreError(
                `${dataset.label}: Lance returned row id ${id} unasked or twice while building the training-read cache`,
              );
            filled[k] = 1;
            stackRow(bands, r, hw, chunk, k * sampleFloats);
            // Number() exactly as the Lance-take loader converts labels.
            labels[i + k] = Number(label.get(r));
            scalarCols.forEach((col, s) => {
              const v = col.get(r) as number | bigint | boolean | null;
              scalars[s]![i + k] = v === null ? NaN : Number(v);
            });
          }
        }
        const missing = ids.findIndex((_, k) => !filled[k]);
        if (missing >= 0) {
          throw new FeatureStoreError(
            `${dataset.label}: split '${e.split}' row id ${ids[missing]} is missing from ${e.featureGroup.name} at Lance version ${e.featureGroup.lanceVersion}`,
          );
        }
        const bytes = new Uint8Array(chunk.buffer, 0, ids.length * e.recordBytes);
        writeFully(fd, bytes, layout.recordsOffset + i * e.recordBytes);
        hash.update(bytes);
      }
    } finally {
      table.close();
    }
    const labelBytes = new Uint8Array(labels.buffer);
    writeFully(fd, labelBytes, layout.labelsOffset);
    hash.update(labelBytes);
    scalars.forEach((col, s) => {
      const bytes = new Uint8Array(col.buffer);
      writeFully(fd, bytes, layout.scalarsOffset + s * count * 4);
      hash.update(bytes);
    });
    fs.ftruncateSync(fd, layout.fileBytes); // exact size even when nothing follows the header
    const header: ReadCacheHeader = { ...placeholder, ...layout, contentSha256: hash.digest('hex') };
    let json = Buffer.from(JSON.stringify(header), 'utf8');
    if (json.length > jsonBytes)
      throw new FeatureStoreError(`training-read cache header grew past its reserved ${jsonBytes} bytes`);
    // Pad with JSON whitespace to the reserved width, which the layout was computed from.
    json = Buffer.concat([json, Buffer.alloc(jsonBytes - json.length, 0x20)]);
    jsonBytes = json.length;
    const head = Buffer.alloc(12);
    MAGIC.copy(head, 0);
    head.writeUInt32LE(jsonBytes, 8);
    writeFully(fd, Buffer.concat([head, json, createHash('sha256').update(json).digest()]), 0);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.renameSync(tmp, file);
  try {
    const dirFd = fs.openSync(path.dirname(file), 'r');
    fs.fsyncSync(dirFd);
    fs.closeSync(dirFd);
  } catch {
    // directory fsync is not supported everywhere; the rename itself is atomic
  }
}

/**
 * Reads records `positions[k]` into slot k of `into` (or of a fresh, uninitialised buffer; every byte
 * is then written) with synchronous positional reads in file order, adjacent records coalesced.
 * Self-contained (`fs` passed in) because reader threads run it from its source text.
 */
export function readRecordsSync(
  nodeFs: typeof fs,
  fd: number,
  positions: ArrayLike<number>,
  recordBytes: number,
  recordsOffset: number,
  into?: Uint8Array,
): ArrayBuffer {
  const n = positions.length;
  if (into && into.byteLength < n * recordBytes)
    throw new Error(`a buffer of ${into.byteLength} bytes cannot hold ${n} records of ${recordBytes} bytes`);
  const buf = into ?? Buffer.allocUnsafeSlow(n * recordBytes);
  const slots = Array.from({ length: n }, (_, k) => k).sort((a, b) => positions[a]! - positions[b]!);
  for (let k = 0; k < n;) {
    const s0 = slots[k]!;
    const p0 = positions[s0]!;
    let run = 1;
    while (k + run < n && slots[k + run] === s0 + run && positions[slots[k + run]!] === p0 + run) run++;
    let off = s0 * recordBytes;
    let len = run * recordBytes;
    let at = recordsOffset + p0 * recordBytes;
    while (len > 0) {
      const got = nodeFs.readSync(fd, buf, off, len, at);
      if (got === 0) throw new Error(`the file ends at byte ${at}, expected ${at + len}`);
      off += got;
      len -= got;
      at += got;
    }
    k += run;
  }
  // allocUnsafeSlow gives the buffer an ArrayBuffer of its own, exactly this long.
  return buf.buffer as ArrayBuffer;
}

/**
 * Records `positions[from..to)` into consecutive record slots of `into`, in serving order: one
 * positional read per record, runs of records adjacent in both the file and the batch coalesced.
 * Deliberately not sorted by file offset: with the file in the page cache a read is a copy, and
 * copying into consecutive destination memory is the cheaper order (sorting measured about 10%
 * more CPU per epoch here); sorted reads help a cold disk, which the reader threads serve.
 * Position checks are the caller's.
 */
export function readRecordRunsSync(
  fd: number,
  positions: ArrayLike<number>,
  from: number,
  to: number,
  recordBytes: number,
  recordsOffset: number,
  into: Uint8Array,
): void {
  for (let k = from; k < to;) {
    const p0 = positions[k]!;
    let run = 1;
    while (k + run < to && positions[k + run] === p0 + run) run++;
    let off = (k - from) * recordBytes;
    let len = run * recordBytes;
    let at = recordsOffset + p0 * recordBytes;
    // One call reads the whole run unless the kernel returns short (signals; never for a cached file).
    for (;;) {
      const got = fs.readSync(fd, into, off, len, at);
      if (got === len) break;
      if (got === 0) throw new Error(`the file ends at byte ${at}, expected ${at + len}`);
      off += got;
      len -= got;
      at += got;
    }
    k += run;
  }
}

/**
 * Reader threads (option `readThreads`): the same reads off the main thread, each batch's buffer
 * allocated there and transferred. They overlap reads with synchronous TensorFlow work and keep
 * several reads outstanding when the file is not in the page cache; with a warm page cache on a
 * busy 2-core machine they measured slower and far less steady than reading on the main thread
 * (fresh memory faulted in by one thread and freed by another).
 */
const READER_THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const readRecordsSync = ${readRecordsSync.toString()};
const { fd, recordBytes, recordsOffset } = workerData;
parentPort.on('message', (m) => {
  try {
    const buffer = readRecordsSync(fs, fd, m.positions, recordBytes, recordsOffset);
    parentPort.postMessage({ id: m.id, buffer }, [buffer]);
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: String((err && err.message) || err) });
  }
});
`;

/** One reader thread: batches of record positions in, a transferred buffer of their records out. */
class RecordReaderThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (b: ArrayBuffer) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private failure: Error | undefined;

  constructor(
    fd: number,
    header: ReadCacheHeader,
    private readonly file: string,
  ) {
    this.worker = new Worker(READER_THREAD_SOURCE, {
      eval: true,
      workerData: { fd, recordBytes: header.recordBytes, recordsOffset: header.recordsOffset },
    });
    this.worker.unref(); // only pending reads keep the process alive
    this.worker.on('message', (m: { id: number; buffer?: ArrayBuffer; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.worker.unref();
      if (m.error !== undefined) p.reject(new FeatureStoreError(`training-read cache ${this.file}: ${m.error}`));
      else p.resolve(m.buffer!);
    });
    const fail = (err: Error): void => {
      this.failure = new FeatureStoreError(`training-read cache ${this.file}: reader thread failed: ${err.message}`);
      for (const p of this.pending.values()) p.reject(this.failure);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => {
      if (this.pending.size > 0) fail(new Error(`exited with code ${code}`));
    });
  }

  read(positions: Float64Array): Promise<ArrayBuffer> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage({ id, positions });
    });
  }

  /** Resolves when every read asked so far has answered. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await new Promise((r) => setTimeout(r, 5));
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}

/**
 * An open training-read cache of one split: batches of records read by a reader thread, the split's
 * labels and scalar columns in memory.
 */
export class TrainingReadCache {
  readonly labels: Float32Array;
  readonly scalars: ReadonlyMap<string, Float32Array>;
  private readers: RecordReaderThread[] | undefined;
  private turn = 0;
  private closed = false;

  private constructor(
    readonly file: string,
    readonly header: ReadCacheHeader,
    private readonly fd: number,
    readonly status: ReadCacheStatus,
    private readonly readThreads: number,
  ) {
    const labels = new Float32Array(header.count);
    readFully(fd, new Uint8Array(labels.buffer), header.labelsOffset, file);
    this.labels = labels;
    const scalars = new Map<string, Float32Array>();
    header.scalars.forEach((name, s) => {
      const col = new Float32Array(header.count);
      readFully(fd, new Uint8Array(col.buffer), header.scalarsOffset + s * header.count * 4, file);
      scalars.set(name, col);
    });
    this.scalars = scalars;
  }

  /**
   * The cache of `split` for `sel`: opened when a valid one exists, else built from Lance first
   * (once across processes, under a lock). `rowIds` are the split's frozen row ids, in split order.
   */
  static async openOrBuild(
    dataset: TrainingDataset,
    sel: ReadCacheSelection,
    split: string,
    rowIds: readonly number[],
    opts: ReadCacheOpenOptions = {},
  ): Promise<TrainingReadCache> {
    const e = await expectedHeader(dataset, sel, split, rowIds);
    const file = cacheFile(opts.dir ?? defaultDir(dataset), e);
    const verify = opts.verify ?? 'full';
    const threads = Math.max(0, Math.floor(opts.readThreads ?? 0));
    const first = tryOpen(file, e, verify);
    if (typeof first !== 'string') {
      try {
        return new TrainingReadCache(file, first.header, first.fd, { file, state: 'hit' }, threads);
      } catch (err) {
        fs.closeSync(first.fd);
        throw err;
      }
    }

    const t0 = process.hrtime.bigint();
    // The file found unusable now; a replacement (renamed in by another builder) has another inode.
    const badStat = fs.statSync(file, { throwIfNoEntry: false });
    const badKey = badStat ? statKey(file, badStat) : undefined;
    const found: { ready?: { fd: number; header: ReadCacheHeader } } = {};
    const outcome = await underBuildLock(
      file,
      () => {
        const st = fs.statSync(file, { throwIfNoEntry: false });
        if (!st || statKey(file, st) === badKey) return false;
        const again = tryOpen(file, e, verify);
        if (typeof again === 'string') return false;
        found.ready = again;
        return true;
      },
      () => buildCacheFile(dataset, sel, rowIds, e, file),
    );
    const opened = found.ready ?? tryOpen(file, e, 'header');
    if (typeof opened === 'string')
      throw new FeatureStoreError(`training-read cache ${file} is not usable right after it was built: ${opened}`);
    try {
      // A file built here had its content checksum computed from the data as it was written.
      if (outcome === 'built') verifiedFiles.add(statKey(file, fs.fstatSync(opened.fd)));
      const status: ReadCacheStatus =
        outcome === 'built'
          ? { file, state: 'built', reason: first, buildSeconds: Number(process.hrtime.bigint() - t0) / 1e9 }
          : { file, state: 'hit', reason: `built by another process meanwhile (it was ${first})` };
      return new TrainingReadCache(file, opened.header, opened.fd, status, threads);
    } catch (err) {
      fs.closeSync(opened.fd);
      throw err;
    }
  }

  get count(): number {
    return this.header.count;
  }

  /**
   * Records `positions[k]` (indices in split order) as one [n, H, W, C] float32 array in that order:
   * fresh memory the caller owns, or the front of `into` when given (reused memory: no page faults
   * and no garbage per batch; reader threads, `readThreads` > 0, do not take it). Reads go in file
   * order with adjacent records coalesced.
   */
  readRecords(positions: readonly number[], into?: Float32Array): Promise<Float32Array> {
    if (this.closed) return Promise.reject(new FeatureStoreError(`training-read cache ${this.file} is closed`));
    const at = new Float64Array(positions.length);
    for (let k = 0; k < positions.length; k++) {
      const p = positions[k]!;
      if (!Number.isInteger(p) || p < 0 || p >= this.header.count) {
        return Promise.reject(
          new FeatureStoreError(`training-read cache ${this.file}: record ${p} is outside 0..${this.header.count - 1}`),
        );
      }
      at[k] = p;
    }
    if (this.readThreads === 0 || into) {
      const { recordBytes, recordsOffset } = this.header;
      if (into && into.byteLength < positions.length * recordBytes) {
        return Promise.reject(
          new FeatureStoreError(
            `training-read cache ${this.file}: a buffer of ${into.length} floats cannot hold ${positions.length} records`,
          ),
        );
      }
      const target = into && new Uint8Array(into.buffer, into.byteOffset, positions.length * recordBytes);
      return new Promise((resolve, reject) => {
        setImmediate(() => {
          if (this.closed) return reject(new FeatureStoreError(`training-read cache ${this.file} is closed`));
          try {
            const buffer = readRecordsSync(fs, this.fd, at, recordBytes, recordsOffset, target);
            resolve(into ? into.subarray(0, (positions.length * recordBytes) / 4) : new Float32Array(buffer));
          } catch (err) {
            reject(new FeatureStoreError(`training-read cache ${this.file}: ${(err as Error).message}`));
          }
        });
      });
    }
    this.readers ??= Array.from(
      { length: this.readThreads },
      () => new RecordReaderThread(this.fd, this.header, this.file),
    );
    const reader = this.readers[this.turn++ % this.readers.length]!;
    return reader.read(at).then((buffer) => new Float32Array(buffer));
  }

  /**
   * Records `positions[from..to)` (indices in split order) into the front of `into`, in that order,
   * now, on this thread: the loader's hot path (see readRecordRunsSync). Returns the filled part.
   */
  readRecordsNow(positions: ArrayLike<number>, from: number, to: number, into: Float32Array): Float32Array {
    if (this.closed) throw new FeatureStoreError(`training-read cache ${this.file} is closed`);
    const { recordBytes, recordsOffset, count } = this.header;
    const n = to - from;
    if (!(n >= 0) || into.byteLength < n * recordBytes) {
      throw new FeatureStoreError(
        `training-read cache ${this.file}: a buffer of ${into.length} floats cannot hold ${n} records`,
      );
    }
    for (let k = from; k < to; k++) {
      const p = positions[k]!;
      // Integers in range only (p >>> 0 === p rules out fractions, negatives and NaN).
      if (p >>> 0 !== p || p >= count) {
        throw new FeatureStoreError(`training-read cache ${this.file}: record ${p} is outside 0..${count - 1}`);
      }
    }
    try {
      readRecordRunsSync(
        this.fd,
        positions,
        from,
        to,
        recordBytes,
        recordsOffset,
        new Uint8Array(into.buffer, into.byteOffset, n * recordBytes),
      );
    } catch (err) {
      throw new FeatureStoreError(`training-read cache ${this.file}: ${(err as Error).message}`);
    }
    return into.subarray(0, (n * recordBytes) / 4);
  }

  /** Stops the reader threads once reads in flight have answered, then closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const r of this.readers ?? []) {
      await r.drain();
      await r.stop();
    }
    fs.closeSync(this.fd);
  }
}
