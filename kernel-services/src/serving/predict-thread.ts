import * as path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { ModelVersion } from '@floe/schema';
import { typeScriptPreload } from '../search/ts-require';
import { loadTf, type Tf } from '../training/backend';
import { Servable } from './servable';
import type { ServingSignature } from './signature';

/**
 * Model execution on a thread of its own. tfjs-node's `predict` is synchronous: run on the server's
 * event loop, it stops the loop from reading and decoding the requests that arrive meanwhile, so
 * on two cores the JSON decoding of the next batch and TensorFlow's work on this one never overlap
 * (profiled: the main thread was 47 % in predict and 30 % in decoding, one after the other). Here
 * each served version is also loaded in one worker thread (from its saved artifacts, the same
 * `Servable.predict` path: standardisation, network, read-back) and the server's loop only reads,
 * decodes, batches and answers. The batcher keeps one batch in flight per version, so what queues
 * while it runs forms the next batch (adaptive batching).
 *
 * If the thread dies, its pending batches fail with the reason and execution falls back to the
 * server's own thread, so serving goes on.
 */

/** A model's topology and weights, as `model.save` hands them over. */
type ModelArtifacts = Parameters<Parameters<Tf['io']['withSaveHandler']>[0]>[0];

type ToThread =
  | { kind: 'load'; id: number; version: ModelVersion; signature: ServingSignature; artifacts: ModelArtifacts }
  | { kind: 'predict'; id: number; servable: number; values: Float32Array[]; count: number }
  | { kind: 'unload'; servable: number };

type FromThread = { id: number; outputs: Float32Array[] } | { id: number; error: string };

interface Pending {
  resolve(outputs: Float32Array[]): void;
  reject(err: Error): void;
}

/** Executes a batch (one array per signature input, raw units) and returns one array per output. */
export type BatchExecutor = (values: readonly Float32Array[], count: number) => Promise<Float32Array[]>;

/** The in-process executor: `Servable.predict` on the calling thread. */
export function inProcessExecutor(servable: Servable): BatchExecutor {
  return (values, count) => {
    try {
      return Promise.resolve(servable.predict(values, count));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  };
}

export class PredictThread {
  private worker: Worker | null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Per servable: its id in the thread once loaded (a promise while loading). */
  private readonly loaded = new WeakMap<Servable, Promise<number>>();
  private failure: string | null = null;

  constructor(private readonly log: (line: string) => void = () => undefined) {
    const ts = path.extname(__filename) === '.ts';
    this.worker = new Worker(
      `const { workerData } = require('node:worker_threads');
       if (workerData.preload) require(workerData.preload);
       require(workerData.entry);`,
      {
        eval: true,
        workerData: { entry: __filename, preload: ts ? typeScriptPreload() : null, floePredictThread: true },
      },
    );
    this.worker.unref(); // only pending work keeps the process alive
    this.worker.on('message', (m: FromThread) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.worker?.unref();
      if ('error' in m) p.reject(new Error(m.error));
      else p.resolve(m.outputs);
    });
    this.worker.on('error', (err) => this.fail(`the predict thread failed: ${err.message}`));
    this.worker.on('exit', (code) => this.fail(`the predict thread exited (code ${code})`));
  }

  /** Whether the thread runs (false once it failed or was closed: batches run in process). */
  get alive(): boolean {
    return this.worker !== null;
  }

  private fail(reason: string): void {
    if (this.failure === null && this.worker)
      this.log(`serving: ${reason}; predicting on the server thread from now on`);
    this.failure ??= reason;
    this.worker = null;
    for (const p of this.pending.values()) p.reject(new Error(reason));
    this.pending.clear();
  }

  private call(message: ToThread & { id: number }): Promise<Float32Array[]> {
    const worker = this.worker;
    if (!worker) return Promise.reject(new Error(this.failure ?? 'the predict thread is stopped'));
    return new Promise((resolve, reject) => {
      this.pending.set(message.id, { resolve, reject });
      if (this.pending.size === 1) worker.ref();
      worker.postMessage(message);
    });
  }

  /** Loads `servable`'s model into the thread (once); resolves to its id there. */
  prepare(servable: Servable): Promise<number> {
    let ready = this.loaded.get(servable);
    if (!ready) {
      ready = (async () => {
        let artifacts: ModelArtifacts | undefined;
        const tf = loadTf();
        await servable.model.save(
          tf.io.withSaveHandler(async (a) => {
            artifacts = a;
            return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
          }),
        );
        const id = this.nextId++;
        await this.call({
          kind: 'load',
          id,
          version: servable.version,
          signature: servable.signature,
          artifacts: artifacts!,
        });
        return id;
      })();
      this.loaded.set(servable, ready);
    }
    return ready;
  }

  /** An executor for `servable`: on the thread, or in process once the thread is gone. */
  executor(servable: Servable): BatchExecutor {
    const ready = this.prepare(servable);
    // A load that fails is reported by the first batch; avoid an unhandled rejection meanwhile.
    ready.catch(() => undefined);
    const local = inProcessExecutor(servable);
    return async (values, count) => {
      if (!this.worker) return local(values, count);
      let id: number;
      try {
        id = await ready;
      } catch (err) {
        if (!this.worker) return local(values, count);
        throw err;
      }
      return this.call({ kind: 'predict', id: this.nextId++, servable: id, values: values as Float32Array[], count });
    };
  }

  /** Frees `servable`'s model in the thread (after its last batch: messages run in order). */
  unload(servable: Servable): void {
    const ready = this.loaded.get(servable);
    this.loaded.delete(servable);
    void ready?.then(
      (id) => this.worker?.postMessage({ kind: 'unload', servable: id } satisfies ToThread),
      () => undefined,
    );
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.failure ??= 'the predict thread is stopped';
    this.worker = null;
    if (worker) {
      worker.removeAllListeners('exit');
      await worker.terminate();
    }
    for (const p of this.pending.values()) p.reject(new Error(this.failure));
    this.pending.clear();
  }
}

