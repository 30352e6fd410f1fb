/**
 * What `floe bench panels` runs inside the page (playwright serialises each function and evaluates it
 * in Chromium, so each is self-contained). kernel-services compiles without the DOM library: the few
 * browser globals used here are declared for this module only.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const window: any;
declare const document: any;
declare const requestAnimationFrame: (callback: (now: number) => void) => number;
declare const MutationObserver: any;

/** Opens the experiments panel on `experiment` and resolves with ms until the first frame showing rows. */
export async function pageFirstRender(experiment: string): Promise<number> {
  const app = window.jupyterapp;
  const existing = document.getElementById('floe-experiments-panel');
  if (existing) {
    // A fresh panel each time: close the open one and wait until it is gone.
    for (const widget of app.shell.widgets('main')) if (widget.id === 'floe-experiments-panel') widget.close();
    while (document.getElementById('floe-experiments-panel')) await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 50)));
  const t0 = performance.now();
  const shown = new Promise<number>((resolve, reject) => {
    const check = (): boolean => {
      const panel = document.getElementById('floe-experiments');
      const heading = panel?.querySelector('.floe-Experiments-heading')?.textContent;
      if (heading !== experiment || !panel?.querySelector('.floe-RunsTable-row[data-floe-run-id]')) return false;
      observer.disconnect();
      clearTimeout(timeout);
      // The first frame painted with the rows in the DOM.
      requestAnimationFrame(() => resolve(performance.now() - t0));
      return true;
    };
    const observer = new MutationObserver(() => void check());
    observer.observe(document.body, { childList: true, subtree: true, characterData: true });
    const timeout = setTimeout(() => {
      observer.disconnect();
      reject(new Error(`the runs table of '${experiment}' did not render within 60 s`));
    }, 60_000);
  });
  await app.commands.execute('floe:open-experiments', { experiment });
  return shown;
}

/** Types `text` into the filter (one input event) and resolves with ms until the frame showing `expect`. */
export async function pageFilter(args: { text: string; expectCount: string }): Promise<number> {
  const panel = document.getElementById('floe-experiments')!;
  const input = panel.querySelector('.floe-Experiments-filter')!;
  const count = panel.querySelector('.floe-Experiments-count')!;
  const rowsNow = (): number => panel.querySelectorAll('.floe-RunsTable-row[data-floe-run-id]').length;
  return new Promise<number>((resolve, reject) => {
    let t0 = 0;
    const check = (): void => {
      const wantRows = args.expectCount === '0 runs' ? 0 : 1;
      if (count.textContent !== args.expectCount || (wantRows ? rowsNow() === 0 : rowsNow() !== 0)) return;
      observer.disconnect();
      clearTimeout(timeout);
      requestAnimationFrame(() => resolve(performance.now() - t0));
    };
    const observer = new MutationObserver(check);
    observer.observe(panel, { childList: true, subtree: true, characterData: true });
    const timeout = setTimeout(() => {
      observer.disconnect();
      reject(new Error(`filtering on '${args.text}' did not show ${args.expectCount} within 30 s`));
    }, 30_000);
    input.value = args.text;
    t0 = performance.now();
    input.dispatchEvent(new Event('input', { bubbles: true }));
  });
}

export interface ScrollFigures {
  frames: number;
  frameMs: number[];
  placeholderFrames: number;
  rowsSeen: number;
  /**
   * Frames over 50 ms as Chromium's Long Animation Frames API saw them: the panel's own script time
   * (callbacks from the labextension's code), all script time, and style + layout time before paint.
   */
  longFrames: { durationMs: number; panelScriptMs: number; scriptMs: number; styleLayoutMs: number }[];
}

/**
 * Scrolls the runs table from the top, `step` px per animation frame, timing every frame, until the
 * bottom or `maxFrames` frames.
 */
export async function pageScroll(args: { step: number; maxFrames: number }): Promise<ScrollFigures> {
  const { step, maxFrames } = args;
  const panel = document.getElementById('floe-experiments')!;
  const viewport = panel.querySelector('.floe-RunsTable-viewport')!;
  viewport.scrollTop = 0;
  await new Promise((r) => setTimeout(r, 300));
  const frameMs: number[] = [];
  let placeholderFrames = 0;
  const seen = new Set<string>();
  const longFrames: ScrollFigures['longFrames'] = [];
  let observer: any = null;
  try {
    observer = new (window as any).PerformanceObserver((list: any) => {
      for (const e of list.getEntries()) {
        const scripts: any[] = e.scripts ?? [];
        const sum = (xs: any[]): number => xs.reduce((n, x) => n + x.duration, 0);
        longFrames.push({
          durationMs: e.duration,
          panelScriptMs: sum(scripts.filter((x) => String(x.sourceURL).includes('floe-jupyterlab'))),
          scriptMs: sum(scripts),
          styleLayoutMs: e.styleAndLayoutStart ? e.startTime + e.duration - e.styleAndLayoutStart : 0,
        });
      }
    });
    observer.observe({ type: 'long-animation-frame', buffered: false });
  } catch {
    observer = null; // no Long Animation Frames API in this browser: frame times only
  }
  const figures = await new Promise<Omit<ScrollFigures, 'longFrames'>>((resolve) => {
    let last = performance.now();
    const tick = (now: number): void => {
      frameMs.push(now - last);
      last = now;
      if (panel.querySelector('.floe-RunsTable-row.floe-mod-loading')) placeholderFrames++;
      for (const row of panel.querySelectorAll('.floe-RunsTable-row[data-floe-run-id]'))
        seen.add(row.dataset.floeRunId!);
      const max = viewport.scrollHeight - viewport.clientHeight;
      if (viewport.scrollTop >= max - 1 || frameMs.length > maxFrames) {
        resolve({ frames: frameMs.length, frameMs: frameMs.slice(1), placeholderFrames, rowsSeen: seen.size });
        return;
      }
      viewport.scrollTop = Math.min(max, viewport.scrollTop + step);
      requestAnimationFrame(tick);
    };
    requestAnimationFrame((now) => {
      last = now;
      requestAnimationFrame(tick);
    });
  });
  // Entries are delivered after their frame: give the last ones a moment.
  await new Promise((r) => setTimeout(r, 200));
  observer?.disconnect();
  return { ...figures, longFrames };
}
