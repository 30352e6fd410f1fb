import * as http from 'node:http';
import {
  DeploymentDetailResponse,
  DeploymentListResponse,
  ModelDetailResponse,
  ModelLineageResponse,
  ServingChangeCounters,
} from '@floe/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveOptionsFromArgs } from '../serving/cli';
import { serve } from '../serving/server';
import { storedJson, storedTime } from '../store/portable';
import type { ProjectStore } from '../store';
import { DeploymentReads, percentile } from './deployment-reads';
import { seedServingProject, type ServingSeed } from './seed-serving';
import { startSeededHub, type SeededHub } from './hub.test-support';

/** Reads `/v1/events` until `until` holds for the counters seen, then closes the stream. */
function watchEvents(
  port: number,
  until: (seen: ServingChangeCounters[]) => boolean,
  onOpen: () => void,
): Promise<ServingChangeCounters[]> {
  return new Promise((resolve, reject) => {
    const seen: ServingChangeCounters[] = [];
    const req = http.get({ host: '127.0.0.1', port, path: '/v1/events' }, (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const data = /^data: (.*)$/m.exec(event);
          if (/^event: changes$/m.test(event) && data) {
            seen.push(ServingChangeCounters.parse(JSON.parse(data[1]!)));
            if (seen.length === 1) onOpen();
            if (until(seen)) {
              req.destroy();
              resolve(seen);
            }
          }
        }
      });
    });
    req.on('error', (err) => (err.message.includes('socket hang up') ? undefined : reject(err)));
  });
}

