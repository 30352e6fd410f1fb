import type { ExplanationPayload, SarPayload } from '@floe/schema';
import { el } from '../experiments/dom';
import { formatNumber } from './plots';
import { heatColour, isBase64, overlayPixels, percentileStretch, pngSize } from './raster';
import { dataTable, fact, header, note } from './view';

/**
 * Image outputs: an explanation (saliency or Grad-CAM heatmap over the SAR patch, drawn here from the
 * payload's arrays) and a patch grid (`floe.show.sar`: the PNG of the same bundle, with its panels
 * named and the dB stretch of each band).
 */

/** Screen pixels per patch pixel: a 75 px patch becomes 225 px. */
const ZOOM = 3;

function canvasOf(width: number, height: number, pixels: Uint8ClampedArray, label: string): HTMLCanvasElement {
  const canvas = el('canvas', 'floe-Pixelated');
  canvas.width = width;
  canvas.height = height;
  canvas.style.width = `${width * ZOOM}px`;
  canvas.style.height = `${height * ZOOM}px`;
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', label);
  const context = canvas.getContext('2d');
  if (context) context.putImageData(new ImageData(pixels, width, height), 0, 0);
  return canvas;
}

function colourScale(): HTMLElement {
  const scale = el('div', 'floe-Explanation-scale');
  const ramp = el('div', 'floe-Explanation-ramp');
  const stops = [0, 0.25, 0.5, 0.75, 1].map((t) => {
    const [r, g, b] = heatColour(t);
    return `rgb(${r}, ${g}, ${b}) ${t * 100}%`;
  });
  ramp.style.background = `linear-gradient(to right, ${stops.join(', ')})`;
  scale.append(el('span', '', 'low'), ramp, el('span', '', 'high'));
  return scale;
}

export function renderExplanation(p: ExplanationPayload): HTMLElement {
  const root = el('div', 'floe-Explanation');
  root.dataset.floeMethod = p.method;
  const method = p.method === 'gradcam' ? 'Grad-CAM' : 'Saliency';
  root.append(
    header(`${method} of ${p.model}`, el('span', 'floe-Output-meta', `p(iceberg) = ${p.probability.toFixed(3)}`)),
  );
  const stretch = percentileStretch(p.background);
  const figures = el('div', 'floe-Output-row');
  const figure = (canvas: HTMLCanvasElement, caption: string): HTMLElement => {
    const node = el('figure', 'floe-Output-figure');
    node.append(canvas, el('figcaption', '', caption));
    return node;
  };
  figures.append(
    figure(
      canvasOf(p.width, p.height, overlayPixels(p.background, null, stretch), p.backgroundName),
      `${p.backgroundName}${stretch ? ` (stretch ${formatNumber(stretch.low, 3)} … ${formatNumber(stretch.high, 3)})` : ''}`,
    ),
    figure(
      canvasOf(p.width, p.height, overlayPixels(p.background, p.heatmap, stretch), `${method} overlay`),
      `${method} over ${p.backgroundName}`,
    ),
  );
  root.append(figures, colourScale());
  let peak = 0;
  p.heatmap.forEach((v, i) => {
    if (v > p.heatmap[peak]!) peak = i;
  });
  root.append(
    note(`${p.height}×${p.width} heatmap; peak at row ${Math.floor(peak / p.width)}, column ${peak % p.width}`),
  );
  if (!stretch)
    root.append(note(`${p.backgroundName} has no finite values: only the heatmap is meaningful`, 'floe-mod-error'));
  return root;
}

const PANEL_GAP = 4;

export function renderSarGrid(p: SarPayload, png: unknown): HTMLElement {
  const root = el('div', 'floe-SarGrid');
  root.append(header(p.title ?? 'SAR patch', el('span', 'floe-Output-meta', `${p.width}×${p.height} px`)));
  const size = typeof png === 'string' && isBase64(png) ? pngSize(png) : null;
  if (typeof png === 'string' && size) {
    const img = el('img', 'floe-Pixelated floe-SarGrid-image');
    img.alt = p.panels.join(' | ');
    img.width = size.width;
    img.height = size.height;
    img.src = `data:image/png;base64,${png.replace(/\s+/g, '')}`;
    const captions = el('div', 'floe-SarGrid-captions');
    const panelWidth = (size.width - PANEL_GAP * (p.panels.length - 1)) / p.panels.length;
    captions.style.gap = `${PANEL_GAP}px`;
    for (const name of p.panels) {
      const caption = el('div', 'floe-SarGrid-caption', name);
      caption.style.width = `${Math.max(0, panelWidth)}px`;
      captions.append(caption);
    }
    const grid = el('div', 'floe-SarGrid-panels');
    grid.append(img, captions);
    root.append(grid);
  } else {
    root.append(
      note(
        png === undefined
          ? 'image/png: missing from this output, so only the statistics are shown'
          : 'image/png: not a base64 PNG, so only the statistics are shown',
        'floe-mod-error',
      ),
    );
  }
  const facts = el('div', 'floe-Output-facts');
  facts.append(fact('stretch', 'each band in dB, 2nd to 98th percentile'));
  root.append(facts);
  root.append(
    dataTable(
      'floe-SarGrid-bands',
      ['band', 'stretch low (dB)', 'stretch high (dB)', 'min (dB)', 'max (dB)', 'valid pixels'],
      p.bands.map((b) => [
        b.name,
        formatNumber(b.low, 3),
        formatNumber(b.high, 3),
        formatNumber(b.min, 3),
        formatNumber(b.max, 3),
        `${b.valid} of ${p.width * p.height}`,
      ]),
    ),
  );
  return root;
}
