import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RasterFile } from './geotiff';
import {
  matchesFilter,
  readStaticCatalog,
  selectAssets,
  StacApiClient,
  StacError,
  type ResolvedItem,
  type StacItem,
} from './stac';

const repoRoot = path.resolve(__dirname, '../../..');
const dataDir = process.env.FLOE_REAL_DATA ?? path.resolve(repoRoot, '../shared/data');
const stacDir = path.join(dataDir, 'stac-sentinel1');
const examples = path.join(stacDir, 'stactools-sentinel1/examples');
const haveData = fs.existsSync(examples);
const PYROSAR_DB = path.join(dataDir, 's1-geocoded-db-pyrosar/S1A__IW___A_20150309T173017_VV_grd_mli_geo_norm_db.tif');

const ids = (items: ResolvedItem[]): string[] => items.map((i) => i.item.id).sort();
async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe.skipIf(!haveData)('static STAC catalogs (real Sentinel-1 catalog files)', () => {
  it('walks catalog → collection → year catalogs → items, resolving relative asset hrefs', async () => {
    const items = await all(readStaticCatalog(path.join(examples, 'rtc/catalog.json')));
    expect(ids(items)).toEqual(['S1A_20200103_17RMJ_ASC', 'S1B_20161121_12SYJ_ASC']);
    const s1b = items.find((i) => i.item.id === 'S1B_20161121_12SYJ_ASC')!;
    expect(s1b.source).toBe(
      path.join(examples, 'rtc/sentinel1-rtc-aws/2016/S1B_20161121_12SYJ_ASC/S1B_20161121_12SYJ_ASC.json'),
    );
    const cog = selectAssets(s1b, { roles: ['gamma0'], mediaTypes: ['image/tiff'] });
    expect(cog.map((a) => a.key).sort()).toEqual(['gamma0_vh', 'gamma0_vv']);
    expect(cog[0]!.href).toMatch(/^https:\/\/sentinel-s1-rtc-indigo\.s3\.us-west-2\.amazonaws\.com\/tiles\/RTC\//);
  });

  it('resolves relative asset hrefs of a collection to absolute file paths', async () => {
    const items = await all(readStaticCatalog(path.join(examples, 'grd/collection.json')));
    expect(items).toHaveLength(2);
    const iw = items.find((i) => i.item.id.startsWith('S1A_IW_GRDH'))!;
    const data = selectAssets(iw, { roles: ['data'] });
    expect(data.map((a) => a.key).sort()).toEqual(['vh', 'vv']);
    for (const a of data) {
      expect(path.isAbsolute(a.href)).toBe(true);
      expect(a.href.startsWith(path.join(stacDir, 'stactools-sentinel1/tests/data-files/grd/'))).toBe(true);
    }
    expect(selectAssets(iw, { mediaTypes: ['image/png'] }).map((a) => a.key)).toEqual(['thumbnail']);
    expect(selectAssets(iw, { keys: ['vv'], roles: ['metadata'] })).toEqual([]);
  });

  it('reads a single item file and filters by bbox and datetime on the client', async () => {
    const rtc = path.join(examples, 'rtc/catalog.json');
    const florida = await all(readStaticCatalog(rtc, { filter: { bbox: [-83, 25, -80, 27] } }));
    expect(ids(florida)).toEqual(['S1A_20200103_17RMJ_ASC']);
    const in2016 = await all(
      readStaticCatalog(rtc, { filter: { datetime: '2016-01-01T00:00:00Z/2016-12-31T23:59:59Z' } }),
    );
    expect(ids(in2016)).toEqual(['S1B_20161121_12SYJ_ASC']);
    const openEnded = await all(readStaticCatalog(rtc, { filter: { datetime: '2019-01-01T00:00:00Z/..' } }));
    expect(ids(openEnded)).toEqual(['S1A_20200103_17RMJ_ASC']);
    const one = await all(
      readStaticCatalog(
        path.join(
          examples,
          'slc/S1A_IW_SL1__1_SH_20141031T095929_20141031T100002_003072_003842/S1A_IW_SL1__1_SH_20141031T095929_20141031T100002_003072_003842.json',
        ),
      ),
    );
    expect(ids(one)).toEqual(['S1A_IW_SL1__1_SH_20141031T095929_20141031T100002_003072_003842']);
  });

  it('stops at maxItems', async () => {
    expect(await all(readStaticCatalog(path.join(examples, 'rtc/catalog.json'), { maxItems: 1 }))).toHaveLength(1);
  });

  it('names the file for a missing child, bad JSON, and a non-STAC document', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-stac-'));
    try {
      fs.writeFileSync(
        path.join(tmp, 'catalog.json'),
        JSON.stringify({ type: 'Catalog', id: 'c', links: [{ rel: 'child', href: './missing/catalog.json' }] }),
      );
      await expect(all(readStaticCatalog(path.join(tmp, 'catalog.json')))).rejects.toThrow(
        /missing\/catalog\.json: cannot read/,
      );
      fs.writeFileSync(path.join(tmp, 'bad.json'), '{"type": "Catalog", ');
      await expect(all(readStaticCatalog(path.join(tmp, 'bad.json')))).rejects.toThrow(/bad\.json: not JSON/);
      fs.writeFileSync(path.join(tmp, 'other.json'), '{"type": "Topology"}');
      await expect(all(readStaticCatalog(path.join(tmp, 'other.json')))).rejects.toThrow(StacError);
      await expect(all(readStaticCatalog(path.join(tmp, 'other.json')))).rejects.toThrow(
        /not a STAC catalog, collection or item \(type "Topology"\)/,
      );
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

/**
 * A tiny STAC API over the real catalog files, for the client's tests: landing page, paged
 * /collections, paged /collections/{id}/items, GET and POST /search (bbox, datetime, collections,
 * limit, token paging), static files, and one GeoTIFF with HTTP range support.
 */
function startFixtureServer(): Promise<{ base: string; close: () => Promise<void>; requests: string[] }> {
  const collectionFiles = ['grd/collection.json', 'rtc/sentinel1-rtc-aws/collection.json', 'slc/collection.json'];
  const collections = collectionFiles.map(
    (f) => JSON.parse(fs.readFileSync(path.join(examples, f), 'utf8')) as { id: string },
  );
  const itemFiles: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.json')) {
        const j = JSON.parse(fs.readFileSync(p, 'utf8'));
        if (j.type === 'Feature') itemFiles.push(p);
      }
    }
  };
  walk(examples);
  const items = itemFiles
    .map((f) => JSON.parse(fs.readFileSync(f, 'utf8')) as StacItem)
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  const requests: string[] = [];

  // The fixture's own, deliberately plain filter (not the client's matchesFilter).
  const select = (q: { bbox?: number[]; datetime?: string; collections?: string[] }): StacItem[] =>
    items.filter((it) => {
      if (q.collections && !q.collections.includes(it.collection ?? '')) return false;
      if (q.bbox) {
        const [w, s, e, n] = it.bbox!;
        if (w! > q.bbox[2]! || e! < q.bbox[0]! || s! > q.bbox[3]! || n! < q.bbox[1]!) return false;
      }
      if (q.datetime) {
        const [a, b] = q.datetime.split('/');
        const t = Date.parse(it.properties.datetime as string);
        if (a && a !== '..' && t < Date.parse(a)) return false;
        if (b && b !== '..' && t > Date.parse(b)) return false;
      }
      return true;
    });

  const send = (res: http.ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const base = `http://${req.headers.host}`;
    const url = new URL(req.url ?? '/', base);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        if (url.pathname === '/') {
          return send(res, 200, {
            type: 'Catalog',
            id: 'fixture',
            conformsTo: ['https://api.stacspec.org/v1.0.0/core', 'https://api.stacspec.org/v1.0.0/item-search'],
            links: [{ rel: 'search', href: `${base}/search` }],
          });
        }
        if (url.pathname === '/collections') {
          // One collection per page, to exercise paging of /collections.
          const page = Number(url.searchParams.get('page') ?? 0);
          const links =
            page + 1 < collections.length ? [{ rel: 'next', href: `${base}/collections?page=${page + 1}` }] : [];
          return send(res, 200, { collections: collections.slice(page, page + 1), links });
        }
        const m = /^\/collections\/([^/]+)\/items$/.exec(url.pathname);
        if (m) {
          const id = decodeURIComponent(m[1]!);
          if (!collections.some((c) => c.id === id))
            return send(res, 404, { code: 'NotFound', description: `no collection ${id}` });
          const limit = Number(url.searchParams.get('limit') ?? 10);
          const offset = Number(url.searchParams.get('offset') ?? 0);
          const all = select({ collections: [id] });
          const next =
            offset + limit < all.length
              ? [{ rel: 'next', href: `${base}/collections/${m[1]}/items?limit=${limit}&offset=${offset + limit}` }]
              : [];
          return send(res, 200, {
            type: 'FeatureCollection',
            features: all.slice(offset, offset + limit),
            links: next,
          });
        }
        if (url.pathname === '/search') {
          let q: { bbox?: number[]; datetime?: string; collections?: string[]; limit?: number; token?: number };
          if (req.method === 'POST') q = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
          else {
            const p = url.searchParams;
            q = {
              bbox: p.get('bbox')?.split(',').map(Number),
              datetime: p.get('datetime') ?? undefined,
              collections: p.get('collections')?.split(','),
              limit: p.has('limit') ? Number(p.get('limit')) : undefined,
              token: p.has('token') ? Number(p.get('token')) : undefined,
            };
          }
          if (q.bbox && (q.bbox.length !== 4 || q.bbox.some((v) => Number.isNaN(v))))
            return send(res, 400, { code: 'InvalidParameter', description: 'bad bbox' });
          const limit = q.limit ?? 10;
          const token = q.token ?? 0;
          const found = select(q);
          const links = [];
          if (token + limit < found.length) {
            if (req.method === 'POST')
              links.push({
                rel: 'next',
                href: `${base}/search`,
                method: 'POST',
                body: { token: token + limit },
                merge: true,
              });
            else {
              const nextUrl = new URL(url);
              nextUrl.searchParams.set('token', String(token + limit));
              links.push({ rel: 'next', href: nextUrl.href });
            }
          }
          return send(res, 200, {
            type: 'FeatureCollection',
            features: found.slice(token, token + limit),
            links,
            numberMatched: found.length,
          });
        }
        if (url.pathname === '/loop') {
          return send(res, 200, {
            type: 'FeatureCollection',
            features: [items[0]],
            links: [{ rel: 'next', href: `${base}/loop` }],
          });
        }
        if (url.pathname === '/broken/search') return send(res, 500, { description: 'database down' });
        if (url.pathname === '/files/pyrosar.tif') {
          const bytes = fs.readFileSync(PYROSAR_DB);
          const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
          if (!range) {
            res.writeHead(200, {
              'content-type': 'image/tiff',
              'content-length': bytes.length,
              'accept-ranges': 'bytes',
            });
            return res.end(bytes);
          }
          const start = Number(range[1]);
          const end = Math.min(bytes.length - 1, range[2] ? Number(range[2]) : bytes.length - 1);
          res.writeHead(206, {
            'content-type': 'image/tiff',
            'content-range': `bytes ${start}-${end}/${bytes.length}`,
            'content-length': end - start + 1,
            'accept-ranges': 'bytes',
          });
          return res.end(bytes.subarray(start, end + 1));
        }
        if (url.pathname === '/item-with-cog.json') {
          // An item whose data asset is a GeoTIFF on this server (relative href).
          return send(res, 200, {
            ...items[0],
            id: 'with-cog',
            assets: { vv: { href: './files/pyrosar.tif', type: 'image/tiff; application=geotiff', roles: ['data'] } },
          });
        }
        if (url.pathname.startsWith('/static/')) {
          const rel = decodeURIComponent(url.pathname.slice('/static/'.length));
          const file = path.resolve(stacDir, rel);
          if (!file.startsWith(stacDir + path.sep) || !fs.existsSync(file))
            return send(res, 404, { description: 'not found' });
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.end(fs.readFileSync(file));
        }
        send(res, 404, { description: `no route ${url.pathname}` });
      } catch (err) {
        send(res, 500, { description: String(err) });
      }
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        base: `http://127.0.0.1:${port}`,
        requests,
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    });
  });
}

