import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ProjectStore } from '../store';
import { ExperimentTracker } from '../tracking/tracker';
import { tempStore, tinyData, TINY_LENET } from './fixtures.test-support';
import { train } from './train';

describe('train', () => {
  let store: ProjectStore;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ store, cleanup } = await tempStore());
  });
  afterEach(async () => cleanup());

  it('trains a tiny LeNet, tracks the run and learns', async () => {
    const data = tinyData();
    const r = await train({ model: 'lenet', modelOptions: TINY_LENET, data, epochs: 5, batchSize: 16, learningRate: 0.01, store, experiment: 'tiny', snapshot: { path: 'nb.ipynb', content: '{"cells": []}' } });
    expect(r.runId).not.toBeNull();
    expect(r.history).toHaveLength(5);
    console.log(r.history, r.evaluation);
    const run = await new ExperimentTracker(store).getRun(r.runId!);
    expect(run.status).toBe('finished');
    r.model.dispose();
    data.dispose?.();
  });
});
