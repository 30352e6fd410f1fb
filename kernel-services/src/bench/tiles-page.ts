/**
 * What `floe bench tiles` runs inside the page (playwright serialises each function, so each is
 * self-contained). kernel-services compiles without the DOM library: the browser globals used here are
 * declared for this module only. The viewer exposes `floeSarBench` on its node (sar-viewer/widget.ts).
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;

export interface PageTileTiming {
  zoom: number;
  totalMs: number;
  decodeMs: number;
  renderMs: number;
  drawMs: number;
  level: number;
  provisional: boolean;
  window: { col0: number; row0: number; col1: number; row1: number };
}

/**
 * Pans in a serpentine (three steps right, one down, three left, one down, …) of (dx, dy) screen pixels,
 * each step until no new tile has come for `quietMs`. Returns the time with tiles arriving (pan → last
 * new tile of that step, summed): the quiet waits are not counted.
 */
export async function pagePan(args: { dx: number; dy: number; steps: number; quietMs: number }): Promise<number> {
  const hook = document.querySelector('.floe-SarViewer').floeSarBench;
  let busy = 0;
  for (let i = 0; i < args.steps; i++) {
    const phase = i % 8;
    const move = phase === 3 || phase === 7 ? [0, args.dy] : phase < 3 ? [args.dx, 0] : [-args.dx, 0];
    const t0 = performance.now();
    hook.panBy(move[0], move[1]);
    let count = hook.timings().length;
    let lastChange = t0;
    for (;;) {
      await new Promise((r) => setTimeout(r, 20));
      const now = hook.timings().length;
      if (now !== count) {
        count = now;
        lastChange = performance.now();
      } else if (performance.now() - lastChange > args.quietMs) break;
    }
    busy += lastChange - t0;
  }
  return busy;
}

export function pageHasFirstTile(): boolean {
  return !!document.querySelector('.floe-SarViewer[data-first-tile-ms]');
}

export function pageTimings(): PageTileTiming[] {
  return document.querySelector('.floe-SarViewer').floeSarBench.timings();
}

/** Zooms in by `step` levels (0: stay) and returns the zoom. */
export async function pageSetZoom(step: number): Promise<number> {
  const hook = document.querySelector('.floe-SarViewer').floeSarBench;
  if (step) hook.setZoom(hook.zoom() + step);
  await new Promise((r) => setTimeout(r, 300));
  return hook.zoom();
}

export interface PageComparison {
  /** Per counted window, milliseconds: viewer tile on a canvas, plain readRasters, and the viewer's parts. */
  viewer: number[];
  plain: number[];
  decode: number[];
  render: number[];
  draw: number[];
}

export function pageCompare(args: { windows: PageTileTiming['window'][]; warmup: number }): Promise<PageComparison> {
  return document.querySelector('.floe-SarViewer').floeSarBench.compare(args.windows, args.warmup);
}

/** True once the viewer has its image statistics (or failed): the open steps are recorded then. */
export function pageSettled(): boolean {
  const node = document.querySelector('.floe-SarViewer');
  return !!node && node.dataset.state !== 'loading';
}
