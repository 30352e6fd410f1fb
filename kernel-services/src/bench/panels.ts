/**
 * `floe bench panels`: the experiments panel measured in the browser on a project with 5,000 runs and
 * 100 feature groups. A seeded project store, a JupyterLab of its own (the hub behind
 * jupyter-server-proxy, as in use) and Debian's Chromium through playwright-core; every time is taken in
 * the page with `performance.now()`:
 * - first render: the open-experiments command → the first frame after the runs table has rows, for an
 *   experiment of 5,000 runs and (reference, same browser, same run) one of 10, alternated;
 * - filter latency: the filter's input event → the first frame after the count and rows show the result;
 * - scroll: one animation frame per step down all 5,000 rows at 600 px a frame, then 300 frames at
 *   100 px a frame: frame times, dropped frames, frames that still showed rows waiting for their page,
 *   and for frames over 50 ms (Long Animation Frames API) the panel's script and style + layout time.
 * Ratio (contract): first render with 5,000 runs ÷ first render with 10 runs; goals 1 s and 100 ms.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { floeRoot } from '../env/paths';
import { seedPanelProject } from '../hub/seed';
import { openProjectStore } from '../store';
import { BENCH_GOALS, type BenchLine } from './contract';
import { pageFilter, pageFirstRender, pageScroll, type ScrollFigures } from './panels-page';

export interface PanelsBenchOptions {
  runs: number;
  referenceRuns: number;
  featureGroups: number;
  /** First-render measurements per experiment (alternating big and reference). */
  rounds: number;
  chromium: string;
}

