import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { DRIFT_MIME, DriftPayload, type DriftReport, type HistogramCounts } from '@floe/schema';
import type { Tensor } from '@tensorflow/tfjs-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../cli/main';
import { floeRoot, venvPython } from '../env/paths';
import {
  icebergFixture,
  imageOf,
  nestedImage,
  patches,
  type IcebergFixture,
  type Patch,
} from '../serving/fixtures.test-support';
import { serve, type ModelServer } from '../serving/server';
import { loadTf } from '../training/backend';
import { driftBundle } from './display';
import { ks, psi } from './drift';
import { driftAlerts, monitorDrift } from './monitor';

const run = promisify(execFile);
let fx: IcebergFixture;
let server: ModelServer;

beforeAll(async () => {
  fx = await icebergFixture(
    [
      {
        name: 'iceberg',
        model: 'extremeearth-cnn-angle',
        epochs: 4,
        modelOptions: { dropout: 0 },
        aliases: ['production'],
      },
    ],
    { rows: 200 },
  );
  server = await serve({ store: fx.store, port: 0, pollIntervalMs: 0, requestLog: { flushIntervalMs: 50 } });
});

afterAll(async () => {
  await server?.close();
  await fx?.cleanup();
});

/** The registered network run in process on raw patches, with the training standardisation applied by hand. */
async function inProcess(ps: Patch[]): Promise<number[]> {
  const tf = loadTf();
  const { model, version } = await fx.registry.load('iceberg@production');
  const sig = version.signature as {
    preprocessing: { channelMean: number[]; channelStd: number[] };
    angleNormalization: { mean: number; std: number };
  };
  const out = tf.tidy(() => {
    const image = tf
      .tensor4d(imageOf(ps, fx.side), [ps.length, fx.side, fx.side, 2])
      .sub(tf.tensor1d(sig.preprocessing.channelMean))
      .div(tf.tensor1d(sig.preprocessing.channelStd));
    const { mean, std } = sig.angleNormalization;
    const angle = tf.tensor2d(
      ps.map((p) => (p.inc_angle === null ? 0 : (p.inc_angle - mean) / std)),
      [ps.length, 1],
    );
    return Array.from((model.predict([image, angle]) as Tensor).dataSync());
  });
  model.dispose();
  return out;
}

/** Sends patches to the server, `perRequest` instances at a time; returns the time range they cover. */
async function stream(ps: Patch[], perRequest: number): Promise<{ since: Date; until: Date }> {
  const since = new Date();
  await new Promise((r) => setTimeout(r, 5));
  for (let i = 0; i < ps.length; i += perRequest) {
    const instances = ps
      .slice(i, i + perRequest)
      .map((p) => ({ image: nestedImage(p, fx.side), inc_angle: p.inc_angle }));
    const res = await fetch(`${server.url}/v1/models/iceberg/labels/production:predict`, {
      method: 'POST',
      body: JSON.stringify({ instances }),
    });
    expect(res.status).toBe(200);
  }
  await server.requestLog!.flush();
  await new Promise((r) => setTimeout(r, 5));
  return { since, until: new Date() };
}

