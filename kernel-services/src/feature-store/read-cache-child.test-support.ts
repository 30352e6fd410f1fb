/**
 * A second process for the training-read cache's concurrency test. Usage:
 *   node -r ts-register.cjs read-cache-child.test-support.ts '<StoreOptions JSON>' <dataset> <start at ms>
 * Waits until `start at` (so several processes race from one instant), opens a loader of the train
 * split, reads epoch 0 and prints one JSON line: how its cache came to be and a digest of the batches.
 */
import { createHash } from 'node:crypto';
import type { StoreOptions } from '../store';
import { FeatureStore } from './feature-store';

async function main(): Promise<void> {
  const [optionsJson, dataset, startAt] = process.argv.slice(2);
  const store = await FeatureStore.open(JSON.parse(optionsJson!) as StoreOptions);
  try {
    const td = await store.getTrainingDataset(dataset!);
    await new Promise((r) => setTimeout(r, Math.max(0, Number(startAt) - Date.now())));
    const loader = await td.loader({ batchSize: 7, scalars: ['inc_angle'] });
    const digest = createHash('sha256');
    for await (const b of loader.rawBatches(0)) {
      digest.update(new Uint8Array(b.xs.buffer, b.xs.byteOffset, b.xs.byteLength));
      digest.update(new Uint8Array(b.ys.buffer, b.ys.byteOffset, b.ys.byteLength));
    }
    const source = loader.source;
    await loader.close();
    process.stdout.write(`${JSON.stringify({ source, digest: digest.digest('hex') })}\n`);
  } finally {
    await store.close();
  }
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  });
}