/** The thread's side: servables by id, run in message order. */
function threadMain(): void {
  const port = parentPort!;
  const servables = new Map<number, Promise<Servable>>();
  const reply = (m: FromThread, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
  port.on('message', (m: ToThread) => {
    if (m.kind === 'load') {
      const tf = loadTf();
      const loading = tf.loadLayersModel(tf.io.fromMemory(m.artifacts)).then((model) => {
        const s = new Servable(model, m.version, m.signature, null);
        s.warmUp();
        return s;
      });
      servables.set(m.id, loading);
      loading.then(
        () => reply({ id: m.id, outputs: [] }),
        (err: Error) => reply({ id: m.id, error: `loading the model in the predict thread: ${err.message}` }),
      );
    } else if (m.kind === 'unload') {
      const s = servables.get(m.servable);
      servables.delete(m.servable);
      void s?.then((x) => x.retire());
    } else {
      const s = servables.get(m.servable);
      if (!s) {
        reply({ id: m.id, error: `model ${m.servable} is not loaded in the predict thread` });
        return;
      }
      void s.then(
        (servable) => {
          let outputs: Float32Array[];
          try {
            outputs = servable.predict(m.values, m.count);
          } catch (err) {
            reply({ id: m.id, error: (err as Error).message });
            return;
          }
          // Hand the buffers over instead of copying them when the arrays own them whole.
          const transfer = outputs
            .filter((o) => o.byteOffset === 0 && o.byteLength === o.buffer.byteLength)
            .map((o) => o.buffer as ArrayBuffer);
          reply({ id: m.id, outputs }, [...new Set(transfer)]);
        },
        (err: Error) => reply({ id: m.id, error: err.message }),
      );
    }
  });
}

// Only in the thread started above (other worker threads, e.g. a test runner's, may import this module).
if (!isMainThread && parentPort && (workerData as { floePredictThread?: boolean } | null)?.floePredictThread === true)
  threadMain();
