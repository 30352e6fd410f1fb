/**
 * `floe bench tiles`: the SAR viewer in the real browser (Debian's Chromium through playwright-core, a
 * JupyterLab of its own) on a 10,240 × 10,240 tiled COG with overviews made from the real Sentinel-1 GRD:
 * - first tile: opening the file's URL → the first tile painted (and, inside that, the viewer's own
 *   steps: worker open with its header/IFD reads, statistics, map), over several fresh opens;
 * - panning: tiles/s and per-tile times while the map pans at three zooms;
 * - reference, same browser, same run: the windows the viewer painted, replayed in fresh workers once as
 *   viewer tiles (read + dB + stretch + paint) and once as plain geotiff.js `readRasters` of the same
 *   window and level, alternating, so both start from cold caches.
 * Ratio (contract): viewer tile p95 ÷ plain readRasters p95. Goals: ≤ 1.3, first tile < 500 ms.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { floeRoot } from '../env/paths';
import { BENCH_GOALS, type BenchLine } from './contract';
import { CHROMIUM_ARGS, startLab, stopLab, type Lab } from './panels';
import { pageHasFirstTile, pagePan, pageReplay, pageSetZoom, pageTimings, type PageTileTiming } from './tiles-page';

export interface TilesBenchOptions {
  rounds: number;
  pans: number;
  chromium: string;
}

const FIRST_TILE_GOAL_MS = 500;
const GRD =
  's1-grd-rio-tiler/S1A_IW_GRDH_1SDV_20180716T004042_20180716T004107_022812_02792A_FD5B/measurement/iw-vv.tiff';

export function parseTilesBenchArgs(args: string[]): TilesBenchOptions {
  const o: TilesBenchOptions = { rounds: 5, pans: 8, chromium: process.env.FLOE_CHROMIUM ?? '/usr/bin/chromium' };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const v = args[i + 1];
    if (a === '--rounds' || a === '--pans') {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new RangeError(`bench tiles: ${a} needs a whole number ≥ 1, got ${v}`);
      o[a === '--rounds' ? 'rounds' : 'pans'] = n;
      i++;
    } else if (a === '--chromium' && v) {
      o.chromium = v;
      i++;
    } else throw new RangeError(`bench tiles: unknown option ${a} (options: --rounds N, --pans N, --chromium PATH)`);
  }
  return o;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
}
const median = (xs: number[]): number => percentile(xs, 50);
const r1 = (x: number): number => Math.round(x * 10) / 10;

/** The 10,240² COG from the real GRD (as the browser tests make it), under the server root, made once. */
function ensureLargeCog(log: (line: string) => void): string {
  const root = floeRoot();
  for (const made of ['test-results/sar-fixtures/large-cog.tif', 'test-results/sar-bench/large-cog.tif'])
    if (fs.existsSync(path.join(root, made))) return made;
  const rel = 'test-results/sar-bench/large-cog.tif';
  const out = path.join(root, rel);
  const data = process.env.FLOE_REAL_DATA ?? path.resolve(root, '..', 'shared', 'data');
  const source = path.join(data, GRD);
  if (!fs.existsSync(source)) throw new Error(`the Sentinel-1 GRD is not at ${source} (set FLOE_REAL_DATA)`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  log(`making ${rel}: the GRD resampled to 10,240 × 10,240, 256-px DEFLATE tiles, overviews (gdal_translate -of COG)`);
  execFileSync('gdal_translate', [
    '-q',
    '-outsize',
    '10240',
    '10240',
    '-of',
    'COG',
    '-co',
    'COMPRESS=DEFLATE',
    '-co',
    'BLOCKSIZE=256',
    source,
    `${out}.part`,
  ]);
  fs.renameSync(`${out}.part`, out);
  return rel;
}

export async function benchTiles(args: string[], log: (line: string) => void): Promise<BenchLine> {
  const o = parseTilesBenchArgs(args);
  const base = { bench: 'tiles' as const, ...BENCH_GOALS.tiles };
  if (!fs.existsSync(o.chromium)) return { ...base, ratio: null, unavailable: `no Chromium at ${o.chromium}` };
  let playwright: typeof import('playwright-core');
  try {
    playwright = await import('playwright-core');
  } catch {
    return { ...base, ratio: null, unavailable: 'playwright-core is not installed (npm test installs it)' };
  }
  let file: string;
  try {
    file = ensureLargeCog(log);
  } catch (err) {
    return { ...base, ratio: null, unavailable: (err as Error).message };
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-bench-tiles-'));
  let lab: Lab | undefined;
  let browser: Awaited<ReturnType<typeof playwright.chromium.launch>> | undefined;
  try {
    log('starting JupyterLab on 127.0.0.1 (own config and store)');
    lab = await startLab(work, path.join(work, 'floe-home'));
    browser = await playwright.chromium.launch({ executablePath: o.chromium, args: CHROMIUM_ARGS, headless: true });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const url = (round: number): string =>
      `${lab!.url}lab/workspaces/bench-tiles-${round}/tree/${file.split('/').map(encodeURIComponent).join('/')}?reset&token=${lab!.token}`;
    const viewer = page.locator('.floe-SarViewer').last();
    // A warm-up open: JupyterLab's own first load (bundles into the HTTP cache) is not the viewer's cost.
    log(`warm-up open of ${file}`);
    await page.goto(url(0), { waitUntil: 'domcontentloaded' });
    await viewer.waitFor({ state: 'attached', timeout: 120_000 });
    await page.waitForFunction(pageHasFirstTile, null, { timeout: 120_000 });
    const firstTile: { sinceNavigation: number; sinceViewer: number; phases: Record<string, number> }[] = [];
    for (let r = 1; r <= o.rounds; r++) {
      await page.goto(url(r), { waitUntil: 'domcontentloaded' });
      await page.waitForFunction(pageHasFirstTile, null, { timeout: 120_000 });
      const sinceNavigation = Number(await viewer.getAttribute('data-first-tile-at-ms'));
      const sinceViewer = Number(await viewer.getAttribute('data-first-tile-ms'));
      const phases = JSON.parse((await viewer.getAttribute('data-open-phases')) ?? '{}') as Record<string, number>;
      firstTile.push({ sinceNavigation, sinceViewer, phases });
      log(
        `open ${r}: first tile ${sinceViewer} ms after the viewer started (${sinceNavigation} ms after navigation); steps ${JSON.stringify(phases)}`,
      );
    }
    // Panning at three zooms, from one above the whole-image view to four closer (finer overviews, full resolution).
    const before = (await page.evaluate(pageTimings)).length;
    let panMs = 0;
    const zooms: number[] = [];
    for (const step of [1, 2, 2]) {
      const z = await page.evaluate(pageSetZoom, step);
      zooms.push(z);
      panMs += await page.evaluate(pagePan, { dx: 600, dy: 400, steps: o.pans, quietMs: 500 });
      log(`zoom ${z}: panned ${o.pans} times`);
    }
    const all = await page.evaluate(pageTimings);
    const panned = all.slice(before);
    const seen = new Set<string>();
    const windows: PageTileTiming['window'][] = [];
    for (const t of panned) {
      const key = JSON.stringify(t.window);
      if (!seen.has(key)) {
        seen.add(key);
        windows.push(t.window);
      }
    }
    log(
      `replaying ${windows.length} windows in fresh workers: viewer tiles vs plain geotiff.js readRasters, alternating`,
    );
    const viewerReplay: number[] = [];
    const plainReplay: number[] = [];
    for (const kind of ['plain', 'tile', 'plain', 'tile'] as const) {
      const times = await page.evaluate(pageReplay, { windows, kind });
      (kind === 'tile' ? viewerReplay : plainReplay).push(...times);
    }
    const viewerP95 = percentile(viewerReplay, 95);
    const plainP95 = percentile(plainReplay, 95);
    const ratio = viewerP95 / plainP95;
    const sinceViewer = firstTile.map((f) => f.sinceViewer);
    const sinceNavigation = firstTile.map((f) => f.sinceNavigation);
    const phaseNames = Object.keys(firstTile[0]?.phases ?? {});
    const phases = Object.fromEntries(
      phaseNames.map((k) => [k.trim(), median(firstTile.map((f) => f.phases[k] ?? 0))]),
    );
    const figures = {
      file,
      size: '10240x10240',
      firstTileMs: {
        median: median(sinceViewer),
        min: Math.min(...sinceViewer),
        max: Math.max(...sinceViewer),
        goal: FIRST_TILE_GOAL_MS,
      },
      firstTileSinceNavigationMs: { median: median(sinceNavigation) },
      firstTilePhasesMedianMs: phases,
      panning: {
        zooms,
        tiles: panned.length,
        tilesPerSecond: r1(panned.length / (panMs / 1000)),
        tileTotalP95Ms: r1(
          percentile(
            panned.map((t) => t.totalMs),
            95,
          ),
        ),
        decodeRenderP95Ms: r1(
          percentile(
            panned.map((t) => t.decodeMs + t.renderMs),
            95,
          ),
        ),
      },
      replay: {
        windows: windows.length,
        viewerTileP95Ms: r1(viewerP95),
        plainReadRastersP95Ms: r1(plainP95),
        viewerMedianMs: r1(median(viewerReplay)),
        plainMedianMs: r1(median(plainReplay)),
      },
      reference:
        'plain geotiff.js readRasters of the same windows and overview level, fresh worker, same browser, same run',
      loadAverage: os.loadavg().map(r1),
      cpus: os.cpus().length,
    };
    log(
      `first tile: median ${figures.firstTileMs.median} ms (goal ${FIRST_TILE_GOAL_MS} ms); viewer p95 ${r1(viewerP95)} ms vs plain ${r1(plainP95)} ms → ratio ${ratio.toFixed(2)}`,
    );
    return { ...base, ratio: Math.round(ratio * 1000) / 1000, ...figures };
  } finally {
    await browser?.close();
    if (lab) await stopLab(lab);
    fs.rmSync(work, { recursive: true, force: true });
  }
}
