import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { CommitLabelsResponse, FeatureGroupDetailResponse, LabelOverlayResponse } from '@floe/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openProjectStore, type ProjectStore } from '../store';
import { startHub, type RunningHub } from './server';

const repoRoot = path.resolve(__dirname, '../../..');
const dataDir = process.env.FLOE_REAL_DATA ?? path.resolve(repoRoot, '../shared/data');
const GRD_DIR = 's1-grd-rio-tiler/S1A_IW_GRDH_1SDV_20180716T004042_20180716T004107_022812_02792A_FD5B/measurement';
const haveData = fs.existsSync(path.join(dataDir, GRD_DIR, 'iw-vv.tiff'));

function request(
  port: number,
  method: string,
  urlPath: string,
  body?: string,
  contentType = 'application/json',
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: urlPath,
        method,
        headers: body === undefined ? {} : { 'content-type': contentType },
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(data) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe.skipIf(!haveData)('hub POST /v1/labels/commit', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-hub-labels-'));
  const savedRoot = process.env.FLOE_FILES_ROOT;
  let store: ProjectStore;
  let hub: RunningHub;
  let port: number;
  const post = (body: unknown, type?: string): Promise<{ status: number; body: unknown }> =>
    request(port, 'POST', '/v1/labels/commit', typeof body === 'string' ? body : JSON.stringify(body), type);

  beforeAll(async () => {
    // The viewer's paths are relative to the Jupyter server root; here the real-data folder plays it.
    process.env.FLOE_FILES_ROOT = dataDir;
    store = await openProjectStore({ home });
    hub = await startHub({ port: 0 }, { store });
    port = Number(new URL(hub.address).port);
  });
  afterAll(async () => {
    await hub.close();
    await store.close();
    if (savedRoot === undefined) delete process.env.FLOE_FILES_ROOT;
    else process.env.FLOE_FILES_ROOT = savedRoot;
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('commits labelled points as chips; the feature group shows the new commit', async () => {
    const res = await post({
      featureGroup: 'hub_labels',
      raster: `${GRD_DIR}/iw-vv.tiff`,
      labels: [
        { col: 500, row: 400, class: 'iceberg' },
        { col: 700, row: 350, class: 'ship' },
      ],
      labelledBy: 'reviewer',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const body = CommitLabelsResponse.parse(res.body);
    expect(body.commit).toMatchObject({ number: 1, rowsInserted: 2, totalRows: 2 });
    const detail = await request(port, 'GET', '/v1/feature-groups/hub_labels');
    expect(detail.status).toBe(200);
    const group = FeatureGroupDetailResponse.parse(detail.body);
    expect(group.commits.map((c) => c.rowsInserted)).toEqual([2]);
    expect(group.primaryKey).toEqual(['id']);
    // The viewer draws committed labels from this route: points and 75×75 footprints, in pixels.
    const overlay = await request(
      port,
      'GET',
      `/v1/labels/overlay?raster=${encodeURIComponent(`${GRD_DIR}/iw-vv.tiff`)}`,
    );
    expect(overlay.status).toBe(200);
    const { overlays } = LabelOverlayResponse.parse(overlay.body);
    expect(overlays.map((o) => [o.name, o.kind, o.crs, o.features.length])).toEqual([
      ['hub_labels v1: labels', 'labels', 'pixel', 2],
      ['hub_labels v1: chip footprints', 'footprints', 'pixel', 2],
    ]);
    const iceberg = overlays[0]!.features.find((f) => f.properties?.class === 'iceberg')!;
    expect(iceberg.geometry).toEqual({ type: 'Point', coordinates: [500, 400] });
    expect(overlays[1]!.features[0]!.geometry.coordinates).toEqual([
      [
        [463, 363],
        [538, 363],
        [538, 438],
        [463, 438],
        [463, 363],
      ],
    ]);
    const none = await request(port, 'GET', `/v1/labels/overlay?raster=${encodeURIComponent("o'ther.tif")}`);
    expect(LabelOverlayResponse.parse(none.body).overlays).toEqual([]);
    expect((await request(port, 'GET', '/v1/labels/overlay')).status).toBe(400);
  });

  it('answers bad requests with 4xx statuses that say what was wrong, and stays up', async () => {
    const raster = `${GRD_DIR}/iw-vv.tiff`;
    const cases: [unknown, number, RegExp, string?][] = [
      ['{not json', 400, /not JSON/],
      [{ featureGroup: 'x', raster, labels: [] }, 400, /labels/],
      [{ featureGroup: '9bad', raster, labels: [{ col: 1, row: 1, class: 'ship' }] }, 400, /featureGroup/],
      [{ featureGroup: 'x', raster: '../../etc/passwd', labels: [{ col: 1, row: 1, class: 'ship' }] }, 403, /outside/],
      [
        { featureGroup: 'x', raster: 'nope/iw-vv.tiff', labels: [{ col: 1, row: 1, class: 'ship' }] },
        404,
        /does not exist/,
      ],
      [{ featureGroup: 'x', raster, labels: [{ col: 9999, row: 1, class: 'ship' }] }, 400, /outside/],
      [
        { featureGroup: 'hub_labels', raster, labels: [{ col: 500, row: 400, class: 'ship' }] },
        409,
        /duplicate primary key/,
      ],
      [
        { featureGroup: 'x', raster, labels: [{ col: 1, row: 1, class: 'ship' }] },
        415,
        /application\/json/,
        'text/plain',
      ],
    ];
    for (const [body, status, message, type] of cases) {
      const res = await post(body, type);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect((res.body as { error: string }).error).toMatch(message);
    }
    expect((await request(port, 'GET', '/v1/labels/commit')).status).toBe(405);
    expect((await request(port, 'GET', '/v1/info')).status).toBe(200);
  });
});
