import { describe, expect, it } from 'vitest';
import { Batcher, batchingOptions } from './batcher';
import { ServingError } from './errors';
import type { BatchExecutor } from './predict-thread';
import type { Servable } from './servable';
import type { ServingSignature } from './signature';

/** One input of 2 values per instance, one output of 1: output i = sum of instance i's values. */
const signature: ServingSignature = {
  inputs: [{ name: 'x', shape: [2], role: 'image' }],
  outputs: [{ name: 'y', shape: [1] }],
  channels: ['a', 'b'],
  angleFeature: null,
  preprocessing: null,
  angleNormalization: null,
};
const servable = { signature, name: 'sum', number: 1 } as unknown as Servable;

/** An executor whose batches finish when the test says so. */
function controlledExecutor(): { execute: BatchExecutor; batches: number[]; finish(i: number, fail?: string): void } {
  const batches: number[] = [];
  const finishers: ((fail?: string) => void)[] = [];
  const execute: BatchExecutor = (values, count) => {
    batches.push(count);
    return new Promise((resolve, reject) => {
      finishers.push((fail) => {
        if (fail) return reject(new Error(fail));
        const out = new Float32Array(count);
        for (let i = 0; i < count; i++) out[i] = values[0]![2 * i]! + values[0]![2 * i + 1]!;
        resolve([out]);
      });
    });
  };
  return { execute, batches, finish: (i, fail) => finishers[i]!(fail) };
}

const instance = (a: number, b: number): Float32Array[] => [new Float32Array([a, b])];
/** Two turns of the event loop: a batch that ends schedules the next one for the following turn. */
const turn = async (): Promise<void> => {
  for (let i = 0; i < 2; i++) await new Promise((r) => setImmediate(r));
};

describe('adaptive batching', () => {
  it('runs a lone request at once, without waiting out a window', async () => {
    const ex = controlledExecutor();
    // A 10 s window that only concurrent traffic waits for: a lone client never pays it.
    const b = new Batcher(servable, batchingOptions({ maxWaitUs: 10_000_000 }), ex.execute, undefined, () => false);
    const t = performance.now();
    const reply = b.submit(instance(1, 2), 1);
    await turn();
    expect(ex.batches).toEqual([1]);
    ex.finish(0);
    expect((await reply).outputs[0]![0]).toBe(3);
    expect(performance.now() - t).toBeLessThan(1000);
  });

  it('queues requests while a batch runs and runs them as one batch the moment it ends', async () => {
    const ex = controlledExecutor();
    const sizes: number[] = [];
    let concurrent = false;
    const b = new Batcher(
      servable,
      batchingOptions({ maxWaitUs: 10_000_000 }),
      ex.execute,
      (n) => sizes.push(n),
      () => concurrent,
    );
    const first = b.submit(instance(0, 1), 1);
    await turn();
    concurrent = true; // from now on the window would apply to a batch started from idle
    expect(ex.batches).toEqual([1]);
    // Arriving while batch 1 runs, over several turns of the loop: they wait, none starts a batch.
    const queued: Promise<{ outputs: Float32Array[]; batchSize: number }>[] = [];
    for (let i = 0; i < 5; i++) {
      queued.push(b.submit(instance(i, 10), 1));
      await turn();
    }
    expect(ex.batches).toEqual([1]);
    expect(b.waiting).toBe(5);
    ex.finish(0);
    await first;
    await turn();
    // No window is waited out (it is 10 s): the queue has waited already.
    expect(ex.batches).toEqual([1, 5]);
    ex.finish(1);
    const replies = await Promise.all(queued);
    expect(replies.map((r) => r.outputs[0]![0])).toEqual([10, 11, 12, 13, 14]);
    expect(replies.every((r) => r.batchSize === 5)).toBe(true);
    expect(sizes).toEqual([1, 5]);
  });

  it('keeps to maxBatchSize and never splits a request', async () => {
    const ex = controlledExecutor();
    const b = new Batcher(servable, batchingOptions({ maxBatchSize: 4 }), ex.execute);
    const all = [b.submit(instance(0, 0), 1)];
    await turn();
    all.push(b.submit([new Float32Array(6)], 3), b.submit([new Float32Array(4)], 2), b.submit(instance(1, 1), 1));
    all.push(b.submit([new Float32Array(12)], 6)); // bigger than the limit: a batch of its own
    ex.finish(0);
    await turn();
    expect(ex.batches).toEqual([1, 3]); // 3 + 2 would be over 4
    ex.finish(1);
    await turn();
    expect(ex.batches).toEqual([1, 3, 3]);
    ex.finish(2);
    await turn();
    expect(ex.batches).toEqual([1, 3, 3, 6]);
    ex.finish(3);
    await Promise.all(all);
  });

  it('fails every request of a failed batch with a 500 and goes on with the next', async () => {
    const ex = controlledExecutor();
    const b = new Batcher(servable, batchingOptions({}), ex.execute);
    const a = b.submit(instance(1, 1), 1);
    await turn();
    const c = b.submit(instance(2, 2), 1);
    const d = b.submit(instance(3, 3), 1);
    ex.finish(0, 'out of memory');
    const err = await a.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServingError);
    expect((err as ServingError).status).toBe(500);
    expect((err as Error).message).toMatch(/model sum version 1: prediction failed: out of memory/);
    await turn();
    expect(ex.batches).toEqual([1, 2]);
    ex.finish(1);
    expect((await c).outputs[0]![0]).toBe(4);
    expect((await d).outputs[0]![0]).toBe(6);
  });

  it('with batching off, runs each request as it comes, even while another runs', async () => {
    const ex = controlledExecutor();
    const b = new Batcher(servable, batchingOptions(false), ex.execute);
    const a = b.submit(instance(1, 1), 1);
    const c = b.submit(instance(2, 2), 1);
    expect(ex.batches).toEqual([1, 1]);
    ex.finish(1);
    ex.finish(0);
    expect((await a).outputs[0]![0]).toBe(2);
    expect((await c).outputs[0]![0]).toBe(4);
  });
});
