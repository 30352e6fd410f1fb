import { SaliencyArtifactMeta, type RunArtifact, type RunDetailResponse } from '@floe/schema';
import { fetchRunImage } from '../api/experiments';
import { el, formatValue } from './dom';

/** A run's saliency artifact of one epoch. */
export interface SaliencyEpoch {
  runId: number;
  artifact: string;
  meta: SaliencyArtifactMeta;
}

/** Most epochs shown side by side; longer runs show this many, evenly spaced, first and last included. */
const MAX_COLUMNS = 8;

/** The saliency artifacts among a run's artifacts, by epoch (others, and malformed meta, are skipped). */
export function saliencyEpochs(artifacts: readonly RunArtifact[]): SaliencyEpoch[] {
  const out: SaliencyEpoch[] = [];
  for (const a of artifacts) {
    const meta = SaliencyArtifactMeta.safeParse(a.meta);
    if (meta.success) out.push({ runId: a.runId, artifact: a.name, meta: meta.data });
  }
  return out.sort((a, b) => a.meta.epoch - b.meta.epoch);
}

/** Picks at most `max` items evenly spaced, keeping the first and the last. */
export function evenlySpaced<T>(items: readonly T[], max: number): T[] {
  if (items.length <= max) return [...items];
  return Array.from({ length: max }, (_, i) => items[Math.round((i * (items.length - 1)) / (max - 1))]!);
}

/**
 * Loads run images through the hub into object URLs, and frees them all on `dispose` (the panel
 * disposes the loader of a view when it draws another).
 */
export class RunImageLoader {
  private readonly urls: string[] = [];
  private readonly abort = new AbortController();

  get isDisposed(): boolean {
    return this.abort.signal.aborted;
  }

  /** An `<img>` that fills in when its bytes arrive (or says why it could not). */
  image(epoch: SaliencyEpoch, file: string, alt: string): HTMLElement {
    const frame = el('div', 'floe-Saliency-frame floe-mod-loading');
    const img = el('img', 'floe-Saliency-image');
    img.alt = alt;
    img.decoding = 'async';
    frame.append(img);
    fetchRunImage(epoch.runId, epoch.artifact, file, { signal: this.abort.signal })
      .then((blob) => {
        if (this.isDisposed) return;
        const url = URL.createObjectURL(blob);
        this.urls.push(url);
        img.src = url;
        frame.classList.remove('floe-mod-loading');
      })
      .catch((err: Error) => {
        if (this.isDisposed) return;
        frame.classList.remove('floe-mod-loading');
        frame.classList.add('floe-mod-failed');
        frame.replaceChildren(el('span', 'floe-Saliency-error', `image not loaded: ${err.message}`));
      });
    return frame;
  }

  dispose(): void {
    if (this.isDisposed) return;
    this.abort.abort();
    for (const url of this.urls.splice(0)) URL.revokeObjectURL(url);
  }
}

interface Column {
  heading: string;
  title: string;
  epoch: SaliencyEpoch;
}

function patchLabel(label: number | null): string {
  return label === null ? '' : label === 1 ? 'iceberg' : 'ship';
}

/** Rows = patches, columns = epochs or runs; each cell the image and p(iceberg) at that point. */
function grid(columns: Column[], loader: RunImageLoader, caption: string): HTMLElement {
  const patches = new Map<string, number | null>();
  for (const c of columns)
    for (const i of c.epoch.meta.images) if (!patches.has(i.patch)) patches.set(i.patch, i.label);
  const table = el('table', 'floe-Saliency-grid');
  table.append(el('caption', 'floe-Saliency-caption', caption));
  const head = el('tr');
  head.append(el('th', '', 'patch'));
  for (const c of columns) {
    const th = el('th', '', c.heading);
    th.title = c.title;
    th.scope = 'col';
    head.append(th);
  }
  const thead = el('thead');
  thead.append(head);
  const body = el('tbody');
  for (const [patch, label] of patches) {
    const tr = el('tr');
    tr.dataset.floePatch = patch;
    const name = el('th', 'floe-Saliency-patch');
    name.scope = 'row';
    name.append(el('div', '', patch), el('div', 'floe-Saliency-label', patchLabel(label)));
    tr.append(name);
    for (const c of columns) {
      const td = el('td');
      const image = c.epoch.meta.images.find((i) => i.patch === patch);
      if (image) {
        td.append(
          loader.image(c.epoch, image.file, `${c.epoch.meta.method} of ${patch}, ${c.title}`),
          el(
            'div',
            'floe-Saliency-probability',
            image.probability === null ? '' : `p(iceberg) ${formatValue(image.probability)}`,
          ),
        );
      } else td.append(el('span', 'floe-Panel-hint floe-Experiments-hint', '—'));
      tr.append(td);
    }
    body.append(tr);
  }
  table.append(thead, body);
  const scroller = el('div', 'floe-Saliency');
  scroller.append(table);
  return scroller;
}

/** One run's saliency images, epochs side by side (patch | heatmap overlay in each image). */
export function saliencyAcrossEpochs(epochs: SaliencyEpoch[], loader: RunImageLoader): HTMLElement {
  const shown = evenlySpaced(epochs, MAX_COLUMNS);
  const columns = shown.map((e) => ({ heading: `epoch ${e.meta.epoch}`, title: `epoch ${e.meta.epoch}`, epoch: e }));
  const more = epochs.length > shown.length ? ` (${shown.length} of ${epochs.length} epochs, evenly spaced)` : '';
  return grid(columns, loader, `${epochs[0]!.meta.method} per epoch: the patch and its heatmap overlay${more}`);
}

/**
 * Several runs side by side: each run's images at the latest epoch they all have (the same patches, so
 * the columns compare like with like), or each run's own last epoch when they share none.
 */
export function saliencyAcrossRuns(details: RunDetailResponse[], loader: RunImageLoader): HTMLElement | null {
  const perRun = details
    .map((d) => ({ run: d.run, epochs: saliencyEpochs(d.artifacts) }))
    .filter((r) => r.epochs.length > 0);
  if (!perRun.length) return null;
  const common = perRun
    .map((r) => new Set(r.epochs.map((e) => e.meta.epoch)))
    .reduce((a, b) => new Set([...a].filter((x) => b.has(x))));
  const epoch = common.size ? Math.max(...common) : null;
  const columns = perRun.map((r) => {
    const chosen = (epoch === null ? undefined : r.epochs.find((e) => e.meta.epoch === epoch)) ?? r.epochs.at(-1)!;
    return {
      heading: `#${r.run.id} ${r.run.name.length > 24 ? `${r.run.name.slice(0, 23)}…` : r.run.name}`,
      title: `run ${r.run.id} ${r.run.name}, epoch ${chosen.meta.epoch}`,
      epoch: chosen,
    };
  });
  const missing = details.length - perRun.length;
  return grid(
    columns,
    loader,
    `${epoch === null ? 'Each run at its last epoch' : `All runs at epoch ${epoch}`}` +
      (missing ? ` (${missing} run${missing === 1 ? '' : 's'} without saliency images)` : ''),
  );
}
