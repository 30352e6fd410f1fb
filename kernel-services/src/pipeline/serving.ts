/**
 * The tutorial's serving and monitoring step: serve the registered model over TensorFlow Serving's
 * REST API on loopback, send it patches one request at a time (latency), then a second stream whose
 * backscatter is shifted, and ask the drift monitor about both.
 */
import type { DriftReport } from '@floe/schema';
import type { StatoilRecord } from '../ingest/statoil';
import { generateSynthetic } from '../ingest/synthetic';
import { monitorDrift } from '../monitoring/monitor';
import { serve } from '../serving/server';
import type { ProjectStore } from '../store';

/** A Statoil record as one `:predict` instance: the 75×75×2 (HH, HV) image, channels last, in dB. */
export function patchInstance(
  rec: Pick<StatoilRecord, 'band_1' | 'band_2'>,
  side = Math.round(Math.sqrt(rec.band_1.length)),
): { image: number[][][] } {
  const image: number[][][] = [];
  for (let y = 0; y < side; y++) {
    const row: number[][] = [];
    for (let x = 0; x < side; x++) row.push([rec.band_1[y * side + x]!, rec.band_2[y * side + x]!]);
    image.push(row);
  }
  return { image };
}

/** Unlabelled patches for the serving streams (a seed the training data does not use); `offsetDb` shifts both bands. */
export function servingPatches(count: number, seed: number, offsetDb = 0): StatoilRecord[] {
  const recs = generateSynthetic({ seed, count, test: true });
  if (offsetDb !== 0) {
    for (const r of recs) {
      for (const band of [r.band_1, r.band_2]) for (let i = 0; i < band.length; i++) band[i] = band[i]! + offsetDb;
    }
  }
  return recs;
}

export interface ServingSummary {
  model: string;
  requests: number;
  /** Milliseconds per single-patch POST :predict, client side (JSON encode, HTTP on loopback, batching, predict). */
  latencyMs: { mean: number; p50: number; p95: number };
  /** Share of patches called icebergs. */
  icebergRate: number;
  drift: { unshifted: DriftCheck; shifted: DriftCheck & { offsetDb: number } };
}

export interface DriftCheck {
  status: string;
  alerts: string[];
  reportId: number | null;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function check(report: DriftReport): DriftCheck {
  const w = report.windows[0];
  return {
    status: w?.status ?? 'insufficient-data',
    alerts: (w?.alerts ?? []).map((a) => `${a.feature}.${a.metric}`),
    reportId: report.id,
  };
}

/**
 * Serves `model` (a registry reference such as `iceberg-lenet@production`), streams `requests`
 * patches like the training data and then the same number shifted by `offsetDb`, and checks drift.
 */
export async function serveAndMonitor(
  store: ProjectStore,
  model: string,
  requests: number,
  offsetDb = 3,
  log: (l: string) => void = () => {},
): Promise<ServingSummary> {
  const [name, alias] = model.split('@');
  const route = `/v1/models/${name}${alias ? `/labels/${alias}` : ''}:predict`;
  const server = await serve({
    store,
    port: 0,
    models: [name!],
    pollIntervalMs: 0,
    requestLog: { flushIntervalMs: 50 },
  });
  try {
    log(`serving ${model} at ${server.url}${route}`);
    const post = async (rec: StatoilRecord): Promise<number> => {
      const res = await fetch(`${server.url}${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instances: [patchInstance(rec)] }),
      });
      const body = (await res.json()) as { predictions?: number[][]; error?: string };
      if (!res.ok || !body.predictions)
        throw new Error(`POST ${route} answered ${res.status}: ${body.error ?? 'no predictions'}`);
      return body.predictions[0]![0]!;
    };
    const stream = async (
      recs: StatoilRecord[],
    ): Promise<{ since: Date; until: Date; ms: number[]; positives: number }> => {
      const since = new Date();
      await new Promise((r) => setTimeout(r, 5));
      const ms: number[] = [];
      let positives = 0;
      for (const rec of recs) {
        const t0 = performance.now();
        if ((await post(rec)) >= 0.5) positives++;
        ms.push(performance.now() - t0);
      }
      await server.requestLog!.flush();
      await new Promise((r) => setTimeout(r, 5));
      return { since, until: new Date(), ms, positives };
    };
    const normal = await stream(servingPatches(requests, 101));
    const unshifted = await monitorDrift({ model, store, since: normal.since, until: normal.until, display: false });
    log(`drift check on ${requests} patches like the training data: ${check(unshifted).status}`);
    const shiftedStream = await stream(servingPatches(requests, 102, offsetDb));
    const shifted = await monitorDrift({
      model,
      store,
      since: shiftedStream.since,
      until: shiftedStream.until,
      display: false,
    });
    log(
      `drift check on ${requests} patches shifted by ${offsetDb} dB: ${check(shifted).status} (${check(shifted).alerts.join(', ') || 'no alerts'})`,
    );
    const sorted = [...normal.ms].sort((a, b) => a - b);
    const r2 = (x: number): number => Math.round(x * 100) / 100;
    return {
      model,
      requests: normal.ms.length + shiftedStream.ms.length,
      latencyMs: {
        mean: r2(sorted.reduce((a, b) => a + b, 0) / sorted.length),
        p50: r2(quantile(sorted, 0.5)),
        p95: r2(quantile(sorted, 0.95)),
      },
      icebergRate: Math.round((normal.positives / requests) * 1000) / 1000,
      drift: { unshifted: check(unshifted), shifted: { ...check(shifted), offsetDb } },
    };
  } finally {
    await server.close();
  }
}
