import type { IDisposable } from '@lumino/disposable';
import type { WorkerRequest, WorkerResponse } from './protocol';

type Pending = { resolve: (value: unknown) => void; reject: (reason: Error) => void };

/** A request that can be cancelled (a tile scrolled out of view). */
export interface WorkerCall<T> {
  id: number;
  promise: Promise<T>;
}

/** Raised when the worker gave up on a request because it was cancelled. */
export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

type Body = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** The main thread's side of the decoding worker: numbered requests, promises for their answers. */
export class SarWorkerClient implements IDisposable {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private disposed = false;

  constructor() {
    // webpack (jupyter labextension build) bundles the worker and its geotiff.js chunks from this URL.
    this.worker = new Worker(new URL('./worker.js', import.meta.url));
    this.worker.onmessage = (event: MessageEvent<WorkerResponse>) => {
      const message = event.data;
      const pending = this.pending.get(message.id);
      if (!pending) return;
      this.pending.delete(message.id);
      if (message.ok) pending.resolve(message.result);
      else pending.reject(message.aborted ? new CancelledError() : new Error(message.error));
    };
    this.worker.onerror = (event: ErrorEvent) => {
      const error = new Error(`the decoding worker failed: ${event.message || 'unknown error'}`);
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
    };
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  call<T>(body: Body): WorkerCall<T> {
    const id = this.nextId++;
    const promise = new Promise<T>((resolve, reject) => {
      if (this.disposed) {
        reject(new CancelledError());
        return;
      }
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...body, id } as WorkerRequest);
    });
    return { id, promise };
  }

  cancel(id: number): void {
    if (this.disposed || !this.pending.has(id)) return;
    this.worker.postMessage({ id: this.nextId++, type: 'cancel', target: id } satisfies WorkerRequest);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.worker.terminate();
    for (const p of this.pending.values()) p.reject(new CancelledError());
    this.pending.clear();
  }
}
