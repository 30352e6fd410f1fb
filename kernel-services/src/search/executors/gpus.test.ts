import { describe, expect, it } from 'vitest';
import { gpuForWorker, visibleGpus } from './gpus';

describe('GPU assignment', () => {
  it('reads CUDA_VISIBLE_DEVICES and hands one GPU to each worker, round-robin', () => {
    expect(visibleGpus({ CUDA_VISIBLE_DEVICES: '2, 5' })).toEqual(['2', '5']);
    expect(visibleGpus({ CUDA_VISIBLE_DEVICES: '' })).toEqual([]);
    expect(visibleGpus({ CUDA_VISIBLE_DEVICES: '-1' })).toEqual([]);
    expect([0, 1, 2].map((i) => gpuForWorker(i, ['2', '5']))).toEqual(['2', '5', '2']);
    expect(gpuForWorker(0, [])).toBeUndefined();
  });
});
