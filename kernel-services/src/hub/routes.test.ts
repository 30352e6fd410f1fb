import * as http from 'node:http';
import {
  ExperimentListResponse,
  FeatureGroupDetailResponse,
  FeatureGroupListResponse,
  ModelDetailResponse,
  ModelLineageResponse,
  ModelListResponse,
  RunDetailResponse,
  RunListResponse,
  SearchDetailResponse,
  SearchListResponse,
  StoreChangeCounters,
} from '@floe/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProjectStore } from '../store';
import { ExperimentTracker } from '../tracking/tracker';
import { downsampleSeries } from './read-models';
import { seededAccuracy, seedPanelProject, type PanelSeed } from './seed';
import { startSeededHub, type SeededHub } from './hub.test-support';
import { startHub } from './server';

const HOSTILE = '<img src=x onerror=alert(1)>';
const LONG = 'ü'.repeat(300);

const enc = encodeURIComponent;

describe('hub REST /v1 over a seeded project store', () => {
  let t: SeededHub<{ seed: PanelSeed; hostile: PanelSeed }>;
  let store: ProjectStore;
  let port: number;
  let seed: PanelSeed;
  let hostile: PanelSeed;

  beforeAll(async () => {
    t = await startSeededHub(
      async (s) => ({
        seed: await seedPanelProject(s, {
          experiment: 'iceberg-cnn',
          runs: 25,
          stepPoints: 3000,
          featureGroups: 2,
          model: 'iceberg',
          search: 'lr-search',
        }),
        hostile: await seedPanelProject(s, {
          experiment: HOSTILE,
          runs: 3,
          runName: (i) => [HOSTILE, LONG, '冰山 🧊 "quoted" 50%_off'][i]!,
        }),
      }),
      { eventPollMs: 50 },
    );
    ({ store, port } = t);
    ({ seed, hostile } = t.seed);
  }, 120_000);
  afterAll(() => t?.close());

  it('lists experiments with their run counts', async () => {
    const r = await t.get('/v1/experiments');
    expect(r.status).toBe(200);
    const { experiments } = ExperimentListResponse.parse(r.body);
    expect(experiments.map((e) => [e.name, e.runs])).toEqual(
      expect.arrayContaining([
        ['iceberg-cnn', 25],
        [HOSTILE, 3],
      ]),
    );
  });

  it('pages runs with total, offset and limit, newest first by default', async () => {
    const first = RunListResponse.parse((await t.get(`/v1/experiments/iceberg-cnn/runs?limit=10`)).body);
    const second = RunListResponse.parse((await t.get(`/v1/experiments/iceberg-cnn/runs?limit=10&offset=10`)).body);
    const last = RunListResponse.parse((await t.get(`/v1/experiments/iceberg-cnn/runs?limit=10&offset=20`)).body);
    expect(first.total).toBe(25);
    expect([first.runs.length, second.runs.length, last.runs.length]).toEqual([10, 10, 5]);
    const ids = [...first.runs, ...second.runs, ...last.runs].map((r) => r.id);
    expect(ids).toEqual([...seed.runIds].reverse());
  });

  it('sorts on a summary metric in SQL, in both directions', async () => {
    const expected = seed.runIds
      .map((id, i) => ({ id, acc: seededAccuracy(i, 3) }))
      .sort((a, b) => b.acc - a.acc || b.id - a.id);
    const desc = RunListResponse.parse(
      (await t.get(`/v1/experiments/iceberg-cnn/runs?sort=metric:val_accuracy&dir=desc&limit=5`)).body,
    );
    expect(desc.runs.map((r) => r.summary.val_accuracy)).toEqual(expected.slice(0, 5).map((e) => e.acc));
    const asc = RunListResponse.parse(
      (await t.get(`/v1/experiments/iceberg-cnn/runs?sort=metric:val_accuracy&dir=asc&limit=1`)).body,
    );
    expect(asc.runs[0]!.summary.val_accuracy).toBe(Math.min(...expected.map((e) => e.acc)));
    const byName = RunListResponse.parse(
      (await t.get(`/v1/experiments/iceberg-cnn/runs?sort=name&dir=asc&limit=3`)).body,
    );
    expect(byName.runs.map((r) => r.name)).toEqual(['run-0', 'run-1', 'run-10']);
  });

  it('filters on name or params text and on status', async () => {
    const byName = RunListResponse.parse((await t.get(`/v1/experiments/iceberg-cnn/runs?filter=RUN-1`)).body);
    // run-1 and run-10..run-19
    expect(byName.total).toBe(11);
    const byParam = RunListResponse.parse((await t.get(`/v1/experiments/iceberg-cnn/runs?filter=lenet`)).body);
    expect(byParam.total).toBe(12);
    expect(byParam.runs.every((r) => r.params.model === 'lenet')).toBe(true);
    const failed = RunListResponse.parse((await t.get(`/v1/experiments/iceberg-cnn/runs?status=failed`)).body);
    expect(failed.runs.map((r) => r.name).sort()).toEqual(['run-19', 'run-9']);
    // LIKE wildcards in the filter are literal text.
    const percent = RunListResponse.parse(
      (await t.get(`/v1/experiments/${enc(HOSTILE)}/runs?filter=${enc('50%_')}`)).body,
    );
    expect(percent.runs.map((r) => r.name)).toEqual(['冰山 🧊 "quoted" 50%_off']);
    const none = RunListResponse.parse((await t.get(`/v1/experiments/iceberg-cnn/runs?filter=${enc('%')}`)).body);
    expect(none.total).toBe(0);
  });

  it('round-trips hostile experiment and run names as data', async () => {
    const r = RunListResponse.parse((await t.get(`/v1/experiments/${enc(HOSTILE)}/runs?sort=id&dir=asc`)).body);
    expect(r.runs.map((x) => x.name)).toEqual([HOSTILE, LONG, '冰山 🧊 "quoted" 50%_off']);
    expect(r.runs[0]!.experiment).toBe(HOSTILE);
    const detail = RunDetailResponse.parse((await t.get(`/v1/runs/${hostile.runIds[1]}`)).body);
    expect(detail.run.name).toBe(LONG);
  });

  it('answers a run with params, artifacts and metric series downsampled to at most N points', async () => {
    const r = await t.get(`/v1/runs/${seed.runIds[0]}?points=200`);
    expect(r.status).toBe(200);
    const detail = RunDetailResponse.parse(r.body);
    expect(detail.run.params).toMatchObject({ model: 'resnet' });
    expect(detail.artifacts.map((a) => a.kind)).toContain('model');
    const loss = detail.metrics.find((m) => m.scope === 'step' && m.name === 'loss')!;
    expect(loss.totalPoints).toBe(3000);
    expect(loss.points.length).toBeLessThanOrEqual(200);
    expect(loss.points[0]).toEqual([1, 1]);
    expect(loss.points.at(-1)![0]).toBe(3000);
    // The spikes (every 97th step) survive downsampling.
    expect(loss.points.some(([step]) => step % 97 === 0)).toBe(true);
    const acc = detail.metrics.find((m) => m.scope === 'epoch' && m.name === 'val_accuracy')!;
    expect(acc.points).toEqual([1, 2, 3].map((e) => [e, seededAccuracy(0, e)]));
  });

  it('answers models, versions with aliases, and lineage', async () => {
    const list = ModelListResponse.parse((await t.get('/v1/models')).body);
    expect(list.models).toEqual([{ name: 'iceberg', latestVersion: 1, versions: 1, aliases: { production: 1 } }]);
    const detail = ModelDetailResponse.parse((await t.get('/v1/models/iceberg')).body);
    expect(detail.versions[0]!.aliases).toEqual(['production']);
    const lineage = ModelLineageResponse.parse((await t.get('/v1/models/iceberg/versions/1/lineage')).body);
    expect(lineage.run.id).toBe(seed.runIds[0]);
    expect(lineage.run.experiment).toBe('iceberg-cnn');
  });

  it('answers feature groups with commits, statistics and schema', async () => {
    const list = FeatureGroupListResponse.parse((await t.get('/v1/feature-groups')).body);
    expect(list.featureGroups.map((g) => [g.name, g.commits, g.rows])).toEqual([
      ['patches_0', 1, 12],
      ['patches_1', 1, 12],
    ]);
    const detail = FeatureGroupDetailResponse.parse((await t.get('/v1/feature-groups/patches_1')).body);
    expect(detail.commits).toHaveLength(1);
    expect(detail.commits[0]!.totalRows).toBe(12);
    expect(JSON.stringify(detail.commits[0]!.statistics)).toContain('band_1');
    expect(detail.primaryKey).toEqual(['id']);
  });

  it('answers searches with trials and stop reasons', async () => {
    const list = SearchListResponse.parse((await t.get('/v1/searches')).body);
    expect(list.searches.map((s) => [s.name, s.status])).toEqual([['lr-search', 'completed']]);
    const detail = SearchDetailResponse.parse((await t.get(`/v1/searches/${seed.searchId}`)).body);
    expect(detail.trials.map((t) => t.status)).toEqual(['completed', 'stopped', 'completed']);
    expect(detail.trials[1]!.stopReason).toMatch(/^median rule/);
    expect(detail.trials[0]!.curve).toEqual([0.55, 0.7, 0.81, 0.86]);
  });

  it('answers 404 for records not in the store and 400 for bad parameters', async () => {
    const cases: [string, number, RegExp][] = [
      ['/v1/experiments/nope/runs', 404, /no experiment 'nope'/],
      ['/v1/runs/999999', 404, /no run 999999/],
      ['/v1/runs/abc', 400, /run id must be a positive integer/],
      ['/v1/models/nope', 404, /no registered model 'nope'/],
      ['/v1/models/iceberg/versions/9/lineage', 404, /.+/],
      ['/v1/feature-groups/nope', 404, /no feature group 'nope'/],
      ['/v1/searches/77', 404, /no search with id 77/],
      ['/v1/experiments/iceberg-cnn/runs?limit=0', 400, /limit/],
      ['/v1/experiments/iceberg-cnn/runs?sort=bogus', 400, /sort/],
      ['/v1/experiments/iceberg-cnn/runs?sort=metric:a%20b', 400, /cannot sort on metric/],
      ['/v1/experiments/%E0%A4%A/runs', 400, /percent-encoding/],
    ];
    for (const [url, status, message] of cases) {
      const r = await t.get(url);
      expect([url, r.status]).toEqual([url, status]);
      expect((r.body as { error: string }).error).toMatch(message);
    }
  });

  it('streams change counters as server-sent events and sends a new event when a run logs metrics', async () => {
    const events: unknown[] = [];
    const req = http.get({ host: '127.0.0.1', port, path: '/v1/events' });
    const response = await new Promise<http.IncomingMessage>((resolve) => req.on('response', resolve));
    expect(response.headers['content-type']).toMatch(/^text\/event-stream/);
    response.setEncoding('utf8');
    let buffer = '';
    const seen = new Promise<void>((resolve) => {
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const data = /^event: changes\ndata: (.*)$/m.exec(block);
          if (data) events.push(StoreChangeCounters.parse(JSON.parse(data[1]!)));
          if (events.length === 2) resolve();
        }
      });
    });
    await expect.poll(() => events.length).toBe(1);
    const run = await new ExperimentTracker(store).startRun({ experiment: 'iceberg-cnn', name: 'live' });
    await run.log('epoch', 1, { val_accuracy: 0.5 });
    await run.finish();
    await seen;
    req.destroy();
    const [before, after] = events as StoreChangeCounters[];
    expect(after!.audit).toBeGreaterThan(before!.audit);
    expect(after!.runs > before!.runs).toBe(true);
  });

  it('ends open event streams when it closes', async () => {
    const other = await startHub({ port: 0 }, { store, eventPollMs: 50 });
    const otherPort = Number(other.address.split(':').pop());
    const ended = new Promise<void>((resolve) => {
      http.get({ host: '127.0.0.1', port: otherPort, path: '/v1/events' }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
    });
    await new Promise((r) => setTimeout(r, 100));
    await other.close();
    await ended;
  });
});

describe('downsampleSeries', () => {
  it('keeps short series as they are', () => {
    const s: [number, number][] = [
      [1, 3],
      [2, 1],
    ];
    expect(downsampleSeries(s, 10)).toEqual(s);
  });

  it('keeps the first and last points and every bucket extreme, in step order, within the limit', () => {
    const s = Array.from({ length: 10_001 }, (_, i): [number, number] => [i, Math.sin(i / 50) + (i === 4321 ? 9 : 0)]);
    const d = downsampleSeries(s, 100);
    expect(d.length).toBeLessThanOrEqual(100);
    expect(d[0]).toEqual(s[0]);
    expect(d.at(-1)).toEqual(s.at(-1));
    expect(d.some(([step]) => step === 4321)).toBe(true);
    for (let i = 1; i < d.length; i++) expect(d[i]![0]).toBeGreaterThan(d[i - 1]![0]);
  });
});
