/**
 * The viewer's side panel: overlay toggles and opacity, and point labeling (place, re-class, delete,
 * commit into a feature group through the hub). Pending labels survive reloads (labeling.ts).
 */
import type { LabelClass, SarOverlay } from '@floe/schema';
import type { Contents, ServerConnection } from '@jupyterlab/services';
import type * as Leaflet from 'leaflet';
import { commitLabels, fetchLabelOverlays } from '../api';
import type { Georeferencing } from './georef';
import { LABEL_CLASSES, PendingLabels, type PendingLabel } from './labeling';
import { classColor, overlayLayer, parseOverlay } from './overlays';

export interface AnnotationsOptions {
  L: typeof Leaflet;
  map: Leaflet.Map;
  georeferencing: Georeferencing;
  width: number;
  height: number;
  /** The raster's path on the server (relative to its root): the labels' key and the commit's raster. */
  rasterPath: string;
  /** Overlays given with the view (from a notebook). */
  overlays: SarOverlay[];
  /** Also draw committed labels from the hub and `.geojson` files beside the raster. */
  discover: boolean;
  contents?: Contents.IManager;
  serverSettings?: ServerConnection.ISettings;
}

interface ShownOverlay {
  overlay: SarOverlay;
  group: Leaflet.FeatureGroup;
  opacity: number;
  source: 'given' | 'hub' | 'file';
}

const DEFAULT_GROUP = 'viewer_labels';

export class SarAnnotations {
  readonly node = document.createElement('div');
  private readonly overlayList = document.createElement('div');
  private readonly overlayNotes = document.createElement('div');
  private readonly labelList = document.createElement('ol');
  private readonly status = document.createElement('div');
  private readonly commitButton = document.createElement('button');
  private readonly groupInput = document.createElement('input');
  private readonly modeButton = document.createElement('button');
  private readonly classSelect = document.createElement('select');
  private readonly renderer: Leaflet.Renderer;
  private readonly pendingLayer: Leaflet.LayerGroup;
  private readonly shown: ShownOverlay[] = [];
  readonly pending: PendingLabels;
  private labelMode = false;

  constructor(private readonly options: AnnotationsOptions) {
    const { L, map } = options;
    this.node.className = 'floe-SarViewer-side';
    // SVG: one DOM path per feature (tests find them; they stay sharp when zooming).
    this.renderer = L.svg({ padding: 0.5 });
    this.pendingLayer = L.layerGroup().addTo(map);
    this.pending = new PendingLabels(options.rasterPath);
    this.buildOverlaySection();
    this.buildLabelSection();
    this.pending.onChange(() => this.renderPending());
    this.renderPending();
    for (const overlay of options.overlays) this.addOverlay(overlay, 'given');
    map.on('click', (e: Leaflet.LeafletMouseEvent) => this.onMapClick(e));
    if (options.discover) void this.discover();
  }

  // ---- overlays ----

  private buildOverlaySection(): void {
    const section = document.createElement('section');
    section.className = 'floe-SarViewer-overlays';
    const title = document.createElement('h3');
    title.textContent = 'Overlays';
    this.overlayList.className = 'floe-SarViewer-overlayList';
    this.overlayNotes.className = 'floe-SarViewer-sideNote';
    section.append(title, this.overlayList, this.overlayNotes);
    this.node.append(section);
    this.renderOverlayList();
  }

  private note(text: string): void {
    const p = document.createElement('div');
    p.textContent = text;
    this.overlayNotes.append(p);
  }

  addOverlay(overlay: SarOverlay, source: ShownOverlay['source']): void {
    const { L, map, georeferencing } = this.options;
    const { group, unplaced } = overlayLayer(L, overlay, georeferencing, this.renderer);
    if (unplaced) {
      this.note(
        `${overlay.name}: ${unplaced} feature(s) not drawn (${overlay.crs === 'lonlat' ? 'lon/lat needs a georeferenced raster' : 'bad coordinates'})`,
      );
    }
    const shown: ShownOverlay = { overlay, group, opacity: 1, source };
    this.shown.push(shown);
    if (overlay.visible) group.addTo(map);
    this.renderOverlayList();
  }

  private removeOverlays(source: ShownOverlay['source']): void {
    for (let i = this.shown.length - 1; i >= 0; i--) {
      if (this.shown[i]!.source !== source) continue;
      this.shown[i]!.group.remove();
      this.shown.splice(i, 1);
    }
  }

