/**
 * `floe bench tiles`: the SAR viewer in the real browser (Debian's Chromium through playwright-core, a
 * JupyterLab of its own) on a 10,240 × 10,240 tiled COG with overviews made from the real Sentinel-1 GRD:
 * - first tile: opening the file's URL → the first tile painted (and, inside that, the viewer's own
 *   steps: worker open with its header/IFD reads, statistics, map), over several fresh opens;
 * - panning: tiles/s and per-tile times while the map pans at three zooms;
 * - reference, same browser, same run: a fixed, seeded set of tile windows at five zooms (whole-image
 *   overview reads to full resolution), each read by two fresh workers, one painting viewer tiles onto a
 *   canvas (read + dB + stretch + colour + transfer + putImageData), one doing plain geotiff.js
 *   `readRasters` of the same window and level; interleaved window by window with the order swapped on
 *   every window, after a few uncounted warm-up windows.
 * Ratio (contract): viewer tile p95 ÷ plain readRasters p95 (medians reported too). Goals: ≤ 1.3, first
 * tile < 500 ms.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { floeRoot } from '../env/paths';
import { BENCH_GOALS, type BenchLine } from './contract';
import { CHROMIUM_ARGS, startLab, stopLab, type Lab } from './panels';
import { pageCompare, pageHasFirstTile, pagePan, pageSetZoom, pageSettled, pageTimings } from './tiles-page';

export interface TilesBenchOptions {
  rounds: number;
  pans: number;
  /** Compared windows per zoom (five zooms). */
  windows: number;
  chromium: string;
}

const FIRST_TILE_GOAL_MS = 500;
const GRD =
  's1-grd-rio-tiler/S1A_IW_GRDH_1SDV_20180716T004042_20180716T004107_022812_02792A_FD5B/measurement/iw-vv.tiff';

export function parseTilesBenchArgs(args: string[]): TilesBenchOptions {
  const o: TilesBenchOptions = {
    rounds: 5,
    pans: 8,
    windows: 40,
    chromium: process.env.FLOE_CHROMIUM ?? '/usr/bin/chromium',
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const v = args[i + 1];
    if (a === '--rounds' || a === '--pans' || a === '--windows') {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new RangeError(`bench tiles: ${a} needs a whole number ≥ 1, got ${v}`);
      o[a.slice(2) as 'rounds' | 'pans' | 'windows'] = n;
      i++;
    } else if (a === '--chromium' && v) {
      o.chromium = v;
      i++;
    } else
      throw new RangeError(
        `bench tiles: unknown option ${a} (options: --rounds N, --pans N, --windows N, --chromium PATH)`,
      );
  }
  return o;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
}
const median = (xs: number[]): number => percentile(xs, 50);
const r1 = (x: number): number => Math.round(x * 10) / 10;

const COMPARE_ZOOMS = [-4, -3, -2, -1, 0];
const WARMUP_WINDOWS = 6;

/**
 * The compared windows: `perZoom` windows at each zoom of COMPARE_ZOOMS (zoom z: a 256-px tile covers
 * 256 / 2^z image pixels, so −4 reads the smallest overview decimated and 0 full resolution), at seeded
 * random positions wholly inside the image: every window is new to both workers (no decoded-window or
 * block-cache hit from a repeat), and neither is clipped at an edge. Zooms are mixed; the first
 * WARMUP_WINDOWS are the uncounted warm-up.
 */