describe('deployments in the hub: a served, logged and monitored model', () => {
  let t: SeededHub<ServingSeed>;
  let store: ProjectStore;
  let seed: ServingSeed;
  let port: number;

  beforeAll(async () => {
    t = await startSeededHub(
      (s) =>
        seedServingProject(s, {
          model: 'iceberg',
          deployment: 'iceberg-prod',
          featureGroup: 'patches',
          runNames: ['<img src=x onerror=alert(1)>', 'v2'],
          requests: 40,
          heartbeatMs: 100,
        }),
      { eventPollMs: 50, beforeClose: (s) => s.server.close() },
    );
    ({ store, seed, port } = t);
  }, 180_000);
  afterAll(() => t?.close());

  it('records the server start as a running deployment with the versions it serves', async () => {
    const r = await t.get('/v1/deployments');
    expect(r.status).toBe(200);
    const { deployments } = DeploymentListResponse.parse(r.body);
    expect(deployments).toHaveLength(1);
    const d = deployments[0]!;
    expect(d).toMatchObject({ name: 'iceberg-prod', status: 'running', url: seed.server.url, pid: process.pid });
    expect(d.served.map((s) => [s.model, s.version, s.state, s.labels])).toEqual([
      ['iceberg', 1, 'AVAILABLE', ['production']],
      ['iceberg', 2, 'AVAILABLE', ['candidate', 'staging']],
    ]);
    // 40 + 10 + 30 requests, all in the last five minutes.
    expect(d.recentRequests).toBe(80);
    expect(d.recentAlerts).toBe(seed.drift.windows.flatMap((w) => w.alerts).length);
    expect(d.recentAlerts).toBeGreaterThan(0);
  });

  it('answers latency percentiles and throughput computed from the request log', async () => {
    const r = await t.get(`/v1/deployments/${encodeURIComponent('iceberg-prod')}`);
    expect(r.status).toBe(200);
    const detail = DeploymentDetailResponse.parse(r.body);
    const logged = await store.db
      .selectFrom('serving_request')
      .select(['latency_ms', 'deployment_id', 'version'])
      .execute();
    expect(logged).toHaveLength(80);
    expect(new Set(logged.map((l) => l.deployment_id))).toEqual(new Set([seed.server.deployment!.id]));
    const sorted = logged.map((l) => l.latency_ms).sort((a, b) => a - b);
    const fifteen = detail.windows.find((w) => w.seconds === 900)!;
    expect(fifteen.requests).toBe(80);
    expect(fifteen.instances).toBe(80);
    expect(fifteen.latencyP50).toBeCloseTo(sorted[39]!, 3);
    expect(fifteen.latencyP95).toBeCloseTo(sorted[75]!, 3);
    expect(fifteen.latencyP99).toBeCloseTo(sorted[79]!, 3);
    expect(fifteen.meanBatchSize).toBe(1);
    // The deployment is seconds old: rates are over the time it has existed, not the full window.
    expect(fifteen.requestsPerSecond).toBeGreaterThan(80 / 900);
    expect(detail.series).toHaveLength(30);
    expect(detail.series.reduce((s, b) => s + b.requests, 0)).toBe(80);
    expect(detail.byVersion).toEqual([
      { model: 'iceberg', version: 1, requests: 70 },
      { model: 'iceberg', version: 2, requests: 10 },
    ]);
    expect(detail.config).toMatchObject({
      models: ['iceberg'],
      versionPolicy: 'latest',
      requestLog: true,
      heartbeatMs: 100,
    });
    expect(detail.sampled).toBe(false);
    expect(detail.history).toEqual([]);
    // The shifted stream's monitoring pass: its report and alerts, for the production version.
    expect(detail.drift).toEqual([
      expect.objectContaining({ model: 'iceberg', version: 1, status: 'drift', reportId: seed.drift.id }),
    ]);
    expect(detail.alerts.length).toBe(detail.deployment.recentAlerts);
    expect(detail.alerts.map((a) => `${a.feature}.${a.metric}`)).toEqual(
      expect.arrayContaining(['band_1.mean_shift', 'band_2.mean_shift']),
    );
  });

  it('answers 404 for an unknown deployment and the lineage of both versions back to the commit', async () => {
    const missing = await t.get('/v1/deployments/nope');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: "no deployment 'nope' in this project" });
    const model = ModelDetailResponse.parse((await t.get('/v1/models/iceberg')).body);
    expect(model.versions.map((v) => [v.version, v.aliases])).toEqual([
      [2, ['candidate', 'staging']],
      [1, ['production']],
    ]);
    const lineage = ModelLineageResponse.parse((await t.get('/v1/models/iceberg/versions/1/lineage')).body);
    expect(lineage.run).toMatchObject({ id: seed.runIds[0], name: '<img src=x onerror=alert(1)>' });
    expect(lineage.trainingDataset).toMatchObject({ name: 'patches', version: 1, commit: 1 });
    expect(lineage.featureGroupCommit).toMatchObject({ featureGroup: 'patches', version: 1, commit: 1, rows: 64 });
  });

  it('moves the serving counter of /v1/events when requests are served', async () => {
    let sent: Promise<void> | undefined;
    const seen = await watchEvents(
      port,
      (s) => s.length > 1 && s[s.length - 1]!.serving.split(':')[0] !== s[0]!.serving.split(':')[0],
      () => (sent = seed.send(3)),
    );
    await sent;
    const [before, after] = [seen[0]!, seen[seen.length - 1]!];
    expect(Number(after.serving.split(':')[0])).toBeGreaterThan(Number(before.serving.split(':')[0]));
  });

  it('tells running, lost and stopped deployments apart, and keeps earlier starts as history', async () => {
    const reads = new DeploymentReads(store);
    const later = new Date(Date.now() + 60_000);
    expect((await reads.list(later))[0]!.status).toBe('lost');
    const second = await serve({
      store,
      port: 0,
      models: ['iceberg'],
      pollIntervalMs: 0,
      deployment: { name: 'iceberg-prod' },
    });
    await second.close();
    const detail = await reads.detail('iceberg-prod');
    expect(detail.deployment.status).toBe('stopped');
    expect(detail.asOf).toBe(detail.deployment.stoppedAt);
    expect(detail.history.map((h) => h.id)).toEqual([seed.server.deployment!.id]);
    // The earlier start's traffic still counts under the name.
    expect(detail.windows.find((w) => w.seconds === 900)!.requests).toBeGreaterThanOrEqual(80);
  });

  it('refuses a bad deployment name before listening, and counts a record with an old heartbeat as lost', async () => {
    await expect(serve({ store, port: 0, deployment: { name: '<b>x</b>' } })).rejects.toThrow(
      /deployment name '<b>x<\/b>': a letter or digit/,
    );
    const old = storedTime(Date.now() - 3600_000);
    await store.db
      .insertInto('deployment')
      .values({
        name: 'crashed',
        status: 'running',
        url: 'http://127.0.0.1:1',
        host: 'elsewhere',
        pid: 1,
        config: storedJson({
          models: null,
          versionPolicy: 'latest',
          batching: null,
          maxBodyBytes: 1,
          requestLog: true,
          heartbeatMs: 5000,
        }),
        served: '[]',
        started_at: old,
        heartbeat_at: old,
        stopped_at: null,
      })
      .execute();
    const r = DeploymentListResponse.parse((await t.get('/v1/deployments')).body);
    expect(r.deployments.find((d) => d.name === 'crashed')).toMatchObject({ status: 'lost', recentRequests: 0 });
  });
});

describe('percentile', () => {
  it('is the nearest rank', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(v, 0.5), percentile(v, 0.95), percentile(v, 0.99), percentile(v, 1)]).toEqual([50, 95, 99, 100]);
    expect(percentile([7], 0.99)).toBe(7);
    expect(percentile([], 0.5)).toBeNull();
  });
});

describe('floe serve --name', () => {
  it('names the deployment, and refuses the flag without a name', () => {
    expect(serveOptionsFromArgs(['iceberg'], { name: 'iceberg-prod' }).deployment).toEqual({ name: 'iceberg-prod' });
    expect(serveOptionsFromArgs(['iceberg'], {}).deployment).toBeUndefined();
    expect(() => serveOptionsFromArgs([], { name: true })).toThrow('serve: --name needs a deployment name');
  });
});
