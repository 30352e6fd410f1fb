import type { RequestInputSummary } from '@floe/schema';
import type { ProjectStore } from '../store';
import type { ServingRequestTableRow } from '../store/migrations/005_serving';
import { storedJson, storedTime } from '../store/portable';

/**
 * The request log: served requests go into a bounded in-memory queue and reach the project store in
 * multi-row inserts, from a timer or when a flush's worth has gathered. Serving never waits on it:
 * `record` only appends, and when the queue is full the entry is dropped and counted. One flush runs
 * at a time; a failed insert drops its rows (counted) rather than growing the queue.
 *
 * A flush writes small inserts (`insertRows`) and lets the event loop run between them: SQLite
 * (better-sqlite3) inserts synchronously, and one 500-row insert held every request for about 25 ms,
 * which was most of the p99 at concurrency 1. Everything queued is still written, in order, and
 * `close()` writes what is left.
 */

export interface RequestLogOptions {
  /** Entries held before new ones are dropped (default 10,000). */
  capacity?: number;
  /** Queued rows that start a flush before the timer does (default 500). */
  flushRows?: number;
  /** Rows per INSERT statement; the event loop runs between statements (default 25). */
  insertRows?: number;
  /** Longest an entry waits to be written, ms (default 1000). */
  flushIntervalMs?: number;
  log?: (line: string) => void;
}

export interface RequestLogEntry {
  at: Date;
  model: string;
  version: number;
  selector: string;
  instances: number;
  batchSize: number;
  latencyMs: number;
  inputs: RequestInputSummary;
  /** First output per instance. */
  outputs: number[];
  /** The deployment record of the server that answered (null: none recorded). */
  deploymentId?: number | null;
}

export interface RequestLogStats {
  recorded: number;
  written: number;
  dropped: number;
  failed: number;
  queued: number;
}

type Row = Omit<ServingRequestTableRow, 'id'>;

export class RequestLog {
  private queue: Row[] = [];
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly capacity: number;
  private readonly flushRows: number;
  private readonly insertRows: number;
  private readonly flushIntervalMs: number;
  private readonly counts = { recorded: 0, written: 0, dropped: 0, failed: 0 };

  constructor(
    private readonly store: ProjectStore,
    private readonly options: RequestLogOptions = {},
  ) {
    this.capacity = options.capacity ?? 10_000;
    this.flushRows = options.flushRows ?? 500;
    this.insertRows = options.insertRows ?? 25;
    this.flushIntervalMs = options.flushIntervalMs ?? 1000;
    for (const [k, v] of [
      ['capacity', this.capacity],
      ['flushRows', this.flushRows],
      ['insertRows', this.insertRows],
      ['flushIntervalMs', this.flushIntervalMs],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`request log: ${k} must be a positive integer, got ${v}`);
    }
  }

  get stats(): RequestLogStats {
    return { ...this.counts, queued: this.queue.length };
  }

  /** Queues one entry; never waits. Returns false when it was dropped (queue full or log closed). */
  record(e: RequestLogEntry): boolean {
    if (this.closed || this.queue.length >= this.capacity) {
      this.counts.dropped++;
      return false;
    }
    this.counts.recorded++;
    this.queue.push({
      at: storedTime(e.at),
      model: e.model,
      version: e.version,
      selector: e.selector,
      instances: e.instances,
      batch_size: e.batchSize,
      latency_ms: e.latencyMs,
      // Non-finite outputs (a NaN prediction) are stored as null rather than refused.
      input_summary: storedJson(e.inputs),
      outputs: JSON.stringify(e.outputs.map((v) => (Number.isFinite(v) ? v : null))),
      deployment_id: e.deploymentId ?? null,
    });
    // A running flush keeps going while rows are queued, so it picks these up too.
    if (this.queue.length >= this.flushRows) {
      if (!this.flushing) void this.flush();
    } else this.arm();
    return true;
  }

  private arm(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, this.flushIntervalMs);
    this.timer.unref();
  }

  /** Writes everything queued so far (resolves when it is in the store or counted as failed). */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing.then(() => (this.queue.length > 0 ? this.flush() : undefined));
    if (this.queue.length === 0) return Promise.resolve();
    this.flushing = (async () => {
      while (this.queue.length > 0) {
        const rows = this.queue.splice(0, this.insertRows);
        try {
          await this.store.db.insertInto('serving_request').values(rows).execute();
          this.counts.written += rows.length;
        } catch (err) {
          this.counts.failed += rows.length;
          this.options.log?.(`serving: request log: ${rows.length} rows not written: ${(err as Error).message}`);
        }
        // Requests that arrived during the insert are served before the next one.
        if (this.queue.length > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      }
    })().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  /** Flushes what is queued and stops taking entries. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flush();
  }
}