export function compareWindows(
  width: number,
  height: number,
  perZoom: number,
): { col0: number; row0: number; col1: number; row1: number }[] {
  let seed = 0x5eed;
  const random = (): number => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
  const out: { col0: number; row0: number; col1: number; row1: number }[] = [];
  for (let k = 0; k < perZoom + Math.ceil(WARMUP_WINDOWS / COMPARE_ZOOMS.length); k++) {
    for (const z of COMPARE_ZOOMS) {
      const span = 256 / 2 ** z;
      const col0 = Math.floor(random() * (width - span));
      const row0 = Math.floor(random() * (height - span));
      out.push({ col0, row0, col1: col0 + span, row1: row0 + span });
    }
  }
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** gdal_translate options of the large COG's layout: 256-px DEFLATE tiles, overviews. */
export const LARGE_COG_LAYOUT: readonly string[] = ['-of', 'COG', '-co', 'COMPRESS=DEFLATE', '-co', 'BLOCKSIZE=256'];

/**
 * gdal_translate options of the large COG: the GRD resampled to 10,240², in LARGE_COG_LAYOUT.
 * The browser tests make it with the same options, and each reuses the other's file.
 */
export const LARGE_COG_OPTIONS: readonly string[] = ['-outsize', '10240', '10240', ...LARGE_COG_LAYOUT];

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
  execFileSync('gdal_translate', ['-q', ...LARGE_COG_OPTIONS, source, `${out}.part`]);
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
    await page.waitForFunction(pageSettled, null, { timeout: 120_000 });
    const firstTile: { sinceNavigation: number; sinceViewer: number; phases: Record<string, number> }[] = [];
    for (let r = 1; r <= o.rounds; r++) {
      await page.goto(url(r), { waitUntil: 'domcontentloaded' });
      await page.waitForFunction(pageHasFirstTile, null, { timeout: 120_000 });
      await page.waitForFunction(pageSettled, null, { timeout: 120_000 });
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
    const windows = compareWindows(10240, 10240, o.windows);
    log(
      `comparing ${windows.length - WARMUP_WINDOWS} windows (zooms ${COMPARE_ZOOMS.join(', ')}; ${WARMUP_WINDOWS} warm-up windows first): viewer tiles vs plain geotiff.js readRasters, fresh workers, interleaved`,
    );
    const compared = await page.evaluate(pageCompare, { windows, warmup: WARMUP_WINDOWS });
    const viewerReplay = compared.viewer;
    const plainReplay = compared.plain;
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
      comparison: {
        windows: viewerReplay.length,
        zooms: COMPARE_ZOOMS,
        warmupWindows: WARMUP_WINDOWS,
        viewerTileP95Ms: r1(viewerP95),
        plainReadRastersP95Ms: r1(plainP95),
        ratioP95: Math.round(ratio * 1000) / 1000,
        viewerMedianMs: r1(median(viewerReplay)),
        plainMedianMs: r1(median(plainReplay)),
        ratioMedian: Math.round((median(viewerReplay) / median(plainReplay)) * 1000) / 1000,
        // What the viewer adds on top of the read, per tile (worker colouring; main-thread canvas put).
        viewerParts: {
          readDecodeMedianMs: r1(median(compared.decode)),
          colourMedianMs: r1(median(compared.render)),
          colourP95Ms: r1(percentile(compared.render, 95)),
          putImageDataMedianMs: r1(median(compared.draw)),
          putImageDataP95Ms: r1(percentile(compared.draw, 95)),
        },
      },
      reference:
        'plain geotiff.js readRasters of the same windows and overview level, fresh workers, interleaved window by window, same browser, same run',
      loadAverage: os.loadavg().map(r1),
      cpus: os.cpus().length,
    };
    log(
      `first tile: median ${figures.firstTileMs.median} ms (goal ${FIRST_TILE_GOAL_MS} ms); ${viewerReplay.length} windows: viewer p95 ${r1(viewerP95)} ms vs plain ${r1(plainP95)} ms → ratio ${ratio.toFixed(2)} (medians ${r1(median(viewerReplay))} vs ${r1(median(plainReplay))} → ${(median(viewerReplay) / median(plainReplay)).toFixed(2)}); load ${os.loadavg().map(r1).join(' ')}`,
    );
    return { ...base, ratio: Math.round(ratio * 1000) / 1000, ...figures };
  } finally {
    await browser?.close();
    if (lab) await stopLab(lab);
    fs.rmSync(work, { recursive: true, force: true });
  }
}