const FIRST_RENDER_GOAL_MS = 1000;
const FILTER_GOAL_MS = 100;
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function parsePanelsBenchArgs(args: string[]): PanelsBenchOptions {
  const o: PanelsBenchOptions = {
    runs: 5000,
    referenceRuns: 10,
    featureGroups: 100,
    rounds: 5,
    chromium: process.env.FLOE_CHROMIUM ?? '/usr/bin/chromium',
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const v = args[i + 1];
    const count = (min: number): number => {
      const n = Number(v);
      if (v === undefined || !Number.isInteger(n) || n < min)
        throw new RangeError(`bench panels: ${a} needs a whole number ≥ ${min}, got ${v}`);
      i++;
      return n;
    };
    if (a === '--runs') o.runs = count(1);
    else if (a === '--reference-runs') o.referenceRuns = count(1);
    else if (a === '--feature-groups') o.featureGroups = count(0);
    else if (a === '--rounds') o.rounds = count(1);
    else if (a === '--chromium') {
      if (!v) throw new RangeError('bench panels: --chromium needs a path');
      o.chromium = v;
      i++;
    } else
      throw new RangeError(
        `bench panels: unknown option ${a} (options: --runs N, --reference-runs N, --feature-groups N, --rounds N, --chromium PATH)`,
      );
  }
  return o;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

export interface Lab {
  url: string;
  token: string;
  process: ChildProcess;
  log: string;
}

/** JupyterLab on loopback with its own config, runtime, settings and workspace folders (as the browser tests). */
export async function startLab(work: string, floeHome: string): Promise<Lab> {
  const jupyter = path.join(floeRoot(), '.venv', 'bin', 'jupyter');
  if (!fs.existsSync(jupyter)) throw new Error(`no JupyterLab at ${jupyter}: run bash scripts/setup.sh`);
  const port = await freePort();
  const token = crypto.randomBytes(24).toString('hex');
  const dirs = {
    JUPYTER_CONFIG_DIR: path.join(work, 'config'),
    JUPYTER_RUNTIME_DIR: path.join(work, 'runtime'),
    JUPYTERLAB_SETTINGS_DIR: path.join(work, 'lab-settings'),
    JUPYTERLAB_WORKSPACES_DIR: path.join(work, 'lab-workspaces'),
  };
  // No news or update checks: both would reach for the internet.
  const notification = path.join(dirs.JUPYTERLAB_SETTINGS_DIR, '@jupyterlab', 'apputils-extension');
  fs.mkdirSync(notification, { recursive: true });
  fs.writeFileSync(
    path.join(notification, 'notification.jupyterlab-settings'),
    '{"fetchNews": "false", "checkForUpdates": false}\n',
  );
  const log = path.join(work, 'jupyter.log');
  const out = fs.openSync(log, 'w');
  const argv = [
    'lab',
    '--no-browser',
    '--ip=127.0.0.1',
    `--port=${port}`,
    '--ServerApp.port_retries=0',
    `--IdentityProvider.token=${token}`,
    `--ServerApp.root_dir=${floeRoot()}`,
    // The bench drives JupyterLab's command registry from the page (window.jupyterapp).
    '--LabApp.expose_app_in_browser=True',
  ];
  if (process.getuid?.() === 0) argv.push('--allow-root');
  const child = spawn(jupyter, argv, {
    env: { ...process.env, ...dirs, FLOE_HOME: floeHome },
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      const r = await fetch(`${url}api/status`, { headers: { Authorization: `token ${token}` } });
      if (r.ok) return { url, token, process: child, log };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  child.kill('SIGKILL');
  throw new Error(`JupyterLab did not start within 90 s; its log: ${fs.readFileSync(log, 'utf8').slice(-2000)}`);
}

export async function stopLab(lab: Lab): Promise<void> {
  if (lab.process.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => lab.process.once('exit', () => resolve()));
  lab.process.kill('SIGTERM');
  const killer = setTimeout(() => lab.process.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(killer);
}

/** Frame-time figures of one scroll, and a log line. */
function summarizeScroll(s: ScrollFigures, pxPerFrame: number): { figures: Record<string, unknown>; line: string } {
  const frameBudget = 1000 / 60;
  const dropped = s.frameMs.reduce((n, ms) => n + Math.max(0, Math.round(ms / frameBudget) - 1), 0);
  const long = s.longFrames;
  const med = (pick: (f: ScrollFigures['longFrames'][number]) => number): number | null =>
    long.length ? round1(median(long.map(pick))) : null;
  const figures = {
    pxPerFrame,
    frames: s.frames,
    p95FrameMs: round1(percentile(s.frameMs, 95)),
    medianFrameMs: round1(median(s.frameMs)),
    droppedFrames: dropped,
    framesWithLoadingRows: s.placeholderFrames,
    rowsDrawn: s.rowsSeen,
    // Frames over 50 ms (Long Animation Frames API): medians of where their main-thread time went.
    longFrames: {
      count: long.length,
      medianMs: med((f) => f.durationMs),
      panelScriptMs: med((f) => f.panelScriptMs),
      scriptMs: med((f) => f.scriptMs),
      styleLayoutMs: med((f) => f.styleLayoutMs),
    },
  };
  const l = figures.longFrames;
  const line =
    `${pxPerFrame} px/frame: ${s.frames} frames, median ${figures.medianFrameMs} ms, p95 ${figures.p95FrameMs} ms, ` +
    `${dropped} dropped, ${s.placeholderFrames} frames with rows still loading, ${s.rowsSeen} rows drawn; ` +
    `${l.count} frames over 50 ms` +
    (l.count
      ? ` (median ${l.medianMs} ms: panel script ${l.panelScriptMs} ms, all script ${l.scriptMs} ms, style+layout ${l.styleLayoutMs} ms)`
      : '');
  return { figures, line };
}

export async function benchPanels(args: string[], log: (line: string) => void): Promise<BenchLine> {
  const o = parsePanelsBenchArgs(args);
  const base = { bench: 'panels' as const, ...BENCH_GOALS.panels };
  if (!fs.existsSync(o.chromium))
    return { ...base, ratio: null, unavailable: `no Chromium at ${o.chromium} (set FLOE_CHROMIUM or --chromium)` };
  let playwright: typeof import('playwright-core');
  try {
    playwright = await import('playwright-core');
  } catch {
    return { ...base, ratio: null, unavailable: 'playwright-core is not installed (npm test installs it)' };
  }

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-bench-panels-'));
  const floeHome = path.join(work, 'floe-home');
  const big = `bench-${o.runs}-runs`;
  const small = `bench-${o.referenceRuns}-runs`;
  let lab: Lab | undefined;
  let browser: Awaited<ReturnType<typeof playwright.chromium.launch>> | undefined;
  try {
    log(`seeding ${floeHome}: ${o.runs} + ${o.referenceRuns} runs, ${o.featureGroups} feature groups`);
    const store = await openProjectStore({ home: floeHome });
    const seedStart = performance.now();
    let seedRunsMs: number;
    try {
      await seedPanelProject(store, { experiment: big, runs: o.runs, bulk: true });
      await seedPanelProject(store, { experiment: small, runs: o.referenceRuns, bulk: true });
      seedRunsMs = performance.now() - seedStart;
      await seedPanelProject(store, {
        experiment: 'bench-feature-groups',
        runs: 0,
        featureGroups: o.featureGroups,
        featureGroupPrefix: 'bench_patches',
      });
    } finally {
      await store.close();
    }
    const seedMs = performance.now() - seedStart;
    log(`seeded in ${(seedMs / 1000).toFixed(1)} s (runs ${(seedRunsMs / 1000).toFixed(2)} s)`);

    log('starting JupyterLab (hub behind jupyter-server-proxy) on 127.0.0.1');
    lab = await startLab(work, floeHome);
    browser = await playwright.chromium.launch({ executablePath: o.chromium, args: CHROMIUM_ARGS, headless: true });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`${lab.url}lab/workspaces/floe-bench-panels?reset&token=${lab.token}`, {
      waitUntil: 'domcontentloaded',
      timeout: 90_000,
    });
    await page.waitForFunction(
      // The app is exposed before its plugins activate: wait for the panel's command too.
      'document.getElementById("jupyterlab-splash") === null && window.jupyterapp !== undefined && window.jupyterapp.commands.hasCommand("floe:open-experiments")',
      undefined,
      { timeout: 90_000 },
    );

    // A first open loads the panel's code and warms the hub's store: not counted.
    log('warm-up open');
    await page.evaluate(pageFirstRender, small);
    const firstRender: Record<'big' | 'small', number[]> = { big: [], small: [] };
    for (let r = 0; r < o.rounds; r++) {
      // Alternated, so drift in the machine's load falls on both sides.
      for (const [key, name] of r % 2
        ? ([
            ['small', small],
            ['big', big],
          ] as const)
        : ([
            ['big', big],
            ['small', small],
          ] as const)) {
        const ms = await page.evaluate(pageFirstRender, name);
        firstRender[key].push(ms);
        log(`first render ${name}: ${ms.toFixed(1)} ms`);
      }
    }

    // The 5,000-run panel is open from the last round when it came last; open it again to be sure.
    await page.evaluate(pageFirstRender, big);
    const total = o.runs;
    const tenth = Math.floor(total / 10);
    const filters: { text: string; expectCount: string }[] = [];
    for (let r = 0; r < o.rounds; r++) {
      // run-<tenth + r> matches itself and its extensions (e.g. run-500, run-5000..5009 in 5,000 runs).
      const prefix = `run-${tenth + r}`;
      const matching = Array.from({ length: total }, (_, i) => `run-${i}`).filter((n) => n.includes(prefix)).length;
      filters.push({ text: prefix, expectCount: `${matching} run${matching === 1 ? '' : 's'}` });
      filters.push({ text: 'lenet', expectCount: `${Math.floor(total / 2)} runs` });
      filters.push({ text: `no-such-run-${r}`, expectCount: '0 runs' });
      filters.push({ text: '', expectCount: `${total} runs` });
    }
    const filterMs: number[] = [];
    for (const f of filters) {
      const ms = await page.evaluate(pageFilter, f);
      filterMs.push(ms);
    }
    log(
      `filter: median ${median(filterMs).toFixed(1)} ms, p95 ${percentile(filterMs, 95).toFixed(1)} ms over ${filterMs.length} filters`,
    );

    // A fling down the whole table (every row in view is new each frame), then a wheel-like scroll of
    // 100 px a frame (3-4 rows new a frame) for up to 300 frames.
    const scroll = summarizeScroll(await page.evaluate(pageScroll, { step: 600, maxFrames: 100_000 }), 600);
    log(`scroll ${total} rows, ${scroll.line}`);
    const wheel = summarizeScroll(await page.evaluate(pageScroll, { step: 100, maxFrames: 300 }), 100);
    log(`scroll, wheel-like: ${wheel.line}`);
    if (errors.length) log(`page errors: ${errors.join(' | ')}`);

    const bigMs = median(firstRender.big);
    const smallMs = median(firstRender.small);
    const ratio = bigMs / smallMs;
    const load = os.loadavg().map((l) => Math.round(l * 100) / 100);
    log(
      `first render: ${total} runs ${bigMs.toFixed(1)} ms, ${o.referenceRuns} runs ${smallMs.toFixed(1)} ms (medians of ${o.rounds}); ratio ${ratio.toFixed(3)}`,
    );
    log(
      `goals: first render < ${FIRST_RENDER_GOAL_MS} ms ${bigMs < FIRST_RENDER_GOAL_MS ? 'met' : 'NOT met'}; ` +
        `filtering < ${FILTER_GOAL_MS} ms ${percentile(filterMs, 95) < FILTER_GOAL_MS ? 'met (p95)' : median(filterMs) < FILTER_GOAL_MS ? 'met by the median, not the p95' : 'NOT met'}; load ${load.join(' ')}`,
    );
    return {
      ...base,
      ratio: Math.round(ratio * 1000) / 1000,
      runs: total,
      referenceRuns: o.referenceRuns,
      featureGroups: o.featureGroups,
      firstRenderMs: { median: round1(bigMs), samples: firstRender.big.map(round1) },
      referenceFirstRenderMs: { median: round1(smallMs), samples: firstRender.small.map(round1) },
      filterMs: {
        median: round1(median(filterMs)),
        p95: round1(percentile(filterMs, 95)),
        max: round1(Math.max(...filterMs)),
        count: filterMs.length,
      },
      scroll: scroll.figures,
      scrollWheel: wheel.figures,
      goals: { firstRenderMs: FIRST_RENDER_GOAL_MS, filterMs: FILTER_GOAL_MS },
      met: { firstRender: bigMs < FIRST_RENDER_GOAL_MS, filterP95: percentile(filterMs, 95) < FILTER_GOAL_MS },
      seedMs: Math.round(seedMs),
      pageErrors: errors.length,
      browser: `${browser.version()} (${o.chromium}, headless)`,
      loadAverage: load,
      cpus: os.cpus().length,
    };
  } finally {
    await browser?.close().catch(() => undefined);
    if (lab) await stopLab(lab);
    fs.rmSync(work, { recursive: true, force: true });
  }
}