describe('a Python client', () => {
  it('gets the in-process predictions with requests.post(url, json={"instances": [...]})', async () => {
    const python = venvPython();
    if (!fs.existsSync(python)) throw new Error(`no Python environment at ${python}: run scripts/setup.sh`);
    const ps = patches(6, { side: fx.side, seed: 31 });
    ps[2]!.inc_angle = null;
    const dir = fs.mkdtempSync(path.join(fx.home, 'py-'));
    // Statoil-style records: flat row-major bands and the angle ("na" where missing).
    fs.writeFileSync(
      path.join(dir, 'records.json'),
      JSON.stringify(
        ps.map((p) => ({ band_1: Array.from(p.band_1), band_2: Array.from(p.band_2), inc_angle: p.inc_angle ?? 'na' })),
      ),
    );
    const script = `
import json, sys
import requests
side = ${fx.side}
records = json.load(open(sys.argv[2]))
def image(r):
    return [[[r["band_1"][y * side + x], r["band_2"][y * side + x]] for x in range(side)] for y in range(side)]
url = sys.argv[1]
rows = requests.post(url + "/v1/models/iceberg:predict", json={"instances": [{"image": image(r), "inc_angle": r["inc_angle"]} for r in records]})
rows.raise_for_status()
cols = requests.post(url + "/v1/models/iceberg/labels/production:predict", json={"signature_name": "serving_default", "inputs": {"image": [image(r) for r in records], "inc_angle": [None if r["inc_angle"] == "na" else r["inc_angle"] for r in records]}})
cols.raise_for_status()
meta = requests.get(url + "/v1/models/iceberg/metadata").json()
bad = requests.post(url + "/v1/models/iceberg:predict", json={"instances": []})
print(json.dumps({"rows": rows.json()["predictions"], "cols": cols.json()["outputs"], "inputs": sorted(meta["metadata"]["signature_def"]["signature_def"]["serving_default"]["inputs"]), "bad": [bad.status_code, bad.json()]}))
`;
    fs.writeFileSync(path.join(dir, 'client.py'), script);
    const { stdout } = await run(python, [path.join(dir, 'client.py'), server.url, path.join(dir, 'records.json')], {
      cwd: floeRoot(),
      maxBuffer: 16 * 1024 * 1024,
    });
    const got = JSON.parse(stdout) as {
      rows: number[][];
      cols: number[][];
      inputs: string[];
      bad: [number, { error: string }];
    };
    const expected = await inProcess(ps);
    expect(got.rows.map((p) => p[0]!)).toEqual(expected.map((e) => expect.closeTo(e, 5)));
    expect(got.cols.map((p) => p[0]!)).toEqual(expected.map((e) => expect.closeTo(e, 5)));
    expect(got.inputs).toEqual(['image', 'inc_angle']);
    expect(got.bad).toEqual([400, { error: "'instances' is empty: send at least one instance" }]);
  });
});