describe.skipIf(!haveData)('STAC API client against a local fixture server', () => {
  let server: Awaited<ReturnType<typeof startFixtureServer>>;
  beforeAll(async () => {
    server = await startFixtureServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('lists collections across pages', async () => {
    const client = new StacApiClient(server.base);
    expect((await client.landing()).conformsTo).toContain('https://api.stacspec.org/v1.0.0/item-search');
    const cols = await client.collections();
    expect(cols.map((c) => c.id)).toEqual(['sentinel1-grd', 'sentinel1-rtc-aws', 'sentinel1-slc']);
  });

  it('pages through a collection’s items with next links', async () => {
    const client = new StacApiClient(server.base);
    server.requests.length = 0;
    const items = await all(client.items('sentinel1-grd', { limit: 1 }));
    expect(items).toHaveLength(2);
    expect(server.requests.filter((r) => r.includes('/collections/sentinel1-grd/items'))).toHaveLength(2);
    // Asset hrefs are resolved against the page URL they came from.
    expect(selectAssets(items[0]!, { roles: ['data'] })[0]!.href).toMatch(
      new RegExp(`^${server.base}/tests/data-files/grd/`),
    );
  });

  it('searches by bbox and datetime (GET), paging with tokens', async () => {
    const client = new StacApiClient(server.base);
    const europe = await all(client.search({ bbox: [-10, 35, 20, 60], limit: 1 }));
    expect(ids(europe)).toEqual(['S1A_IW_GRDH_1SDV_20210809T173953_20210809T174018_039156_049F13']);
    const since2020 = await all(client.search({ datetime: '2020-01-01T00:00:00Z/..', limit: 1 }));
    expect(ids(since2020)).toEqual([
      'S1A_20200103_17RMJ_ASC',
      'S1A_EW_GRDM_1SDH_20221130T014342_20221130T014446_046117_058549',
      'S1A_IW_GRDH_1SDV_20210809T173953_20210809T174018_039156_049F13',
    ]);
    // The server's answers agree with the client-side filter used for static catalogs.
    for (const it of since2020) expect(matchesFilter(it.item, { datetime: '2020-01-01T00:00:00Z/..' })).toBe(true);
  });

  it('searches with POST and merges the body of POST next links', async () => {
    const client = new StacApiClient(server.base);
    server.requests.length = 0;
    const found = await all(
      client.search({ method: 'POST', collections: ['sentinel1-rtc-aws', 'sentinel1-slc'], limit: 2 }),
    );
    expect(ids(found)).toEqual([
      'S1A_20200103_17RMJ_ASC',
      'S1A_IW_SL1__1_SH_20141031T095929_20141031T100002_003072_003842',
      'S1B_20161121_12SYJ_ASC',
    ]);
    expect(server.requests.filter((r) => r === 'POST /search')).toHaveLength(2);
  });

  it('is bounded: maxItems and maxPages stop paging, a next link back to itself is an error', async () => {
    const client = new StacApiClient(server.base);
    expect(await all(client.search({ limit: 1, maxItems: 2 }))).toHaveLength(2);
    expect(await all(client.search({ limit: 1, maxPages: 3 }))).toHaveLength(3);
    const loop = new StacApiClient(server.base);
    await expect(
      all(
        (loop as unknown as { pages: (r: unknown, p: unknown) => AsyncGenerator<ResolvedItem> }).pages(
          { url: new URL(`${server.base}/loop`), method: 'GET' },
          {},
        ),
      ),
    ).rejects.toThrow(/next link points back to a page already read/);
  });

  it('reports HTTP errors with the URL and status, and bad parameters before asking', async () => {
    const client = new StacApiClient(server.base);
    const err = await all(client.items('no-such-collection')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StacError);
    expect((err as StacError).status).toBe(404);
    expect((err as Error).message).toMatch(/\/collections\/no-such-collection\/items: HTTP 404/);
    expect(() => client.search({ bbox: [1, 2, 3] as unknown as [number, number, number, number] })).toThrow(
      /bbox must be \[west, south, east, north\]/,
    );
    expect(() => client.search({ datetime: 'yesterday' })).toThrow(/not an RFC 3339 time/);
    const broken = await all(new StacApiClient(`${server.base}/broken`).search()).catch((e: unknown) => e);
    expect((broken as StacError).status).toBe(500);
    expect((broken as Error).message).toMatch(/HTTP 500 .*database down/);
  });

  it('reads a static catalog over http', async () => {
    const items = await all(readStaticCatalog(`${server.base}/static/stactools-sentinel1/examples/rtc/catalog.json`));
    expect(ids(items)).toEqual(['S1A_20200103_17RMJ_ASC', 'S1B_20161121_12SYJ_ASC']);
    expect(items[0]!.source).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/static\//);
  });

  it('ingests the GeoTIFF asset an item points to (range requests), as chips', async () => {
    const [item] = await all(readStaticCatalog(`${server.base}/item-with-cog.json`));
    const [asset] = selectAssets(item!, { roles: ['data'], mediaTypes: ['image/tiff'] });
    expect(asset!.href).toBe(`${server.base}/files/pyrosar.tif`);
    server.requests.length = 0;
    const raster = await RasterFile.open(asset!.href);
    try {
      expect([raster.info.width, raster.info.height]).toEqual([268, 217]);
      const chip = await raster.chipAround({ lon: 4.52, lat: 43.59 }, 1);
      expect(chip.bands[0]![0]).toBe(Math.fround(-11.6425046920776));
    } finally {
      await raster.close();
    }
    expect(server.requests.some((r) => r.startsWith('GET /files/pyrosar.tif'))).toBe(true);
  });
});
