import { ServingError } from './errors';
import type { BatchExecutor } from './predict-thread';
import type { Servable } from './servable';
import { sizeOf } from './signature';

/**
 * Dynamic batching for one served version: requests that arrive together run as one `predict` and
 * each gets its own slice of the outputs back. Adaptive: one batch is in flight at a time; the
 * requests that arrive while it runs queue, and the moment it ends they run as the next batch (up
 * to `maxBatchSize` instances), with no window to wait out: they have waited already. So a lone
 * request runs at once and a busy server forms large batches by itself. When idle, a batch starts
 * in the next turn of the event loop (with what arrived in this one), or `maxWaitUs` after its
 * first request when a window is configured. A request bigger than `maxBatchSize` runs as a batch
 * of its own (it is never split).
 *
 * The window is only waited out when there is concurrent traffic to wait for (`concurrent`: the
 * server says whether predict requests for the model overlap, or come over more than one
 * connection, now or within the last second). Without it a batch closes in the same turn, so a lone
 * client never pays `maxWaitUs` on every request.
 */
export interface BatchingOptions {
  enabled: boolean;
  /** Most instances in one batch. */
  maxBatchSize: number;
  /** Longest a request waits for others, microseconds (timers resolve to about a millisecond above 0). */
  maxWaitUs: number;
}

export const DEFAULT_BATCHING: BatchingOptions = { enabled: true, maxBatchSize: 32, maxWaitUs: 0 };

export function batchingOptions(given: Partial<BatchingOptions> | false | undefined): BatchingOptions {
  if (given === false) return { ...DEFAULT_BATCHING, enabled: false };
  const o = { ...DEFAULT_BATCHING, ...given };
  if (!Number.isInteger(o.maxBatchSize) || o.maxBatchSize < 1)
    throw new RangeError(`batching: maxBatchSize must be a positive integer, got ${o.maxBatchSize}`);
  if (!(o.maxWaitUs >= 0) || !Number.isFinite(o.maxWaitUs))
    throw new RangeError(`batching: maxWaitUs must be >= 0, got ${o.maxWaitUs}`);
  return o;
}

export interface BatchResult {
  /** This request's slice of each output. */
  outputs: Float32Array[];
  /** Instances in the batch it ran in. */
  batchSize: number;
}

interface Pending {
  values: readonly Float32Array[];
  count: number;
  resolve(r: BatchResult): void;
  reject(err: Error): void;
}

export class Batcher {
  private queue: Pending[] = [];
  private queued = 0;
  private timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  /** A batch is executing (with batching on, at most one at a time). */
  private busy = false;

  constructor(
    private readonly servable: Servable,
    private readonly options: BatchingOptions,
    /** Runs one batch (in process or on the predict thread). */
    private readonly execute: BatchExecutor,
    /** Called after every batch with its size and its execution time in seconds. */
    private readonly onBatch: (size: number, seconds: number) => void = () => undefined,
    /** Whether other requests may join: concurrent traffic now or lately (default: assume so). */
    private readonly concurrent: () => boolean = () => true,
  ) {}

  /** Instances waiting for a batch. */
  get waiting(): number {
    return this.queued;
  }

  submit(values: readonly Float32Array[], count: number): Promise<BatchResult> {
    return new Promise<BatchResult>((resolve, reject) => {
      const p: Pending = { values, count, resolve, reject };
      if (!this.options.enabled) {
        void this.run([p]);
        return;
      }
      this.queue.push(p);
      this.queued += count;
      if (this.busy) return; // the batch in flight starts the next one when it ends
      if (this.queued >= this.options.maxBatchSize) this.next();
      else this.schedule();
    });
  }

  /** Starts a batch in the next turn of the loop, or after the window (`noWindow`: the queue has waited already). */
  private schedule(noWindow = false): void {
    if (this.timer) return;
    const fire = (): void => {
      this.timer = null;
      this.next();
    };
    const us = this.options.maxWaitUs;
    this.timer =
      noWindow || us <= 0 || !this.concurrent()
        ? setImmediate(fire)
        : setTimeout(fire, Math.max(1, Math.round(us / 1000)));
  }

  /** Starts the next batch from the queue (if any and none is in flight). */
  private next(): void {
    if (this.timer) {
      clearImmediate(this.timer as NodeJS.Immediate);
      clearTimeout(this.timer as NodeJS.Timeout);
      this.timer = null;
    }
    if (this.busy || this.queue.length === 0) return;
    const batch: Pending[] = [];
    let n = 0;
    while (this.queue.length > 0 && (batch.length === 0 || n + this.queue[0]!.count <= this.options.maxBatchSize)) {
      const p = this.queue.shift()!;
      batch.push(p);
      n += p.count;
    }
    this.queued -= n;
    this.busy = true;
    void this.run(batch).finally(() => {
      this.busy = false;
      // Next turn rather than now: bodies already received are decoded first and join the batch.
      if (this.queue.length > 0) this.schedule(true);
    });
  }

  private async run(batch: Pending[]): Promise<void> {
    const sig = this.servable.signature;
    const total = batch.reduce((s, p) => s + p.count, 0);
    let outputs: Float32Array[];
    const started = process.hrtime.bigint();
    try {
      const values =
        batch.length === 1
          ? batch[0]!.values
          : sig.inputs.map((input, k) => {
              const size = sizeOf(input.shape);
              const joined = new Float32Array(total * size);
              let at = 0;
              for (const p of batch) {
                joined.set(p.values[k]!, at);
                at += p.count * size;
              }
              return joined;
            });
      outputs = await this.execute(values, total);
    } catch (err) {
      const e = new ServingError(
        500,
        `model ${this.servable.name} version ${this.servable.number}: prediction failed: ${(err as Error).message}`,
      );
      for (const p of batch) p.reject(e);
      return;
    }
    this.onBatch(total, Number(process.hrtime.bigint() - started) / 1e9);
    let offset = 0;
    for (const p of batch) {
      const slices = outputs.map((o, k) => {
        const size = sizeOf(sig.outputs[k]!.shape);
        return o.subarray(offset * size, (offset + p.count) * size);
      });
      offset += p.count;
      p.resolve({ outputs: slices, batchSize: total });
    }
  }
}
