import type { ModelVersion } from '@floe/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLenet } from '../training/models';
import { SeededRandom } from '../training/random';
import { inProcessExecutor, PredictThread } from './predict-thread';
import { Servable } from './servable';
import type { ServingSignature } from './signature';

const S = 16;
const signature: ServingSignature = {
  inputs: [{ name: 'image', shape: [S, S, 2], role: 'image' }],
  outputs: [{ name: 'prediction', shape: [1] }],
  channels: ['band_1', 'band_2'],
  angleFeature: null,
  preprocessing: { channelMean: [-20, -25], channelStd: [4, 5] },
  angleNormalization: null,
};
const version = { name: 'thread-test', version: 1 } as unknown as ModelVersion;

let servable: Servable;
const lines: string[] = [];
let thread: PredictThread;

beforeAll(() => {
  const model = buildLenet({ inputShape: [S, S, 2], filters: [4, 4], kernelSize: 3, denseUnits: 8, dropout: 0 });
  servable = new Servable(model, version, signature, null);
  thread = new PredictThread((l) => lines.push(l));
});

afterAll(async () => {
  await thread.close();
  await servable.retire();
});

function patches(n: number, seed: number): Float32Array {
  const rng = new SeededRandom(seed);
  return Float32Array.from({ length: n * S * S * 2 }, () => -22 + 8 * rng.next());
}

describe('the predict thread', () => {
  it('predicts exactly what the servable predicts in process, batch by batch', async () => {
    const run = thread.executor(servable);
    const local = inProcessExecutor(servable);
    for (const n of [1, 5, 32]) {
      const x = patches(n, n);
      const [onThread] = await run([x], n);
      const [inProcess] = await local([x], n);
      expect(onThread!.length).toBe(n);
      expect(Array.from(onThread!)).toEqual(Array.from(inProcess!));
    }
    // Batches sent together come back in order, each with its own answers.
    const xs = [patches(2, 7), patches(3, 8), patches(1, 9)];
    const together = await Promise.all(xs.map((x) => run([x], x.length / (S * S * 2))));
    for (let i = 0; i < xs.length; i++)
      expect(Array.from(together[i]![0]!)).toEqual(
        Array.from((await local([xs[i]!], xs[i]!.length / (S * S * 2)))[0]!),
      );
  });

  it('reports a model error from the thread as a rejection naming it', async () => {
    const run = thread.executor(servable);
    await expect(run([patches(1, 1).subarray(0, 10)], 1)).rejects.toThrow(/size|shape|values/i);
  });

  it('goes on in process when the thread dies, and says so once', async () => {
    const other = new PredictThread((l) => lines.push(l));
    const run = other.executor(servable);
    const x = patches(3, 3);
    const expected = (await inProcessExecutor(servable)([x], 3))[0]!;
    expect(Array.from((await run([x], 3))[0]!)).toEqual(Array.from(expected));
    // Kill the thread the hard way, as a crash would.
    await (other as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    await new Promise((r) => setTimeout(r, 50));
    expect(other.alive).toBe(false);
    expect(Array.from((await run([x], 3))[0]!)).toEqual(Array.from(expected));
    expect(lines.filter((l) => /predict thread exited.*predicting on the server thread/.test(l))).toHaveLength(1);
    await other.close();
  });
});
