import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * A STAC client for ingestion: static catalogs (catalog.json → children → items, from local files
 * or http(s)) and STAC APIs (/collections, /collections/{id}/items, /search with bbox and datetime,
 * paging through `next` links, always bounded). Items come back with their asset hrefs resolved
 * to absolute file paths or URLs, ready for RasterFile.open.
 */

export interface StacLink {
  rel: string;
  href: string;
  type?: string;
  title?: string;
  method?: string;
  body?: unknown;
  merge?: boolean;
}

export interface StacAsset {
  href: string;
  type?: string;
  roles?: string[];
  title?: string;
  [k: string]: unknown;
}

export interface StacItem {
  type: 'Feature';
  stac_version?: string;
  id: string;
  bbox?: number[];
  geometry: unknown;
  properties: { datetime?: string | null; start_datetime?: string; end_datetime?: string; [k: string]: unknown };
  assets: Record<string, StacAsset>;
  links?: StacLink[];
  collection?: string;
}

export interface StacCollection {
  type?: 'Collection';
  id: string;
  description?: string;
  title?: string;
  extent?: unknown;
  links?: StacLink[];
  [k: string]: unknown;
}

/** An asset with its href made absolute: a file path for local catalogs, else a URL. */
export interface ResolvedAsset {
  key: string;
  href: string;
  type: string | null;
  roles: string[];
  title: string | null;
}

export interface ResolvedItem {
  item: StacItem;
  /** Where the item's JSON was read from (file path or URL). */
  source: string;
  assets: ResolvedAsset[];
}

export class StacError extends Error {
  override readonly name = 'StacError';
  constructor(
    readonly location: string,
    detail: string,
    readonly status?: number,
  ) {
    super(`${location}: ${detail}`);
  }
}

export interface FetchOptions {
  signal?: AbortSignal;
  /** Extra request headers for http(s) (e.g. an API key). */
  headers?: Record<string, string>;
}

