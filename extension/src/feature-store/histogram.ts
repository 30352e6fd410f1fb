import type { StoredHistogram } from '@floe/schema';
import { el } from '../experiments/dom';

type Plotly = typeof import('plotly.js-dist-min');

let plotly: Promise<Plotly> | undefined;

/**
 * Plotly (about 4.6 MB) is loaded on first use, as its own webpack chunk (`plotly.*.js`): JupyterLab
 * starts without it and only a user who opens a feature group's statistics pays for it.
 */
export function loadPlotly(): Promise<Plotly> {
  plotly ??= import(/* webpackChunkName: "plotly" */ 'plotly.js-dist-min').then(
    (m) => ((m as unknown as { default?: Plotly }).default ?? m) as Plotly,
    (err: unknown) => {
      plotly = undefined;
      throw err;
    },
  );
  return plotly;
}

/** The current theme's value of a `--jp-*` variable (Plotly draws SVG with literal colours). */
function themeColour(node: HTMLElement, name: string, fallback: string): string {
  return getComputedStyle(node).getPropertyValue(name).trim() || fallback;
}

/** A placeholder the panel fills with a Plotly bar chart of a stored histogram (see `drawHistograms`). */
export function histogramSlot(title: string, histogram: StoredHistogram, unit: string): HTMLElement {
  const figure = el('figure', 'floe-FeatureStore-histogram');
  figure.dataset.floeHistogram = title;
  const caption = el('figcaption', 'floe-FeatureStore-histogramTitle', title);
  const outside = histogram.below + histogram.above;
  if (outside)
    caption.append(
      el('span', 'floe-FeatureStore-outside', ` (${histogram.below} below, ${histogram.above} above the bins)`),
    );
  const plot = el('div', 'floe-FeatureStore-plot');
  plot.setAttribute('role', 'img');
  plot.setAttribute('aria-label', `histogram of ${title}`);
  HISTOGRAMS.set(plot, { histogram, unit, title });
  figure.append(caption, plot);
  return figure;
}

const HISTOGRAMS = new WeakMap<HTMLElement, { histogram: StoredHistogram; unit: string; title: string }>();

/** Draws (or redraws, e.g. after a theme change) every histogram slot under `root` with Plotly. */
export async function drawHistograms(root: HTMLElement): Promise<void> {
  const slots = [...root.querySelectorAll<HTMLElement>('.floe-FeatureStore-plot')].filter((n) => HISTOGRAMS.has(n));
  if (!slots.length) return;
  const Plotly = await loadPlotly();
  const font = themeColour(root, '--jp-ui-font-color1', '#000');
  const muted = themeColour(root, '--jp-ui-font-color2', '#666');
  const bar = themeColour(root, '--jp-brand-color1', '#1976d2');
  const grid = themeColour(root, '--jp-border-color2', '#ddd');
  for (const node of slots) {
    if (!node.isConnected) continue;
    const { histogram: h, unit } = HISTOGRAMS.get(node)!;
    const bins = h.counts.length;
    const width = (h.hi - h.lo) / bins;
    const centres = h.counts.map((_, i) => h.lo + width * (i + 0.5));
    await Plotly.react(
      node,
      [
        {
          type: 'bar',
          x: centres,
          y: h.counts,
          width: width * 0.95,
          marker: { color: bar },
          hovertemplate: `%{x:.3g}${unit ? ` ${unit}` : ''}: %{y}<extra></extra>`,
        },
      ],
      {
        height: 130,
        margin: { l: 40, r: 6, t: 4, b: 26 },
        paper_bgcolor: 'rgba(0,0,0,0)',
        plot_bgcolor: 'rgba(0,0,0,0)',
        font: { color: font, size: 10 },
        bargap: 0,
        xaxis: {
          color: muted,
          gridcolor: grid,
          zeroline: false,
          ticksuffix: unit && unit.length <= 4 ? ` ${unit}` : '',
        },
        yaxis: { color: muted, gridcolor: grid, zeroline: false, rangemode: 'tozero' },
        showlegend: false,
      },
      { displayModeBar: false, responsive: true },
    );
  }
}

/** Frees Plotly's listeners and resize handlers of the charts under `root` before it is dropped. */
export function purgeHistograms(root: HTMLElement): void {
  if (!plotly) return;
  void plotly.then((Plotly) => {
    for (const node of root.querySelectorAll<HTMLElement>('.floe-FeatureStore-plot.js-plotly-plot')) Plotly.purge(node);
  });
}
