/**
 * The driver's store writes, off the scheduling path: writes are queued in order and applied in
 * batches, one write transaction per batch, every `flushMs` (or sooner when many are waiting), and
 * always before the driver returns. Several updates of one trial row within a batch become one.
 *
 * Crash safety: a batch is all or nothing. A driver killed between flushes loses at most the last
 * `flushMs` of writes; those trials then look pending or running in the store, and `resumeSearch`
 * runs them again — the same as trials that were running when the driver died.
 */
import type { ProjectStore } from '../store';
import { SearchRepository } from './repository';

type TrialUpdate = Parameters<SearchRepository['updateTrial']>[1];

/** A trial row as the buffer knows it: its id is known once the batch that creates it has run. */
export interface BufferedTrialRow {
  id: number;
}

type Write =
  | { kind: 'update'; row: BufferedTrialRow; set: TrialUpdate }
  | { kind: 'op'; run: (repo: SearchRepository) => Promise<void> };

export interface WriteBehindStats {
  batches: number;
  writes: number;
  /** Trial-row updates merged into an earlier update of the same batch. */
  merged: number;
  /** Wall time spent in batch transactions (the driver's event loop is busy then: SQLite is synchronous). */
  flushMs: number;
}

export class SearchWriteBehind {
  private pending: Write[] = [];
  /** Pending update per trial row in the current batch (merge target). */
  private pendingUpdate = new Map<BufferedTrialRow, Extract<Write, { kind: 'update' }>>();
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  /** Resolves when the batch now being gathered is written (see `settled`). */
  private gathering: { promise: Promise<void>; resolve: () => void } | undefined;
  readonly stats: WriteBehindStats = { batches: 0, writes: 0, merged: 0, flushMs: 0 };

  constructor(
    private readonly store: ProjectStore,
    /** Longest a write waits in memory. */
    private readonly flushMs = 100,
    /** Called as each batch is cut: the owner adds what it buffers itself (e.g. metric rows). */
    private readonly beforeBatch: () => void = () => undefined,
    /** Flush at once when this many writes wait. */
    private readonly maxPending = 2000,
  ) {}

  /** Makes sure a batch is scheduled (for writes the owner buffers itself until `beforeBatch`). */
  wake(): void {
    if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.flushMs);
      this.timer.unref?.();
    }
  }

  /** The first error a batch hit (the driver stops the search on it). */
  get error(): Error | undefined {
    return this.failure;
  }

  /** Queues an arbitrary write; it runs inside the batch transaction with a repository bound to it. */
  op(run: (repo: SearchRepository) => Promise<void>): void {
    this.push({ kind: 'op', run });
  }

  /** Queues an update of a trial row; merged with an earlier pending update of the same row. */
  updateTrial(row: BufferedTrialRow, set: TrialUpdate): void {
    const earlier = this.pendingUpdate.get(row);
    if (earlier) {
      Object.assign(earlier.set, set);
      this.stats.merged++;
      return;
    }
    const w = { kind: 'update' as const, row, set: { ...set } };
    this.pendingUpdate.set(row, w);
    this.push(w);
  }

  /** Applies everything queued so far now; resolves when it (and every earlier batch) is in the store. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.beforeBatch();
    if (!this.pending.length) return this.chain;
    const batch = this.pending;
    const gathering = this.gathering;
    this.pending = [];
    this.pendingUpdate = new Map();
    this.gathering = undefined;
    this.chain = this.chain.then(() => this.apply(batch)).finally(() => gathering?.resolve());
    return this.chain;
  }

  /** Resolves once everything queued so far is in the store, without hurrying the batch along. */
  settled(): Promise<void> {
    if (!this.pending.length) return this.chain;
    if (!this.gathering) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.gathering = { promise, resolve };
    }
    return this.gathering.promise;
  }

  private push(w: Write): void {
    this.pending.push(w);
    if (this.pending.length >= this.maxPending) void this.flush();
    else this.wake();
  }

  private async apply(batch: Write[]): Promise<void> {
    if (this.failure) return;
    const t0 = performance.now();
    try {
      await this.store.writeTransaction(async (trx) => {
        const repo = new SearchRepository(this.store, trx);
        for (const w of batch) {
          if (w.kind === 'op') await w.run(repo);
          else if (Object.keys(w.set).length) await repo.updateTrial(w.row.id, w.set);
        }
      });
      this.stats.batches++;
      this.stats.writes += batch.length;
    } catch (err) {
      this.failure ??= err as Error;
    } finally {
      this.stats.flushMs += performance.now() - t0;
    }
  }
}
