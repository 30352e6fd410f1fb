/**
 * Seeds a project store with what the Models panel shows, through the library's real paths: a
 * feature group commit of small SAR-like patches, a training dataset frozen to it, two tiny LeNets
 * trained on it and registered as versions 1 and 2 of one model (aliases on both), a running model
 * server recorded as a deployment, predict requests it served and logged, and a monitoring pass over
 * a deliberately shifted stream that records drift alerts. Used by the hub tests and the browser tests.
 */
import type { DriftReport } from '@floe/schema';
import { FeatureStore } from '../feature-store/feature-store';
import { monitorDrift } from '../monitoring/monitor';
import { ModelRegistry } from '../registry/registry';
import { icebergSchema, nestedImage, patches, type Patch } from '../serving/fixtures.test-support';
import { serve, type ModelServer } from '../serving/server';
import type { ProjectStore } from '../store';
import { featureStoreTrainingData } from '../training/feature-store-data';
import { train } from '../training/train';

export interface ServingSeedOptions {
  /** Registered model name (letters, digits, `_ . -`). */
  model: string;
  /** Deployment name of the server started. */
  deployment: string;
  /** Feature group and training dataset name (letters, digits, `_ -`). */
  featureGroup: string;
  experiment?: string;
  /** Run names of the two trainings (default `<model>-v1`, `<model>-v2`); free text. */
  runNames?: [string, string];
  /** Description of version 2 (free text). */
  description?: string;
  /** Requests sent before the shifted stream (one instance each). */
  requests?: number;
  /** Heartbeat of the deployment record, ms. */
  heartbeatMs?: number;
}

export interface ServingSeed {
  model: string;
  deployment: string;
  featureGroup: string;
  trainingDataset: string;
  runIds: [number, number];
  /** The server, still running: the caller closes it (that marks the deployment stopped). */
  server: ModelServer;
  /** The monitoring pass over the shifted stream (it raised alerts). */
  drift: DriftReport;
  /** Sends `count` more unshifted requests to the production alias (for live updates). */
  send(count: number): Promise<void>;
}

const SIDE = 16;

export async function seedServingProject(store: ProjectStore, opts: ServingSeedOptions): Promise<ServingSeed> {
  const features = new FeatureStore(store);
  const registry = new ModelRegistry(store);
  const runIds: number[] = [];
  try {
    const group = await features.createFeatureGroup({
      name: opts.featureGroup,
      description: 'seeded SAR-like patches for the models panel',
      schema: icebergSchema(SIDE),
      primaryKey: 'id',
    });
    await group.insert(patches(64, { side: SIDE, seed: 1 }) as unknown as Record<string, unknown>[]);
    const dataset = await features.createTrainingDataset({
      name: opts.featureGroup,
      featureGroup: group,
      commit: 1,
      features: ['band_1', 'band_2', 'inc_angle'],
      label: 'is_iceberg',
      splits: { train: 0.75, validation: 0.25 },
      seed: 3,
    });
    for (let v = 0; v < 2; v++) {
      const data = await featureStoreTrainingData(dataset);
      try {
        const r = await train({
          model: 'lenet',
          modelOptions: { lenet: { filters: [4, 4], kernelSize: 3, denseUnits: 8, dropout: 0 } },
          data,
          epochs: 1 + v,
          batchSize: 16,
          learningRate: 0.003,
          store,
          display: false,
          experiment: opts.experiment ?? 'models-panel',
          runName: opts.runNames?.[v] ?? `${opts.model}-v${v + 1}`,
          snapshot: false,
          seed: 7 + v,
        });
        r.model.dispose();
        runIds.push(r.runId!);
      } finally {
        await data.close();
      }
    }
  } finally {
    await features.close();
  }
  await registry.register({ runId: runIds[0]!, name: opts.model, aliases: ['production'] });
  await registry.register({
    runId: runIds[1]!,
    name: opts.model,
    aliases: ['staging', 'candidate'],
    ...(opts.description !== undefined ? { description: opts.description } : {}),
  });

  const server = await serve({
    store,
    port: 0,
    models: [opts.model],
    pollIntervalMs: 500,
    requestLog: { flushIntervalMs: 100 },
    deployment: { name: opts.deployment, ...(opts.heartbeatMs ? { heartbeatMs: opts.heartbeatMs } : {}) },
  });
  const post = async (label: string, ps: Patch[]): Promise<void> => {
    for (const p of ps) {
      const res = await fetch(`${server.url}/v1/models/${opts.model}/labels/${label}:predict`, {
        method: 'POST',
        body: JSON.stringify({ instances: [nestedImage(p, SIDE)] }),
      });
      if (res.status !== 200)
        throw new Error(`seeding: predict on ${label} answered ${res.status}: ${await res.text()}`);
    }
  };
  try {
    const n = opts.requests ?? 40;
    await post('production', patches(n, { side: SIDE, seed: 11 }));
    await post('staging', patches(Math.max(1, Math.floor(n / 4)), { side: SIDE, seed: 12 }));
    // A stream from another sea state: 4 dB brighter on both bands, so the band statistics drift.
    const since = new Date();
    await new Promise((r) => setTimeout(r, 5));
    await post('production', patches(30, { side: SIDE, seed: 13, bandOffset: 4 }));
    await server.requestLog!.flush();
    await new Promise((r) => setTimeout(r, 5));
    const drift = await monitorDrift({
      model: `${opts.model}@production`,
      store,
      since,
      until: new Date(),
      display: false,
    });
    let extra = 100;
    return {
      model: opts.model,
      deployment: opts.deployment,
      featureGroup: opts.featureGroup,
      trainingDataset: opts.featureGroup,
      runIds: [runIds[0]!, runIds[1]!],
      server,
      drift,
      async send(count: number) {
        await post('production', patches(count, { side: SIDE, seed: extra++ }));
        await server.requestLog!.flush();
      },
    };
  } catch (err) {
    await server.close();
    throw err;
  }
}