describe('drift monitoring', () => {
  it('computes PSI and KS on binned distributions', () => {
    const h = (counts: number[], below = 0, above = 0): HistogramCounts => ({ lo: 0, hi: 1, counts, below, above });
    expect(psi(h([10, 20, 30]), h([1, 2, 3]))).toBeCloseTo(0, 10);
    expect(ks(h([10, 20, 30]), h([1, 2, 3]))).toBeCloseTo(0, 10);
    expect(ks(h([10, 0, 0]), h([0, 0, 10]))).toBeCloseTo(1, 10);
    // Σ (q − p) ln(q/p) for p = (0.5, 0.5), q = (0.9, 0.1).
    expect(psi(h([5, 5]), h([9, 1]))).toBeCloseTo(0.4 * Math.log(0.9 / 0.5) - 0.4 * Math.log(0.1 / 0.5), 10);
    expect(psi(h([5, 5]), h([0, 0]))).toBeNull();
  });

  let unshifted: DriftReport;
  let unshiftedRange: { since: Date; until: Date };
  let shiftedRange: { since: Date; until: Date };

  it('raises no alert for requests like the training data', async () => {
    unshiftedRange = await stream(patches(200, { side: fx.side, seed: 77 }), 10);
    unshifted = await monitorDrift({ model: 'iceberg@production', store: fx.store, ...unshiftedRange, display: false });
    expect(unshifted.reference).toMatchObject({
      source: 'feature-store',
      trainingDataset: 'icebergs:1',
      featureGroup: 'patches:1',
      commit: 1,
      rows: 200,
    });
    const w = unshifted.windows[0]!;
    expect(w).toMatchObject({ requests: 20, instances: 200 });
    expect(w.alerts).toEqual([]);
    expect(w.status).toBe('ok');
    expect(w.bands.map((b) => b.band)).toEqual(['band_1', 'band_2']);
    for (const b of w.bands) {
      expect(b.psi!).toBeLessThan(0.1);
      expect(Math.abs(b.meanShift!)).toBeLessThan(0.35);
    }
    expect(w.angle!.served.missingRate!).toBeGreaterThan(0.05);
    expect(w.angle!.served.missingRate!).toBeLessThan(0.4);
    expect(w.predictions.referencePositiveRate).toBeCloseTo(0.5, 5);
    expect(
      await fx.store.db.selectFrom('drift_alert').selectAll().where('report_id', '=', unshifted.id!).execute(),
    ).toEqual([]);
  });

  it('alerts on a stream with another incidence-angle range and a band offset, and records the alerts', async () => {
    shiftedRange = await stream(
      patches(120, { side: fx.side, seed: 78, angleRange: [20, 28], missingAngleRate: 0.6, bandOffset: 3 }),
      10,
    );
    const report = await monitorDrift({ model: 'iceberg', store: fx.store, ...shiftedRange, display: false });
    const w = report.windows[0]!;
    expect(w.status).toBe('drift');
    const fired = new Set(w.alerts.map((a) => `${a.feature}.${a.metric}`));
    for (const expected of [
      'band_1.psi',
      'band_1.mean_shift',
      'band_2.psi',
      'inc_angle.psi',
      'inc_angle.ks',
      'inc_angle.missing_rate',
    ])
      expect(fired).toContain(expected);
    expect(w.angle!.served.mean!).toBeLessThan(28);
    const stored = await driftAlerts(fx.store, 'iceberg');
    expect(
      stored
        .filter((a) => a.reportId === report.id)
        .map((a) => `${a.feature}.${a.metric}`)
        .sort(),
    ).toEqual([...fired].sort());
    const row = await fx.store.db
      .selectFrom('drift_report')
      .selectAll()
      .where('id', '=', report.id!)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ model: 'iceberg', version: 1, status: 'drift', alerts: w.alerts.length });
  });

  it('cuts a range into windows: the unshifted one is ok, the shifted one drifts', async () => {
    const windowMs = shiftedRange.since.getTime() - unshiftedRange.since.getTime();
    const report = await monitorDrift({
      model: 'iceberg',
      store: fx.store,
      since: unshiftedRange.since,
      until: shiftedRange.until,
      windowMs,
      record: false,
      display: false,
    });
    expect(report.id).toBeNull();
    expect(report.windows.map((w) => [w.requests, w.status])).toEqual([
      [20, 'ok'],
      [12, 'drift'],
    ]);
  });

  it('shows a drift MIME bundle with escaped HTML and a CLI report', async () => {
    const bundle = driftBundle({ ...unshifted, model: '<b>iceberg</b>' });
    const payload = DriftPayload.parse(bundle[DRIFT_MIME]);
    expect(payload.version_major).toBe(1);
    expect(bundle['text/html']).toContain('&lt;b&gt;iceberg&lt;/b&gt;');
    expect(bundle['text/html']).not.toContain('<b>iceberg</b>');
    expect(bundle['text/plain']).toMatch(/model <b>iceberg<\/b> version 1/);

    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    const home = process.env.FLOE_HOME;
    process.env.FLOE_HOME = fx.home;
    try {
      expect(await main(['monitor', 'iceberg@production', '--since', '1h', '--fail-on-drift'])).toBe(1);
      expect(await main(['monitor', 'iceberg', '--window', 'soon'])).toBe(2);
    } finally {
      spy.mockRestore();
      if (home === undefined) delete process.env.FLOE_HOME;
      else process.env.FLOE_HOME = home;
    }
    const text = out.join('');
    expect(text).toMatch(/drift report \d+: model iceberg version 1/);
    expect(text).toMatch(/reference: training dataset icebergs:1, feature group patches:1 commit 1 \(200 rows\)/);
    expect(text).toMatch(/ALERT inc_angle: PSI/);
  });
});
