import {
  AblationBundle,
  RunDetailResponse,
  RunListResponse,
  SaliencyArtifactMeta,
  SearchDetailResponse,
} from '@floe/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProjectStore } from '../store';
import { storedJson, storedTime } from '../store/portable';
import { MAX_RUN_IMAGE_BYTES } from './read-models';
import { seededAccuracy, seedPanelProject, type PanelSeed } from './seed';
import { startSeededHub, type SeededHub } from './hub.test-support';

const enc = encodeURIComponent;

describe('hub routes of the experiments panel: nested runs, search view, ablation, run images', () => {
  let t: SeededHub<PanelSeed>;
  let store: ProjectStore;
  let seed: PanelSeed;

  beforeAll(async () => {
    t = await startSeededHub((s) =>
      seedPanelProject(s, {
        experiment: 'iceberg-cnn',
        runs: 6,
        search: 'lr-search',
        ablation: 'bands-and-layers',
        saliencyRuns: 2,
      }),
    );
    ({ store, seed } = t);
  }, 120_000);
  afterAll(() => t?.close());

  it("shows a search's trials as child runs of the search's run, and filters top-level runs or one run's children", async () => {
    const all = RunListResponse.parse((await t.get('/v1/experiments/lr-search/runs?sort=id&dir=asc')).body);
    expect(all.total).toBe(4);
    const parent = all.runs.find((r) => r.id === seed.searchRunId)!;
    expect(parent.children).toBe(3);
    expect(parent.parentRunId).toBeNull();
    const top = RunListResponse.parse((await t.get('/v1/experiments/lr-search/runs?parent=none')).body);
    expect(top.runs.map((r) => r.id)).toEqual([seed.searchRunId]);
    const children = RunListResponse.parse(
      (await t.get(`/v1/experiments/lr-search/runs?parent=${seed.searchRunId}&sort=name&dir=asc`)).body,
    );
    expect(children.runs.map((r) => [r.name, r.status, r.children])).toEqual([
      [`search-${seed.searchId}-trial-1`, 'finished', 0],
      [`search-${seed.searchId}-trial-2`, 'interrupted', 0],
      [`search-${seed.searchId}-trial-3`, 'finished', 0],
    ]);
    expect((await t.get('/v1/experiments/lr-search/runs?parent=x')).status).toBe(400);
  });

  it('answers a search with its best trial and its parallel coordinates (params axes + metric axis)', async () => {
    const detail = SearchDetailResponse.parse((await t.get(`/v1/searches/${seed.searchId}`)).body);
    expect(detail.best).toEqual({
      trial: 1,
      metric: 0.86,
      params: { learningRate: 0.01, filters: 16, optimizer: 'adam' },
    });
    const pc = detail.parallelCoordinates;
    expect(pc.axes.map((a) => [a.name, a.kind])).toEqual([
      ['learningRate', 'log'],
      ['filters', 'linear'],
      ['optimizer', 'categorical'],
      ['val_accuracy', 'linear'],
    ]);
    expect(pc.axes[2]!.domain).toEqual(['adam', 'sgd']);
    expect(pc.lines).toEqual([
      { trial: 1, values: [0.01, 16, 'adam', 0.86], stopped: false },
      { trial: 2, values: [0.09, 8, 'sgd', 0.53], stopped: true },
      { trial: 3, values: [0.003, 32, 'adam', 0.83], stopped: false },
    ]);
    // Each trial points at its run, which opens like any other run.
    const run = RunDetailResponse.parse((await t.get(`/v1/runs/${detail.trials[1]!.runId}`)).body);
    expect(run.run.parentRunId).toBe(seed.searchRunId);
    expect(run.metrics.find((m) => m.name === 'val_accuracy')!.points).toEqual([
      [1, 0.5],
      [2, 0.52],
      [3, 0.53],
    ]);
  });

  it('answers an ablation study: metric and delta per removed component against the base', async () => {
    const r = await t.get(`/v1/searches/${seed.ablationId}/ablation`);
    expect(r.status).toBe(200);
    const study = AblationBundle.parse(r.body);
    expect(study.study.baseMetric).toBe(0.84);
    const deltas = Object.fromEntries(study.chart.bars.map((b) => [b.component, Number(b.delta.toFixed(4))]));
    expect(deltas).toEqual({ HH: -0.13, HV: -0.04, angle: 0.012, conv2: -0.07 });
    expect(study.rows.find((x) => x.component === 'conv2')!.kind).toBe('layer');
    const notAblation = await t.get(`/v1/searches/${seed.searchId}/ablation`);
    expect(notAblation.status).toBe(400);
    expect((notAblation.body as { error: string }).error).toMatch(/not an ablation study/);
    expect((await t.get('/v1/searches/999/ablation')).status).toBe(404);
  });

  it("serves a run's saliency PNGs per epoch with their content type, and nothing outside the artifact", async () => {
    const runId = seed.runIds[0]!;
    const detail = RunDetailResponse.parse((await t.get(`/v1/runs/${runId}`)).body);
    const saliency = detail.artifacts.filter((a) => a.name.startsWith('saliency/'));
    expect(saliency.map((a) => a.name)).toEqual(['saliency/epoch-001', 'saliency/epoch-002', 'saliency/epoch-003']);
    const meta = SaliencyArtifactMeta.parse(saliency[2]!.meta);
    expect(meta.images.map((i) => i.patch)).toEqual(['p0', 'p1', 'p2']);
    const ok = await t.get(`/v1/runs/${runId}/image?artifact=${enc('saliency/epoch-003')}&file=patch-1.png`);
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toBe('image/png');
    expect(ok.headers['x-content-type-options']).toBe('nosniff');
    expect(Number(ok.headers['content-length'])).toBe(ok.bytes.length);
    expect([...ok.bytes.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    // The same bytes as stored.
    expect(
      Buffer.compare(ok.bytes, Buffer.from(await store.blobs.get(`runs/${runId}/saliency/epoch-003/patch-1.png`))),
    ).toBe(0);

    const refused: [string, number, RegExp][] = [
      [`file=${enc('../epoch-001/patch-1.png')}`, 400, /file/],
      [`file=${enc('..')}`, 400, /file/],
      [`file=${enc('.hidden.png')}`, 400, /file/],
      [`file=${enc('patch-1.png/../../model.json')}`, 400, /file/],
      ['file=patch-9.png', 404, /lists no image 'patch-9.png'/],
      ['', 400, /is a folder/],
    ];
    for (const [query, status, message] of refused) {
      const r = await t.get(`/v1/runs/${runId}/image?artifact=${enc('saliency/epoch-003')}&${query}`);
      expect([query, r.status]).toEqual([query, status]);
      expect((r.body as { error: string }).error).toMatch(message);
    }
    expect((await t.get(`/v1/runs/${runId}/image?artifact=nope`)).status).toBe(404);
    expect((await t.get(`/v1/runs/${runId}/image`)).status).toBe(400);
    expect(
      (await t.get(`/v1/runs/${seed.runIds[5]}/image?artifact=${enc('saliency/epoch-001')}&file=patch-0.png`)).status,
    ).toBe(404);
  });

  it('refuses images over the size bound (413) and files that are not PNG or JPEG (415)', async () => {
    const runId = seed.runIds[1]!;
    const add = async (name: string, key: string, bytes: Uint8Array): Promise<void> => {
      await store.blobs.put(key, bytes);
      await store.db
        .insertInto('run_artifact')
        .values({ run_id: runId, name, kind: 'plot', blob_key: key, meta: storedJson({}), created_at: storedTime() })
        .execute();
    };
    const big = new Uint8Array(MAX_RUN_IMAGE_BYTES + 1);
    big.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    await add('huge.png', `runs/${runId}/huge.png`, big);
    await add('page.png', `runs/${runId}/page.png`, Buffer.from('<html><script>alert(1)</script></html>'));
    await add('photo.jpg', `runs/${runId}/photo.jpg`, Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]));
    const huge = await t.get(`/v1/runs/${runId}/image?artifact=huge.png`);
    expect(huge.status).toBe(413);
    const page = await t.get(`/v1/runs/${runId}/image?artifact=page.png`);
    expect(page.status).toBe(415);
    expect(page.headers['content-type']).toMatch(/^application\/json/);
    const jpeg = await t.get(`/v1/runs/${runId}/image?artifact=photo.jpg`);
    expect([jpeg.status, jpeg.headers['content-type']]).toEqual([200, 'image/jpeg']);
  });

  it('bulk seeding writes the same runs, metrics and summaries as the tracker path', async () => {
    await seedPanelProject(store, { experiment: 'slow', runs: 12 });
    await seedPanelProject(store, { experiment: 'bulk', runs: 12, bulk: true });
    const page = async (experiment: string): Promise<unknown[]> =>
      RunListResponse.parse(
        (await t.get(`/v1/experiments/${experiment}/runs?sort=id&dir=asc&limit=100`)).body,
      ).runs.map((r) => [r.name, r.status, r.params, r.summary, r.epochsCompleted, r.children, r.parentRunId]);
    expect(await page('bulk')).toEqual(await page('slow'));
    const bulk = RunListResponse.parse((await t.get('/v1/experiments/bulk/runs?sort=id&dir=asc&limit=1')).body);
    const detail = RunDetailResponse.parse((await t.get(`/v1/runs/${bulk.runs[0]!.id}`)).body);
    expect(detail.metrics.find((m) => m.name === 'val_accuracy')!.points).toEqual([
      [1, seededAccuracy(0, 1)],
      [2, seededAccuracy(0, 2)],
      [3, seededAccuracy(0, 3)],
    ]);
    expect(detail.run.error).toBeNull();
  });
});