  private renderOverlayList(): void {
    const { map } = this.options;
    this.overlayList.replaceChildren();
    if (this.shown.length === 0) {
      const empty = document.createElement('div');
      empty.className = 'floe-SarViewer-sideNote';
      empty.textContent =
        'No overlays: committed labels, .geojson files beside the raster and notebook overlays show here.';
      this.overlayList.append(empty);
    }
    for (const s of this.shown) {
      const row = document.createElement('div');
      row.className = 'floe-SarViewer-overlay';
      row.dataset.overlay = s.overlay.name;
      const label = document.createElement('label');
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.checked = map.hasLayer(s.group);
      box.addEventListener('change', () => (box.checked ? s.group.addTo(map) : s.group.remove()));
      const classes = [...new Set(s.overlay.features.map((f) => f.properties?.class).filter(Boolean))] as string[];
      const swatches = classes.map((c) => {
        const sw = document.createElement('span');
        sw.className = 'floe-SarViewer-swatch';
        sw.style.background = classColor(c);
        sw.title = c;
        return sw;
      });
      label.append(box, ` ${s.overlay.name} (${s.overlay.features.length})`, ...swatches);
      const opacity = document.createElement('input');
      opacity.type = 'range';
      opacity.min = '0';
      opacity.max = '1';
      opacity.step = '0.1';
      opacity.value = String(s.opacity);
      opacity.title = 'opacity';
      opacity.setAttribute('aria-label', `opacity of ${s.overlay.name}`);
      opacity.addEventListener('input', () => {
        s.opacity = Number(opacity.value);
        s.group.setStyle({ opacity: s.opacity, fillOpacity: 0.3 * s.opacity });
      });
      row.append(label, opacity);
      this.overlayList.append(row);
    }
  }

  /** Committed labels from the hub and `.geojson` files in the raster's folder. */
  private async discover(): Promise<void> {
    await Promise.all([this.loadCommitted(), this.loadFiles()]);
  }

  async loadCommitted(): Promise<void> {
    try {
      const { overlays } = await fetchLabelOverlays(this.options.rasterPath, this.options.serverSettings);
      this.removeOverlays('hub');
      for (const overlay of overlays) this.addOverlay(overlay, 'hub');
    } catch (err) {
      this.note(`committed labels not shown: ${(err as Error).message}`);
    }
  }

  private async loadFiles(): Promise<void> {
    const contents = this.options.contents;
    if (!contents) return;
    const path = this.options.rasterPath;
    const dir = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
    let listing: Contents.IModel;
    try {
      listing = await contents.get(dir, { content: true });
    } catch {
      return; // the folder cannot be listed: nothing to discover
    }
    const files = ((listing.content ?? []) as Contents.IModel[]).filter(
      (m) => m.type === 'file' && /\.geojson$/i.test(m.name),
    );
    for (const file of files.slice(0, 20)) {
      try {
        const model = await contents.get(file.path, { content: true, format: 'text', type: 'file' });
        const { overlay, skipped } = parseOverlay(JSON.parse(String(model.content)), file.name);
        if (skipped) this.note(`${file.name}: ${skipped} feature(s) that are not points or polygons skipped`);
        this.addOverlay(overlay, 'file');
      } catch (err) {
        this.note(`${file.name} not shown: ${(err as Error).message}`);
      }
    }
  }

  // ---- labeling ----

  private buildLabelSection(): void {
    const section = document.createElement('section');
    section.className = 'floe-SarViewer-labeling';
    const title = document.createElement('h3');
    title.textContent = 'Labels';
    this.modeButton.type = 'button';
    this.modeButton.className = 'floe-SarViewer-labelMode';
    this.modeButton.addEventListener('click', () => this.setLabelMode(!this.labelMode));
    for (const cls of LABEL_CLASSES) {
      const option = document.createElement('option');
      option.value = cls;
      option.textContent = cls;
      this.classSelect.append(option);
    }
    this.classSelect.name = 'label-class';
    this.classSelect.setAttribute('aria-label', 'class of new labels');
    const controls = document.createElement('div');
    controls.className = 'floe-SarViewer-labelControls';
    controls.append(this.modeButton, this.classSelect);
    const hint = document.createElement('div');
    hint.className = 'floe-SarViewer-sideNote';
    hint.textContent = 'In label mode a click on the image places a point; right-click a point to delete it.';
    this.labelList.className = 'floe-SarViewer-labelList';
    const commitRow = document.createElement('div');
    commitRow.className = 'floe-SarViewer-commitRow';
    this.groupInput.name = 'feature-group';
    this.groupInput.value = DEFAULT_GROUP;
    this.groupInput.setAttribute('aria-label', 'feature group to commit into');
    this.groupInput.title = 'feature group (created with the label-chip schema if it does not exist)';
    this.commitButton.type = 'button';
    this.commitButton.className = 'floe-SarViewer-commit';
    this.commitButton.addEventListener('click', () => void this.commit());
    commitRow.append(this.groupInput, this.commitButton);
    this.status.className = 'floe-SarViewer-labelStatus';
    this.status.setAttribute('role', 'status');
    section.append(title, controls, hint, this.labelList, commitRow, this.status);
    this.node.append(section);
    this.setLabelMode(false);
  }