/** A location as a URL: http(s) URLs as they are, anything else as a file path. */
function toUrl(location: string): URL {
  if (/^(https?|file):\/\//i.test(location)) return new URL(location);
  return pathToFileURL(path.resolve(location));
}

/** file: URLs back to paths (what RasterFile.open and fs want); http(s) stays a URL. */
function display(url: URL): string {
  return url.protocol === 'file:' ? fileURLToPath(url) : url.href;
}

async function readJson(url: URL, opts: FetchOptions, init?: { method?: string; body?: unknown }): Promise<unknown> {
  const where = display(url);
  let text: string;
  if (url.protocol === 'file:') {
    try {
      text = await fs.readFile(url, 'utf8');
    } catch (err) {
      throw new StacError(where, `cannot read: ${err instanceof Error ? err.message : String(err)}`);
    }
  } else if (url.protocol === 'http:' || url.protocol === 'https:') {
    let res: Response;
    const method = (init?.method ?? 'GET').toUpperCase();
    try {
      res = await fetch(url, {
        method,
        headers: {
          accept: 'application/geo+json, application/json',
          ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
          ...opts.headers,
        },
        body: method === 'POST' ? JSON.stringify(init?.body ?? {}) : undefined,
        signal: opts.signal,
      });
    } catch (err) {
      throw new StacError(where, `request failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    text = await res.text();
    if (!res.ok)
      throw new StacError(
        where,
        `HTTP ${res.status} ${res.statusText}${text ? `: ${text.slice(0, 200)}` : ''}`,
        res.status,
      );
  } else {
    throw new StacError(where, `unsupported protocol ${url.protocol} (file paths, file:, http: and https: are)`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new StacError(where, `not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function linksOf(obj: Record<string, unknown>, where: string): StacLink[] {
  const links = obj.links;
  if (links === undefined) return [];
  if (!Array.isArray(links)) throw new StacError(where, 'links must be an array');
  return links.filter((l): l is StacLink => isObject(l) && typeof l.rel === 'string' && typeof l.href === 'string');
}

function checkItem(x: unknown, where: string): StacItem {
  if (!isObject(x) || x.type !== 'Feature')
    throw new StacError(
      where,
      `not a STAC item (type ${isObject(x) ? JSON.stringify(x.type) : typeof x}, expected "Feature")`,
    );
  if (typeof x.id !== 'string') throw new StacError(where, 'STAC item without a string id');
  if (!isObject(x.assets)) throw new StacError(where, `item ${x.id} has no assets object`);
  if (!isObject(x.properties)) throw new StacError(where, `item ${x.id} has no properties object`);
  return x as unknown as StacItem;
}

function resolveItem(item: StacItem, base: URL): ResolvedItem {
  const assets = Object.entries(item.assets).map(([key, a]): ResolvedAsset => {
    if (!isObject(a) || typeof a.href !== 'string')
      throw new StacError(display(base), `item ${item.id}: asset ${key} has no href`);
    return {
      key,
      href: display(new URL(a.href, base)),
      type: typeof a.type === 'string' ? a.type : null,
      roles: Array.isArray(a.roles) ? a.roles.filter((r): r is string => typeof r === 'string') : [],
      title: typeof a.title === 'string' ? a.title : null,
    };
  });
  return { item, source: display(base), assets };
}

export interface StaticCatalogOptions extends FetchOptions {
  /** Stop after this many items (default 10,000). */
  maxItems?: number;
  /** Child catalogs followed at most this deep (default 16). */
  maxDepth?: number;
  /** Only items matching this (checked on the client). */
  filter?: SearchFilter;
}

/**
 * Walks a static catalog breadth-first from a catalog, collection or item JSON (path or URL):
 * `child` links are followed, `item` links read. Links are visited once (catalogs often link back
 * to their root and parent).
 */
export async function* readStaticCatalog(root: string, opts: StaticCatalogOptions = {}): AsyncGenerator<ResolvedItem> {
  const maxItems = opts.maxItems ?? 10_000;
  const maxDepth = opts.maxDepth ?? 16;
  const seen = new Set<string>();
  const queue: { url: URL; depth: number }[] = [{ url: toUrl(root), depth: 0 }];
  let count = 0;
  while (queue.length > 0) {
    const { url, depth } = queue.shift()!;
    if (seen.has(url.href)) continue;
    seen.add(url.href);
    opts.signal?.throwIfAborted();
    const obj = await readJson(url, opts);
    const where = display(url);
    if (!isObject(obj)) throw new StacError(where, 'not a STAC object');
    if (obj.type === 'Feature') {
      const ri = resolveItem(checkItem(obj, where), url);
      if (!opts.filter || matchesFilter(ri.item, opts.filter)) {
        yield ri;
        if (++count >= maxItems) return;
      }
      continue;
    }
    if (obj.type !== 'Catalog' && obj.type !== 'Collection')
      throw new StacError(where, `not a STAC catalog, collection or item (type ${JSON.stringify(obj.type)})`);
    for (const link of linksOf(obj, where)) {
      const target = new URL(link.href, url);
      if (link.rel === 'item') queue.push({ url: target, depth });
      else if (link.rel === 'child' && depth < maxDepth) queue.push({ url: target, depth: depth + 1 });
    }
  }
}

/** A search: bbox [west, south, east, north], datetime as an instant or `start/end` (`..` open). */
export interface SearchFilter {
  bbox?: [number, number, number, number];
  datetime?: string;
  collections?: string[];
  ids?: string[];
}

function parseInterval(datetime: string): [number, number] {
  const parts = datetime.split('/');
  const at = (s: string | undefined, open: number): number => {
    if (s === undefined || s === '' || s === '..') return open;
    const t = Date.parse(s);
    if (Number.isNaN(t)) throw new StacError('datetime', `not an RFC 3339 time: ${JSON.stringify(s)}`);
    return t;
  };
  if (parts.length === 1) {
    const t = at(parts[0], NaN);
    return [t, t];
  }
  if (parts.length !== 2)
    throw new StacError('datetime', `expected an instant or start/end, got ${JSON.stringify(datetime)}`);
  return [at(parts[0], -Infinity), at(parts[1], Infinity)];
}

/** Whether an item matches a search filter (for static catalogs, which have no server to ask). */
export function matchesFilter(item: StacItem, f: SearchFilter): boolean {
  if (f.ids && !f.ids.includes(item.id)) return false;
  if (f.collections && (item.collection === undefined || !f.collections.includes(item.collection))) return false;
  if (f.bbox) {
    const b = item.bbox;
    if (!b || b.length < 4) return false;
    const [w, s, e, n] = b.length >= 6 ? [b[0]!, b[1]!, b[3]!, b[4]!] : [b[0]!, b[1]!, b[2]!, b[3]!];
    const [qw, qs, qe, qn] = f.bbox;
    if (w > qe || e < qw || s > qn || n < qs) return false;
  }
  if (f.datetime) {
    const [q0, q1] = parseInterval(f.datetime);
    const p = item.properties;
    const start = Date.parse((p.start_datetime ?? p.datetime ?? '') as string);
    const end = Date.parse((p.end_datetime ?? p.datetime ?? '') as string);
    if (Number.isNaN(start) || Number.isNaN(end)) return false;
    if (start > q1 || end < q0) return false;
  }
  return true;
}

/** Assets of an item by role and/or media type (prefix match: `image/tiff` matches COG profiles). */
export function selectAssets(
  item: ResolvedItem,
  sel: { roles?: string[]; mediaTypes?: string[]; keys?: string[] } = {},
): ResolvedAsset[] {
  return item.assets.filter(
    (a) =>
      (!sel.keys || sel.keys.includes(a.key)) &&
      (!sel.roles || sel.roles.some((r) => a.roles.includes(r))) &&
      (!sel.mediaTypes ||
        sel.mediaTypes.some((m) => a.type !== null && a.type.toLowerCase().startsWith(m.toLowerCase()))),
  );
}

export interface ApiPagingOptions {
  /** Page size asked of the server (`limit`). */
  limit?: number;
  /** Stop after this many items in all (default 1,000). */
  maxItems?: number;
  /** Stop after this many pages (default 50). */
  maxPages?: number;
}

/** A STAC API client (core, collections and item-search conformance classes). */
export class StacApiClient {
  private readonly base: URL;

  constructor(
    baseUrl: string,
    private readonly opts: FetchOptions = {},
  ) {
    // A trailing slash makes relative paths resolve under the API root (e.g. /stac/v1/ + search).
    this.base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:')
      throw new StacError(baseUrl, 'a STAC API is reached over http(s)');
  }

  private url(rel: string, query: Record<string, string | undefined> = {}): URL {
    const u = new URL(rel, this.base);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, v);
    return u;
  }

  async landing(): Promise<Record<string, unknown>> {
    const obj = await readJson(this.base, this.opts);
    if (!isObject(obj)) throw new StacError(this.base.href, 'landing page is not a JSON object');
    return obj;
  }

  async collections(paging: ApiPagingOptions = {}): Promise<StacCollection[]> {
    const out: StacCollection[] = [];
    let url: URL | undefined = this.url('collections');
    const seen = new Set<string>();
    const maxPages = paging.maxPages ?? 50;
    for (let page = 0; url && page < maxPages; page++) {
      if (seen.has(url.href)) throw new StacError(url.href, 'the next link points back to a page already read');
      seen.add(url.href);
      const obj = await readJson(url, this.opts);
      if (!isObject(obj) || !Array.isArray(obj.collections))
        throw new StacError(url.href, 'expected {"collections": [...]}');
      for (const c of obj.collections) {
        if (!isObject(c) || typeof c.id !== 'string') throw new StacError(url.href, 'a collection without a string id');
        out.push(c as StacCollection);
      }
      const next: StacLink | undefined = linksOf(obj, url.href).find((l) => l.rel === 'next');
      url = next ? new URL(next.href, url) : undefined;
    }
    return out;
  }

  /** Items of one collection, following `next` links (GET), bounded by maxItems/maxPages. */
  items(
    collectionId: string,
    opts: ApiPagingOptions & { bbox?: SearchFilter['bbox']; datetime?: string } = {},
  ): AsyncGenerator<ResolvedItem> {
    const first = this.url(`collections/${encodeURIComponent(collectionId)}/items`, {
      limit: opts.limit?.toString(),
      bbox: opts.bbox?.join(','),
      datetime: opts.datetime,
    });
    return this.pages({ url: first, method: 'GET' }, opts);
  }

  /**
   * Item search. GET by default (bbox, datetime, collections, ids, limit in the query string);
   * `method: 'POST'` sends them as a JSON body. `next` links may switch method or carry a body.
   */
  search(filter: SearchFilter & ApiPagingOptions & { method?: 'GET' | 'POST' } = {}): AsyncGenerator<ResolvedItem> {
    if (filter.bbox && (filter.bbox.length !== 4 || filter.bbox.some((v) => !Number.isFinite(v)))) {
      throw new StacError(
        this.base.href,
        `bbox must be [west, south, east, north], got ${JSON.stringify(filter.bbox)}`,
      );
    }
    if (filter.datetime) parseInterval(filter.datetime);
    if ((filter.method ?? 'GET') === 'POST') {
      const body: Record<string, unknown> = {};
      if (filter.bbox) body.bbox = filter.bbox;
      if (filter.datetime) body.datetime = filter.datetime;
      if (filter.collections) body.collections = filter.collections;
      if (filter.ids) body.ids = filter.ids;
      if (filter.limit) body.limit = filter.limit;
      return this.pages({ url: this.url('search'), method: 'POST', body }, filter);
    }
    const url = this.url('search', {
      bbox: filter.bbox?.join(','),
      datetime: filter.datetime,
      collections: filter.collections?.join(','),
      ids: filter.ids?.join(','),
      limit: filter.limit?.toString(),
    });
    return this.pages({ url, method: 'GET' }, filter);
  }

  private async *pages(
    first: { url: URL; method: string; body?: unknown },
    paging: ApiPagingOptions,
  ): AsyncGenerator<ResolvedItem> {
    const maxItems = paging.maxItems ?? 1000;
    const maxPages = paging.maxPages ?? 50;
    let req: { url: URL; method: string; body?: unknown } | undefined = first;
    const seen = new Set<string>();
    let count = 0;
    for (let page = 0; req && page < maxPages; page++) {
      const key = `${req.method} ${req.url.href} ${JSON.stringify(req.body ?? null)}`;
      if (seen.has(key)) throw new StacError(req.url.href, 'the next link points back to a page already read');
      seen.add(key);
      this.opts.signal?.throwIfAborted();
      const obj = await readJson(req.url, this.opts, req);
      const where: string = req.url.href;
      if (!isObject(obj) || obj.type !== 'FeatureCollection' || !Array.isArray(obj.features))
        throw new StacError(where, 'expected a GeoJSON FeatureCollection of items');
      for (const f of obj.features) {
        yield resolveItem(checkItem(f, where), req.url);
        if (++count >= maxItems) return;
      }
      if (obj.features.length === 0) return;
      const next: StacLink | undefined = linksOf(obj, where).find((l) => l.rel === 'next');
      if (!next) return;
      const method = (next.method ?? 'GET').toUpperCase();
      // STAC API: a POST `next` with merge=true merges its body into the previous request's.
      const body: unknown =
        method === 'POST'
          ? next.merge && isObject(req.body) && isObject(next.body)
            ? { ...req.body, ...next.body }
            : (next.body ?? req.body)
          : undefined;
      req = { url: new URL(next.href, req.url), method, body };
    }
  }
}
