/**
 * The in-process reference of `floe bench serve`, in a process of its own so that each run has the
 * TensorFlow execution settings it is given (TensorFlow reads them once per process):
 * `node serve-reference.js '<json ReferenceConfig>'`. Loads the registered version, times
 * `Servable.predict` (the server's execution path: standardisation, network, read-back) at each
 * batch size, and prints one JSON line of `InProcessResult`s.
 */
import { generateSynthetic } from '../ingest/synthetic';
import { ModelRegistry } from '../registry/registry';
import { Servable } from '../serving/servable';
import { servingSignature } from '../serving/signature';
import { openProjectStore } from '../store';
import { configureTfExecution, type TfExecution } from '../training/backend';

export interface ReferenceConfig {
  home: string;
  model: string;
  execution: TfExecution;
  batches: number[];
  /** Timing per batch size, seconds (at least 3 calls). */
  seconds: number;
  /** The synthetic patches to cycle through (`generateSynthetic`, the same the load generator sends). */
  synthetic: { seed: number; count: number; size: number };
}

export interface InProcessResult {
  batch: number;
  throughput: number;
  ms_per_batch: number;
  cpu_ms_per_instance: number;
}

const round = (x: number, d = 2): number => Number(x.toFixed(d));

/** A patch's two bands as one channels-last image (band_1, band_2 per pixel): how requests carry it. */
export function interleavedBands(rec: { band_1: ArrayLike<number>; band_2: ArrayLike<number> }): Float32Array {
  const n = rec.band_1.length;
  const v = new Float32Array(n * 2);
  for (let k = 0; k < n; k++) {
    v[k * 2] = rec.band_1[k]!;
    v[k * 2 + 1] = rec.band_2[k]!;
  }
  return v;
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as ReferenceConfig;
  configureTfExecution(config.execution);
  const store = await openProjectStore({ home: config.home });
  let servable: Servable;
  try {
    const { model, version } = await new ModelRegistry(store).load(config.model);
    servable = new Servable(model, version, servingSignature(model, version), null);
  } finally {
    await store.close();
  }
  const instances = generateSynthetic(config.synthetic).map(interleavedBands);
  const per = instances[0]!.length;
  const results: InProcessResult[] = config.batches.map((batch) => {
    const values = new Float32Array(batch * per);
    for (let i = 0; i < batch; i++) values.set(instances[i % instances.length]!, i * per);
    servable.predict([values], batch);
    let n = 0;
    const t = performance.now();
    const cpuAt = process.cpuUsage();
    while (n < 3 || performance.now() - t < config.seconds * 1000) {
      servable.predict([values], batch);
      n++;
    }
    const ms = (performance.now() - t) / n;
    const used = process.cpuUsage(cpuAt);
    return {
      batch,
      throughput: round((batch * 1000) / ms),
      ms_per_batch: round(ms),
      cpu_ms_per_instance: round((used.user + used.system) / 1000 / (n * batch), 3),
    };
  });
  await servable.retire();
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

// Run as a child process only: `floe bench serve` imports the types and helpers above.
if (require.main === module) {
  main().catch((err: Error) => {
    process.stderr.write(`bench serve reference: ${err.stack ?? err.message}\n`);
    process.exit(1);
  });
}
