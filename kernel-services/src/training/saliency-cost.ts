import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { generateSynthetic } from '../ingest/synthetic';
import { openProjectStore } from '../store';
import { recordsTrainingData } from './data';
import type { SaliencyOption } from './epoch-saliency';
import { train } from './train';

/**
 * What saliency-per-epoch costs: the LeNet on 75×75 synthetic iceberg patches (the tutorial's quick size:
 * 400 patches, 20 % validation), trained with the option off and on (K patches, saliency and Grad-CAM),
 * in alternating order so machine load hits all variants alike. Prints the median wall time of an
 * epoch (training + validation + images) per variant and the images' own seconds.
 *
 *   node kernel-services/dist/training/saliency-cost.js [--samples 4] [--epochs 3] [--rounds 3]
 */

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const samples = arg('samples', 4);
  const epochs = arg('epochs', 3);
  const rounds = arg('rounds', 3);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-saliency-cost-'));
  const store = await openProjectStore({
    home,
    metadataUrl: path.join(home, 'floe.db'),
    blobUrl: path.join(home, 'blobs'),
  });
  const data = recordsTrainingData(generateSynthetic({ seed: 1, count: 400 }), { validationFraction: 0.2, seed: 0 });
  const variants: [string, SaliencyOption | false][] = [
    ['off', false],
    [`saliency K=${samples}`, { samples, method: 'saliency' }],
    [`gradcam K=${samples}`, { samples, method: 'gradcam' }],
  ];
  const epochWall = new Map<string, number[]>(variants.map(([n]) => [n, []]));
  const imageSeconds = new Map<string, number[]>(variants.map(([n]) => [n, []]));
  const pngBytes: number[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      for (const [name, saliency] of variants) {
        let last = 0;
        const r = await train({
          model: 'lenet',
          data,
          epochs,
          batchSize: 32,
          seed: 42,
          store,
          experiment: 'saliency-cost',
          display: false,
          evaluate: false,
          snapshot: false,
          checkpointEvery: 0,
          handleSigint: false,
          saliency,
          callbacks: {
            onEpochBegin: () => {
              last = performance.now();
            },
            // The first epoch warms kernels up; count the later ones.
            onEpochEnd: (row) => {
              if (row.epoch > 1) epochWall.get(name)!.push((performance.now() - last) / 1000);
              if (row.epoch > 1 && typeof row.saliency_seconds === 'number')
                imageSeconds.get(name)!.push(row.saliency_seconds);
            },
          },
        });
        r.model.dispose();
        if (saliency && pngBytes.length === 0) {
          const keys = await store.blobs.list(`runs/${r.runId}/saliency/epoch-001/`);
          for (const k of keys) pngBytes.push((await store.blobs.stat(k))!.size);
        }
      }
    }
    const off = median(epochWall.get('off')!);
    console.log(
      `load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}; ${os.cpus().length} CPUs`,
    );
    console.log(
      `LeNet, 320 train / 80 validation patches 75x75, batch 32, ${rounds} rounds x ${epochs - 1} epochs each`,
    );
    console.log('variant            epoch wall s (median)   images s/epoch (median)   vs off');
    for (const [name] of variants) {
      const wall = median(epochWall.get(name)!);
      const img = imageSeconds.get(name)!;
      console.log(
        `${name.padEnd(18)} ${wall.toFixed(3).padStart(10)}             ${(img.length ? median(img).toFixed(3) : '-').padStart(10)}            ${((wall / off - 1) * 100).toFixed(1).padStart(5)} %`,
      );
    }
    if (pngBytes.length)
      console.log(`PNG per patch: ${Math.round(median(pngBytes) / 1024)} KiB (median of ${pngBytes.length})`);
  } finally {
    data.dispose?.();
    await store.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

if (require.main === module)
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