  private setLabelMode(on: boolean): void {
    this.labelMode = on;
    this.modeButton.textContent = on ? 'Label mode: on' : 'Label mode: off';
    this.modeButton.setAttribute('aria-pressed', String(on));
    this.options.map.getContainer().classList.toggle('floe-mod-labeling', on);
  }

  private onMapClick(e: Leaflet.LeafletMouseEvent): void {
    if (!this.labelMode) return;
    const col = e.latlng.lng;
    const row = -e.latlng.lat;
    if (col < 0 || row < 0 || col >= this.options.width || row >= this.options.height) {
      this.status.textContent = 'That point is outside the image.';
      return;
    }
    // Sub-pixel clicks are kept to a tenth of a pixel: what the user pointed at, without false precision.
    this.pending.add(Math.round(col * 10) / 10, Math.round(row * 10) / 10, this.classSelect.value as LabelClass);
  }

  private renderPending(): void {
    const { L } = this.options;
    const labels = this.pending.list;
    this.pendingLayer.clearLayers();
    this.labelList.replaceChildren();
    labels.forEach((label, i) => {
      const marker = L.circleMarker([-label.row, label.col], {
        renderer: this.renderer,
        radius: 7,
        color: '#ffffff',
        weight: 2,
        fillColor: classColor(label.class),
        fillOpacity: 0.9,
        className: `floe-SarViewer-pending floe-SarOverlay-class-${label.class}`,
      });
      marker.bindTooltip(`${i + 1}: ${label.class} (not committed)`, {
        permanent: true,
        direction: 'right',
        offset: [8, 0],
      });
      marker.on('contextmenu', (ev: Leaflet.LeafletMouseEvent) => {
        L.DomEvent.preventDefault(ev.originalEvent);
        this.pending.remove(label.key);
      });
      this.pendingLayer.addLayer(marker);
      this.labelList.append(this.labelRow(label, i));
    });
    this.commitButton.textContent = `Commit labels (${labels.length})`;
    this.commitButton.disabled = labels.length === 0;
    this.node.dataset.pendingLabels = String(labels.length);
  }

  private labelRow(label: PendingLabel, i: number): HTMLLIElement {
    const li = document.createElement('li');
    li.className = 'floe-SarViewer-label';
    li.append(`${i + 1}. row ${label.row.toFixed(1)}, col ${label.col.toFixed(1)} `);
    const select = document.createElement('select');
    select.setAttribute('aria-label', `class of label ${i + 1}`);
    for (const cls of LABEL_CLASSES) {
      const option = document.createElement('option');
      option.value = cls;
      option.textContent = cls;
      select.append(option);
    }
    select.value = label.class;
    select.addEventListener('change', () => this.pending.setClass(label.key, select.value as LabelClass));
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'floe-SarViewer-deleteLabel';
    remove.textContent = '✕';
    remove.title = 'delete this label';
    remove.setAttribute('aria-label', `delete label ${i + 1}`);
    remove.addEventListener('click', () => this.pending.remove(label.key));
    li.append(select, remove);
    return li;
  }

  private async commit(): Promise<void> {
    const labels = [...this.pending.list];
    if (!labels.length) return;
    const featureGroup = this.groupInput.value.trim();
    this.commitButton.disabled = true;
    this.status.textContent = `Committing ${labels.length} label(s)…`;
    this.status.dataset.state = 'busy';
    try {
      const result = await commitLabels(
        {
          featureGroup,
          raster: this.options.rasterPath,
          labels: labels.map((l) => ({ col: l.col, row: l.row, class: l.class })),
          labelledBy: 'sar-viewer',
        },
        this.options.serverSettings,
      );
      // Only now are they safe in the store: drop them from the pending list.
      this.pending.removeCommitted(labels.map((l) => l.key));
      const fg = result.featureGroup;
      this.status.textContent = `Committed ${result.commit.rowsInserted} label chip(s) to ${fg.name} v${fg.version} as commit ${result.commit.number} (${result.commit.totalRows} rows in all).`;
      this.status.dataset.state = 'committed';
      this.node.dataset.lastCommit = JSON.stringify({ featureGroup: fg, commit: result.commit.number });
      await this.loadCommitted();
    } catch (err) {
      // The labels stay pending (and stored): fix the cause and commit again.
      this.status.textContent = `Not committed, labels kept: ${(err as Error).message}`;
      this.status.dataset.state = 'error';
    } finally {
      this.commitButton.disabled = this.pending.list.length === 0;
    }
  }
}
