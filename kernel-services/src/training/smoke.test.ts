import { describe, expect, it } from 'vitest';
import { loadTf, tensorflowInfo } from './backend';
import { buildLenet } from './models';
import { trainSmoke } from './smoke';

describe('native TensorFlow backend', () => {
  it('is the native binding, never the pure-JS fallback', () => {
    const tf = loadTf();
    expect(tf.getBackend()).toBe('tensorflow');
    const info = tensorflowInfo();
    expect(info.native).toBe(true);
    expect(info.version).toMatch(/^2\.\d+\.\d+/);
    expect(['CPU', 'GPU:0']).toContain(info.device);
  });

  it('trains a small CNN on 75x75x2 patches for one epoch and the loss falls', async () => {
    const r = await trainSmoke({ samples: 256, epochs: 1, seed: 11 });
    expect(r.tensorflow.backend).toBe('tensorflow');
    expect(Number.isFinite(r.lossBefore)).toBe(true);
    expect(r.lossAfter).toBeLessThan(r.lossBefore);
    // The pure-JS backend manages ~0.5 samples/s on this kind of model; native is hundreds.
    expect(r.samplesPerSecond).toBeGreaterThan(20);
  });
});

describe('buildLenet', () => {
  it('maps 75x75x2 patches to one probability', () => {
    const tf = loadTf();
    const model = buildLenet();
    const y = tf.tidy(() => model.predict(tf.zeros([3, 75, 75, 2])) as import('@tensorflow/tfjs-node').Tensor);
    expect(y.shape).toEqual([3, 1]);
    const v = Array.from(y.dataSync());
    expect(v.every((p) => p > 0 && p < 1)).toBe(true);
    y.dispose();
    model.dispose();
  });

  it('rejects a kernel too large for the input, naming the field', () => {
    expect(() => buildLenet({ inputShape: [16, 16, 2], kernelSize: 7 })).toThrow(/kernelSize 7/);
    expect(() => buildLenet({ dropout: 1.5 })).toThrow(/dropout/);
  });
});
