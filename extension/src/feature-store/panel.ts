import {
  StoredCommitStatistics,
  StoredCommitValidation,
  StoredTrainingDatasetSpec,
  type FeatureGroupCommit,
  type FeatureGroupDetailResponse,
  type FeatureGroupSummary,
  type PatchPageResponse,
  type StoreChangeCounters,
  type StoredFeatureStatistics,
  type StoredNumericSummary,
  type TrainingDatasetSummary,
  type ValidationReport,
} from '@floe/schema';
import type { IDisposable } from '@lumino/disposable';
import { Signal, type ISignal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';
import { fetchFeatureGroup, fetchFeatureGroups, followStoreChanges } from '../api';
import { fetchPatchPage, fetchTrainingDatasets } from '../api/feature-store';
import { badge, el, formatValue, keyValueTable, relativeTime } from '../experiments/dom';
import type { IFloeHub } from '../tokens';
import { decodePage, GALLERY_MODES, patchTile, type DecodedPage, type GalleryMode } from './gallery';
import { drawHistograms, histogramSlot, purgeHistograms } from './histogram';
import { HubFailureBanner } from '../hub/failure-banner';

export type FeatureGroupTab = 'statistics' | 'schema' | 'validation' | 'patches';
const TABS: { tab: FeatureGroupTab; label: string }[] = [
  { tab: 'statistics', label: 'Statistics' },
  { tab: 'schema', label: 'Schema' },
  { tab: 'validation', label: 'Validation' },
  { tab: 'patches', label: 'Patches' },
];

/** What the browser shows; kept in JupyterLab's state database so a reload comes back to it. */
export interface FeatureStoreState {
  view: 'home' | 'group' | 'dataset';
  group?: string;
  version?: number;
  /** A pinned commit (time travel); absent: the latest, following new commits. */
  commit?: number;
  tab?: FeatureGroupTab;
  /** Statistics of the whole group as of the commit, or of the rows that commit inserted. */
  statsScope?: 'group' | 'commit';
  gallery?: { mode: GalleryMode; offset: number };
  dataset?: string;
  datasetVersion?: number;
  filter?: string;
}

/** Patches per gallery page (the hub allows up to PATCH_PAGE_MAX). */
const GALLERY_PAGE = 24;

/**
 * The feature store browser (left sidebar): feature groups and their versions, commits with their
 * times (pick one to travel back), schema, per-band statistics with Plotly histograms, validation
 * reports, a gallery of SAR patches, and training datasets with their lineage. All store text goes in
 * as `textContent`. Follows the store through the hub's event stream; says when the hub is down.
 */
export class FeatureStorePanel extends Widget {
  constructor(hub: IFloeHub) {
    super();
    this.id = 'floe-feature-store';
    this.addClass('floe-FeatureStore');
    this.title.caption = 'Floe Feature Store';

    const header = el('header', 'floe-FeatureStore-header');
    header.append(el('h2', 'floe-FeatureStore-title', 'Feature Store'));
    const refresh = el('button', 'floe-FeatureStore-refresh jp-mod-styled', 'Refresh');
    refresh.type = 'button';
    refresh.title = 'Read the feature store again';
    refresh.addEventListener('click', () => void this.refresh());
    header.append(refresh);
    this._hubFailure = new HubFailureBanner(this, 'floe-FeatureStore', hub, () => void this.refresh());
    this._body = el('div', 'floe-FeatureStore-body');
    this._body.setAttribute('aria-live', 'polite');
    this.node.append(header, this._hubFailure.node, this._body);

    this._events = followStoreChanges(
      (counters) => this._onStoreChanged(counters),
      (open) => this.toggleClass('floe-mod-live', open),
    );
  }

  get state(): FeatureStoreState {
    return structuredClone(this._state);
  }

  /** Emits whenever what the panel shows changes (the plugin saves it). */
  get stateChanged(): ISignal<this, FeatureStoreState> {
    return this._stateChanged;
  }

  override dispose(): void {
    if (this.isDisposed) return;
    this._events.dispose();
    this._hubFailure.dispose();
    this._abort?.abort();
    purgeHistograms(this._body);
    Signal.clearData(this);
    super.dispose();
  }

  /** Shows `state` (restored after a reload, or asked for by a command). */
  async restore(state: FeatureStoreState): Promise<void> {
    this._state = { ...structuredClone(state) };
    await this.refresh();
  }

  /** Reads and draws the current view again (after the hub comes back, or on demand). */
  async refresh(): Promise<void> {
    const s = this._state;
    if (s.view === 'group' && s.group !== undefined) await this.openGroup(s.group, s.version, s.commit, false);
    else if (s.view === 'dataset' && s.dataset !== undefined) await this.openDataset(s.dataset, s.datasetVersion);
    else await this.showHome();
  }

  async showHome(): Promise<void> {
    this._setState({ view: 'home', filter: this._state.filter });
    await this._guard(async () => {
      const [{ featureGroups }, { trainingDatasets }] = await Promise.all([
        fetchFeatureGroups(),
        fetchTrainingDatasets(),
      ]);
      this._groups = featureGroups;
      this._datasets = trainingDatasets;
      if (this._state.view === 'home') this._renderHome();
    });
  }

  /** Opens a feature group version (default: its latest) at a commit (default: the latest). */
  async openGroup(name: string, version?: number, commit?: number, resetTab = true): Promise<void> {
    const previous = this._state;
    const sameGroup = previous.view === 'group' && previous.group === name;
    this._setState({
      view: 'group',
      group: name,
      version,
      commit,
      tab: resetTab && !sameGroup ? (previous.tab ?? 'statistics') : (previous.tab ?? 'statistics'),
      statsScope: previous.statsScope ?? 'group',
      gallery:
        sameGroup && previous.commit === commit
          ? previous.gallery
          : { mode: previous.gallery?.mode ?? 'hh', offset: 0 },
      filter: previous.filter,
    });
    await this._guard(async () => {
      const detail = await fetchFeatureGroup(name, version);
      if (this._state.view !== 'group' || this._state.group !== name) return;
      const versions = await this._versionsOf(name);
      this._renderGroup(detail, versions);
    });
  }

  async openDataset(name: string, version?: number): Promise<void> {
    this._setState({ view: 'dataset', dataset: name, datasetVersion: version, filter: this._state.filter });
    await this._guard(async () => {
      const { trainingDatasets } = await fetchTrainingDatasets();
      this._datasets = trainingDatasets;
      const matching = trainingDatasets.filter((d) => d.name === name);
      const dataset =
        version === undefined
          ? matching.sort((a, b) => b.version - a.version)[0]
          : matching.find((d) => d.version === version);
      if (!dataset)
        throw new Error(`no training dataset '${name}'${version === undefined ? '' : ` v${version}`} in this project`);
      const spec = StoredTrainingDatasetSpec.safeParse(dataset.spec);
      let source: FeatureGroupDetailResponse | null = null;
      if (spec.success) {
        const lineage = spec.data.lineage.featureGroup;
        source = await fetchFeatureGroup(lineage.name, lineage.version).catch(() => null);
      }
      if (this._state.view === 'dataset') this._renderDataset(dataset, spec.success ? spec.data : null, source);
    });
  }

  // ---- home ----

  private _renderHome(): void {
    purgeHistograms(this._body);
    const filter = el('input', 'floe-FeatureStore-filter jp-mod-styled');
    filter.type = 'search';
    filter.placeholder = 'Filter feature groups and datasets';
    filter.setAttribute('aria-label', 'Filter feature groups and training datasets');
    filter.value = this._state.filter ?? '';
    const groups = el('ul', 'floe-Panel-list floe-FeatureStore-list');
    groups.setAttribute('aria-label', 'Feature groups');
    const datasets = el('ul', 'floe-Panel-list floe-FeatureStore-list');
    datasets.setAttribute('aria-label', 'Training datasets');
    const groupsTitle = el('h3', 'floe-FeatureStore-sectionTitle');
    const datasetsTitle = el('h3', 'floe-FeatureStore-sectionTitle');
    const draw = (): void => {
      const text = filter.value.trim().toLowerCase();
      const match = (...parts: string[]): boolean => !text || parts.some((p) => p.toLowerCase().includes(text));
      const shownGroups = this._groups.filter((g) => match(g.name, g.description));
      const shownDatasets = this._datasets.filter((d) => match(d.name, d.description));
      groupsTitle.textContent = `Feature groups (${shownGroups.length})`;
      datasetsTitle.textContent = `Training datasets (${shownDatasets.length})`;
      groups.replaceChildren(
        ...shownGroups.map((g) => {
          const meta = `v${g.version} · ${g.commits} commit${g.commits === 1 ? '' : 's'} · ${g.rows} rows`;
          return listItem(
            g.name,
            meta,
            g.description,
            { floeGroup: g.name, floeVersion: String(g.version) },
            () => void this.openGroup(g.name, g.version),
          );
        }),
      );
      datasets.replaceChildren(
        ...shownDatasets.map((d) => {
          const splits = Object.entries(d.splitCounts)
            .map(([k, v]) => `${k} ${v}`)
            .join(' · ');
          return listItem(
            d.name,
            `v${d.version} · ${splits}`,
            d.description,
            { floeDataset: d.name },
            () => void this.openDataset(d.name, d.version),
          );
        }),
      );
      if (!this._groups.length)
        groups.replaceChildren(
          el('li', 'floe-FeatureStore-hint', 'No feature groups yet: ingest data from a notebook.'),
        );
      if (!this._datasets.length)
        datasets.replaceChildren(el('li', 'floe-FeatureStore-hint', 'No training datasets yet.'));
    };
    filter.addEventListener('input', () => {
      this._state.filter = filter.value;
      this._stateChanged.emit(this.state);
      draw();
    });
    draw();
    this._body.replaceChildren(filter, groupsTitle, groups, datasetsTitle, datasets);
    this._body.dataset.floeShowing = 'home';
  }

  // ---- a feature group ----

  private async _versionsOf(name: string): Promise<number[]> {
    if (!this._groups.some((g) => g.name === name)) this._groups = (await fetchFeatureGroups()).featureGroups;
    return this._groups
      .filter((g) => g.name === name)
      .map((g) => g.version)
      .sort((a, b) => b - a);
  }

  private _selectedCommit(detail: FeatureGroupDetailResponse): FeatureGroupCommit | undefined {
    const pinned = this._state.commit;
    return pinned === undefined ? detail.commits.at(-1) : detail.commits.find((c) => c.number === pinned);
  }

  private _renderGroup(detail: FeatureGroupDetailResponse, versions: number[]): void {
    purgeHistograms(this._body);
    const back = backButton('All feature groups', () => void this.showHome());
    const title = el('h3', 'floe-FeatureStore-groupTitle', detail.name);
    title.title = detail.name;
    const description = el('p', 'floe-FeatureStore-description', detail.description);

    const versionSelect = el('select', 'floe-FeatureStore-select floe-FeatureStore-version');
    versionSelect.setAttribute('aria-label', 'Feature group version');
    for (const v of versions.length ? versions : [detail.version]) {
      const option = el('option', '', `version ${v}`);
      option.value = String(v);
      option.selected = v === detail.version;
      versionSelect.append(option);
    }
    versionSelect.addEventListener('change', () => void this.openGroup(detail.name, Number(versionSelect.value)));

    const selected = this._selectedCommit(detail);
    const commits = el('ol', 'floe-Panel-list floe-FeatureStore-commits');
    commits.setAttribute('aria-label', 'Commits (pick one to see the group as of it)');
    for (const c of [...detail.commits].reverse()) {
      const button = el('button', 'floe-Panel-item floe-FeatureStore-commit');
      button.type = 'button';
      button.dataset.floeCommit = String(c.number);
      const isSelected = c === selected;
      button.setAttribute('aria-pressed', String(isSelected));
      button.classList.toggle('floe-mod-selected', isSelected);
      button.append(
        el('span', 'floe-FeatureStore-commitNumber', `#${c.number}`),
        el('span', 'floe-FeatureStore-commitTime', relativeTime(c.committedAt)),
        el('span', 'floe-FeatureStore-commitRows', `+${c.rowsInserted} → ${c.totalRows}`),
      );
      if (c.rowsRejected) button.append(el('span', 'floe-FeatureStore-rejected', `${c.rowsRejected} rejected`));
      const latest = c === detail.commits.at(-1);
      button.title = `commit ${c.number}${latest ? ' (latest)' : ''}: ${c.rowsInserted} rows inserted, ${c.rowsRejected} kept aside by validation, ${c.totalRows} rows in the group`;
      button.addEventListener('click', () => {
        this._state.commit = latest ? undefined : c.number;
        this._state.gallery = { mode: this._state.gallery?.mode ?? 'hh', offset: 0 };
        this._stateChanged.emit(this.state);
        this._renderGroup(detail, versions);
      });
      const li = el('li');
      li.append(button);
      commits.append(li);
    }

    const tabs = el('div', 'floe-FeatureStore-tabs');
    tabs.setAttribute('role', 'tablist');
    const tabBody = el('div', 'floe-FeatureStore-tabBody');
    tabBody.setAttribute('role', 'tabpanel');
    const current = this._state.tab ?? 'statistics';
    const tabButtons = TABS.map(({ tab, label }) => {
      const b = el('button', 'floe-FeatureStore-tab', label);
      b.type = 'button';
      b.setAttribute('role', 'tab');
      b.dataset.floeTab = tab;
      b.setAttribute('aria-selected', String(tab === current));
      b.tabIndex = tab === current ? 0 : -1;
      b.addEventListener('click', () => {
        this._state.tab = tab;
        this._stateChanged.emit(this.state);
        this._renderGroup(detail, versions);
        this.node.querySelector<HTMLElement>(`[data-floe-tab="${tab}"]`)?.focus();
      });
      return b;
    });
    // Arrow keys move between tabs (WAI-ARIA tabs pattern); Tab leaves the tab list.
    tabs.addEventListener('keydown', (event) => {
      const at = tabButtons.indexOf(document.activeElement as HTMLButtonElement);
      if (at < 0 || (event.key !== 'ArrowRight' && event.key !== 'ArrowLeft')) return;
      event.preventDefault();
      tabButtons[(at + (event.key === 'ArrowRight' ? 1 : tabButtons.length - 1)) % tabButtons.length]!.click();
    });
    tabs.append(...tabButtons);

    const head = el('div', 'floe-FeatureStore-groupHead');
    head.append(title, versionSelect);
    this._body.replaceChildren(
      back,
      head,
      description,
      el('h4', 'floe-FeatureStore-sectionTitle', `Commits (${detail.commits.length})`),
      detail.commits.length ? commits : el('p', 'floe-FeatureStore-hint', 'No commits yet.'),
      tabs,
      tabBody,
    );
    this._body.dataset.floeShowing = `group:${detail.name}:${detail.version}:${selected?.number ?? 0}`;

    if (current === 'schema') tabBody.append(schemaView(detail));
    else if (current === 'validation') tabBody.append(selected ? validationView(selected) : noCommit());
    else if (current === 'patches') void this._renderGallery(detail, selected, tabBody);
    else {
      tabBody.append(
        selected ? this._statisticsView(detail, selected, () => this._renderGroup(detail, versions)) : noCommit(),
      );
      void drawHistograms(tabBody).catch((err: unknown) =>
        tabBody.prepend(el('p', 'floe-FeatureStore-error', `Plotly could not be loaded: ${(err as Error).message}`)),
      );
    }
  }

  private _statisticsView(
    detail: FeatureGroupDetailResponse,
    commit: FeatureGroupCommit,
    redraw: () => void,
  ): HTMLElement {
    const root = el('div', 'floe-FeatureStore-statistics');
    const parsed = StoredCommitStatistics.safeParse(commit.statistics);
    if (!parsed.success) {
      root.append(
        el(
          'p',
          'floe-FeatureStore-error',
          `The statistics of commit ${commit.number} are in a form this panel does not know.`,
        ),
      );
      return root;
    }
    const scope = this._state.statsScope ?? 'group';
    const scopeSelect = el('select', 'floe-FeatureStore-select floe-FeatureStore-scope');
    scopeSelect.setAttribute('aria-label', 'Statistics of');
    for (const [value, text] of [
      ['group', `whole group as of commit ${commit.number}`],
      ['commit', `rows commit ${commit.number} inserted`],
    ] as const) {
      const o = el('option', '', text);
      o.value = value;
      o.selected = value === scope;
      scopeSelect.append(o);
    }
    scopeSelect.addEventListener('change', () => {
      this._state.statsScope = scopeSelect.value === 'commit' ? 'commit' : 'group';
      this._stateChanged.emit(this.state);
      redraw();
    });
    const set = parsed.data[scope];
    root.append(scopeSelect, el('p', 'floe-FeatureStore-summary', `${set.rows} rows`));
    const units = new Map<string, string>();
    for (const f of schemaFeatures(detail)) units.set(f.name, f.unit ?? '');
    for (const stats of Object.values(set.features)) root.append(featureCard(stats, units.get(stats.name) ?? ''));
    return root;
  }

  private async _renderGallery(
    detail: FeatureGroupDetailResponse,
    commit: FeatureGroupCommit | undefined,
    into: HTMLElement,
  ): Promise<void> {
    if (!commit) {
      into.append(noCommit());
      return;
    }
    const gallery = this._state.gallery ?? { mode: 'hh', offset: 0 };
    const toolbar = el('div', 'floe-Gallery-toolbar');
    const modes = el('div', 'floe-Gallery-modes');
    modes.setAttribute('role', 'group');
    modes.setAttribute('aria-label', 'Show patches as');
    const grid = el('div', 'floe-Gallery-grid');
    const legend = el('p', 'floe-Gallery-legend');
    const pager = el('div', 'floe-Gallery-pager');
    toolbar.append(modes, pager);
    into.replaceChildren(toolbar, legend, grid);
    this._abort?.abort();
    const abort = (this._abort = new AbortController());
    let page: PatchPageResponse;
    try {
      page = await fetchPatchPage(
        detail.name,
        { version: detail.version, commit: commit.number, offset: gallery.offset, limit: GALLERY_PAGE },
        { signal: abort.signal },
      );
    } catch (err) {
      if (abort.signal.aborted) return;
      // A group without 2-D bands is not an outage: say so in the tab, not in the banner.
      if ((err as { status?: number }).status === 400) {
        into.replaceChildren(el('p', 'floe-FeatureStore-hint', (err as Error).message));
        return;
      }
      throw err;
    }
    const decoded = decodePage(page);
    const draw = (mode: GalleryMode): void => {
      for (const b of modes.querySelectorAll<HTMLButtonElement>('button'))
        b.setAttribute('aria-pressed', String(b.dataset.floeMode === mode));
      grid.replaceChildren(...decoded.patches.map((_, i) => patchTile(decoded, i, mode)));
      grid.dataset.floeMode = mode;
      const s = decoded.stretch;
      const range = (name: string, r: { lo: number; hi: number } | null): string =>
        r ? `${name} ${r.lo.toFixed(1)} … ${r.hi.toFixed(1)} dB` : '';
      legend.textContent = `${GALLERY_MODES.find((m) => m.mode === mode)!.caption}; 2–98% stretch over this page: ${[
        range(decoded.hh, s.hh),
        mode !== 'hh' && decoded.hv ? range(decoded.hv, s.hv) : '',
      ]
        .filter(Boolean)
        .join(', ')}`;
    };
    for (const { mode, label, caption } of GALLERY_MODES) {
      const b = el('button', 'floe-Gallery-mode jp-mod-styled', label);
      b.type = 'button';
      b.dataset.floeMode = mode;
      b.title = caption;
      b.disabled = mode !== 'hh' && decoded.hv === null;
      b.addEventListener('click', () => {
        this._state.gallery = { mode, offset: gallery.offset };
        this._stateChanged.emit(this.state);
        draw(mode);
      });
      modes.append(b);
    }
    const from = page.total ? page.offset + 1 : 0;
    const to = page.offset + page.patches.length;
    const move = (offset: number): void => {
      this._state.gallery = { mode: this._state.gallery?.mode ?? gallery.mode, offset };
      this._stateChanged.emit(this.state);
      void this._guard(() => this._renderGallery(detail, commit, into));
    };
    const prev = el('button', 'floe-Gallery-prev jp-mod-styled', '‹');
    prev.type = 'button';
    prev.setAttribute('aria-label', 'Previous patches');
    prev.disabled = page.offset === 0;
    prev.addEventListener('click', () => move(Math.max(0, page.offset - GALLERY_PAGE)));
    const next = el('button', 'floe-Gallery-next jp-mod-styled', '›');
    next.type = 'button';
    next.setAttribute('aria-label', 'Next patches');
    next.disabled = to >= page.total;
    next.addEventListener('click', () => move(page.offset + GALLERY_PAGE));
    pager.append(prev, el('span', 'floe-Gallery-range', `${from}–${to} of ${page.total}`), next);
    draw(decoded.hv === null ? 'hh' : gallery.mode);
    this._decoded = decoded;
  }

  // ---- a training dataset ----

  private _renderDataset(
    dataset: TrainingDatasetSummary,
    spec: StoredTrainingDatasetSpec | null,
    source: FeatureGroupDetailResponse | null,
  ): void {
    purgeHistograms(this._body);
    const parts: HTMLElement[] = [backButton('Feature store', () => void this.showHome())];
    const title = el('h3', 'floe-FeatureStore-groupTitle', `${dataset.name}`);
    title.title = dataset.name;
    const head = el('div', 'floe-FeatureStore-groupHead');
    head.append(title, el('span', 'floe-FeatureStore-meta', `v${dataset.version}`));
    parts.push(head, el('p', 'floe-FeatureStore-description', dataset.description));
    if (spec) {
      const l = spec.lineage.featureGroup;
      const commit = source?.commits.find((c) => c.number === l.commit);
      const lineage = el('div', 'floe-FeatureStore-lineage');
      const open = el(
        'button',
        'floe-FeatureStore-lineageLink jp-mod-styled',
        `${l.name} v${l.version} · commit ${l.commit}`,
      );
      open.type = 'button';
      open.title = `Open feature group ${l.name} v${l.version} as of commit ${l.commit}`;
      open.dataset.floeLineage = `${l.name}:${l.version}:${l.commit}`;
      open.addEventListener('click', () => void this.openGroup(l.name, l.version, l.commit));
      lineage.append(el('span', 'floe-FeatureStore-lineageLabel', 'Frozen to'), open);
      if (commit)
        lineage.append(
          el(
            'span',
            'floe-FeatureStore-meta',
            `committed ${relativeTime(commit.committedAt)}; ${commit.totalRows} rows in the group then`,
          ),
        );
      parts.push(section('Lineage', lineage));
      const total = Object.values(dataset.splitCounts).reduce((a, b) => a + b, 0);
      const table = el('table', 'floe-Panel-table floe-FeatureStore-splits');
      const headRow = el('tr');
      for (const h of ['split', 'fraction', 'rows', '']) headRow.append(el('th', '', h));
      const thead = el('thead');
      thead.append(headRow);
      const body = el('tbody');
      for (const [name, fraction] of Object.entries(spec.splits)) {
        const rows = dataset.splitCounts[name] ?? 0;
        const tr = el('tr');
        tr.dataset.floeSplit = name;
        const barCell = el('td', 'floe-FeatureStore-splitBarCell');
        const bar = el('span', 'floe-FeatureStore-splitBar');
        bar.style.width = `${total ? Math.round((rows / total) * 100) : 0}%`;
        barCell.append(bar);
        tr.append(
          el('td', '', name),
          el('td', '', `${Math.round(fraction * 1000) / 10}%`),
          el('td', '', String(rows)),
          barCell,
        );
        body.append(tr);
      }
      table.append(thead, body);
      parts.push(section(`Splits (${total} rows)`, table));
      parts.push(
        section(
          'Selection',
          keyValueTable([
            ['features', spec.features.join(', ')],
            ['label', spec.label],
            ['filter', spec.filter ?? 'none'],
            ['seed', spec.seed],
            ['stratified', spec.stratify ? 'yes' : 'no'],
            ['created', relativeTime(dataset.createdAt)],
          ]),
        ),
      );
    } else {
      parts.push(el('p', 'floe-FeatureStore-error', 'This dataset’s spec is in a form this panel does not know.'));
    }
    this._body.replaceChildren(...parts);
    this._body.dataset.floeShowing = `dataset:${dataset.name}:${dataset.version}`;
  }

  // ---- plumbing ----

  private _setState(state: FeatureStoreState): void {
    this._state = state;
    this._stateChanged.emit(this.state);
  }

  /** Runs `work`, turning a failure into the banner (the hub down, a bad answer) instead of an exception. */
  private _guard(work: () => Promise<void>): Promise<void> {
    return this._hubFailure.guard(work);
  }

  private _onStoreChanged(counters: StoreChangeCounters): void {
    const last = this._counters;
    this._counters = counters;
    if (!last) return;
    // Commits, new groups and datasets all write the audit log.
    if (this._hubFailure.failed || last.audit !== counters.audit) void this.refresh();
  }

  /** The decoded gallery page on screen (tests and the restorer read it). */
  get galleryPage(): DecodedPage | null {
    return this._decoded;
  }

  private readonly _hubFailure: HubFailureBanner;
  private readonly _body: HTMLDivElement;
  private readonly _events: IDisposable;
  private _state: FeatureStoreState = { view: 'home' };
  private _groups: FeatureGroupSummary[] = [];
  private _datasets: TrainingDatasetSummary[] = [];
  private _decoded: DecodedPage | null = null;
  private _counters: StoreChangeCounters | null = null;
  private _abort: AbortController | undefined;
  private _stateChanged = new Signal<this, FeatureStoreState>(this);
}

// ---- views without state ----

function listItem(
  name: string,
  meta: string,
  description: string,
  data: Record<string, string>,
  open: () => void,
): HTMLLIElement {
  const button = el('button', 'floe-Panel-item floe-FeatureStore-item');
  button.type = 'button';
  Object.assign(button.dataset, data);
  button.title = description ? `${name}\n${description}` : name;
  button.append(el('span', 'floe-FeatureStore-name', name), el('span', 'floe-FeatureStore-meta', meta));
  button.addEventListener('click', open);
  const li = el('li');
  li.append(button);
  return li;
}

function backButton(label: string, go: () => void): HTMLButtonElement {
  const b = el('button', 'floe-Panel-item floe-FeatureStore-back', `← ${label}`);
  b.type = 'button';
  b.addEventListener('click', go);
  return b;
}

function section(title: string, content: HTMLElement): HTMLElement {
  const node = el('section', 'floe-FeatureStore-section');
  node.append(el('h4', 'floe-FeatureStore-sectionTitle', title), content);
  return node;
}

function noCommit(): HTMLElement {
  return el('p', 'floe-FeatureStore-hint', 'This version has no commits yet.');
}

interface SchemaFeature {
  name: string;
  kind: string;
  dtype: string;
  shape?: number[];
  unit?: string;
  nullable?: boolean;
  description?: string;
}

/** The group's schema as the hub answers it (`unknown` in the contract): the fields the panel shows. */
function schemaFeatures(detail: FeatureGroupDetailResponse): SchemaFeature[] {
  if (!Array.isArray(detail.schema)) return [];
  return (detail.schema as unknown[]).filter(
    (f): f is SchemaFeature =>
      !!f &&
      typeof f === 'object' &&
      typeof (f as SchemaFeature).name === 'string' &&
      typeof (f as SchemaFeature).kind === 'string',
  );
}

function schemaView(detail: FeatureGroupDetailResponse): HTMLElement {
  const root = el('div', 'floe-FeatureStore-schema');
  const table = el('table', 'floe-Panel-table floe-FeatureStore-schemaTable');
  const headRow = el('tr');
  for (const h of ['feature', 'type', 'description']) headRow.append(el('th', '', h));
  const thead = el('thead');
  thead.append(headRow);
  const body = el('tbody');
  for (const f of schemaFeatures(detail)) {
    const tr = el('tr');
    tr.dataset.floeFeature = f.name;
    const type = [
      f.kind === 'tensor' ? `${f.dtype}[${(f.shape ?? []).join('×')}]` : f.dtype,
      f.unit ? `(${f.unit})` : '',
      f.nullable ? 'nullable' : '',
      detail.primaryKey.includes(f.name) ? 'key' : '',
    ]
      .filter(Boolean)
      .join(' ');
    tr.append(el('td', 'floe-FeatureStore-featureName', f.name), el('td', '', type), el('td', '', f.description ?? ''));
    body.append(tr);
  }
  table.append(thead, body);
  root.append(
    table,
    keyValueTable([
      ['primary key', detail.primaryKey.join(', ')],
      ['event time', detail.eventTime ?? 'none'],
      ['created', relativeTime(detail.createdAt)],
    ]),
  );
  return root;
}

function numericRows(s: StoredNumericSummary): [string, unknown][] {
  return [
    ['count', s.count],
    ['min', s.min],
    ['max', s.max],
    ['mean', s.mean],
    ['std', s.std],
    ...(s.nonFinite ? ([['non-finite', s.nonFinite]] as [string, unknown][]) : []),
  ];
}

function featureCard(stats: StoredFeatureStatistics, unit: string): HTMLElement {
  const card = el('section', 'floe-FeatureStore-feature');
  card.dataset.floeFeature = stats.name;
  const head = el('h4', 'floe-FeatureStore-featureTitle', stats.name);
  head.append(
    el(
      'span',
      'floe-FeatureStore-meta',
      ` ${stats.kind === 'tensor' ? 'tensor' : stats.dtype}${unit ? `, ${unit}` : ''}`,
    ),
  );
  card.append(head);
  const common: [string, unknown][] = [
    ['rows', stats.rows],
    ['missing', stats.missing],
  ];
  if (stats.numeric) {
    card.append(keyValueTable([...common, ...numericRows(stats.numeric)]));
    if (stats.numeric.histogram) card.append(histogramSlot(stats.name, stats.numeric.histogram, unit));
  } else if (stats.bands) {
    card.append(keyValueTable(common));
    for (const band of stats.bands) {
      const title = stats.bands.length > 1 || band.band !== stats.name ? `${stats.name} ${band.band}` : stats.name;
      const sub = el('div', 'floe-FeatureStore-band');
      sub.append(el('p', 'floe-FeatureStore-bandStats', bandLine(band, unit)));
      if (band.histogram) sub.append(histogramSlot(title, band.histogram, unit));
      card.append(sub);
    }
  } else {
    const extra: [string, unknown][] = [];
    if (stats.trueCount !== undefined) extra.push(['true', stats.trueCount]);
    if (stats.distinct !== undefined) extra.push(['distinct', `${stats.distinct}${stats.distinctCapped ? '+' : ''}`]);
    if (stats.earliest !== undefined) extra.push(['earliest', stats.earliest], ['latest', stats.latest]);
    card.append(keyValueTable([...common, ...extra]));
  }
  return card;
}

function bandLine(s: StoredNumericSummary, unit: string): string {
  const u = unit ? ` ${unit}` : '';
  return `mean ${formatValue(s.mean)}${u} · std ${formatValue(s.std)} · min ${formatValue(s.min)} · max ${formatValue(s.max)}`;
}

function validationView(commit: FeatureGroupCommit): HTMLElement {
  const root = el('div', 'floe-FeatureStore-validation');
  root.append(
    keyValueTable([
      ['commit', commit.number],
      ['rows inserted', commit.rowsInserted],
      ['rows rejected', commit.rowsRejected],
      ['committed', relativeTime(commit.committedAt)],
    ]),
  );
  if (commit.validation === null || commit.validation === undefined) {
    root.append(el('p', 'floe-FeatureStore-hint', 'This group has no rule set: its commits are not validated.'));
    return root;
  }
  const parsed = StoredCommitValidation.safeParse(commit.validation);
  if (!parsed.success) {
    root.append(
      el('p', 'floe-FeatureStore-error', 'This commit’s validation report is in a form this panel does not know.'),
    );
    return root;
  }
  const reports = 'chunks' in parsed.data ? parsed.data.chunks : [parsed.data];
  reports.forEach((report, i) => root.append(reportView(report, reports.length > 1 ? i + 1 : null)));
  return root;
}

function reportView(report: ValidationReport, chunk: number | null): HTMLElement {
  const node = el('section', 'floe-FeatureStore-report');
  const head = el('h4', 'floe-FeatureStore-sectionTitle', chunk === null ? 'Report' : `Report of chunk ${chunk}`);
  const outcome = badge(report.outcome.replace(/_/g, ' '));
  outcome.dataset.floeOutcome = report.outcome;
  node.append(head, outcome);
  node.append(
    el(
      'p',
      'floe-FeatureStore-meta',
      `rule set ${report.ruleSet} (policy ${report.policy}): ${report.accepted} of ${report.rows} rows accepted`,
    ),
  );
  const failed = report.rules.filter((r) => !r.passed);
  const table = el('table', 'floe-Panel-table floe-FeatureStore-rules');
  const headRow = el('tr');
  for (const h of ['rule', 'result', 'failing', 'measured']) headRow.append(el('th', '', h));
  const thead = el('thead');
  thead.append(headRow);
  const body = el('tbody');
  // Failed rules first: they are what a reviewer looks for.
  for (const r of [...failed, ...report.rules.filter((x) => x.passed)]) {
    const tr = el('tr', r.passed ? '' : 'floe-mod-failed');
    tr.dataset.floeRule = r.rule;
    tr.append(
      el('td', 'floe-FeatureStore-ruleName', r.rule),
      el('td', '', r.passed ? 'passed' : 'failed'),
      el('td', '', `${r.failing}/${r.checked}`),
      el('td', 'floe-FeatureStore-ruleMessage', r.message),
    );
    body.append(tr);
  }
  table.append(thead, body);
  node.append(el('p', 'floe-FeatureStore-summary', `${failed.length} of ${report.rules.length} rules failed`), table);
  if (report.rejected.length) {
    const list = el('ul', 'floe-FeatureStore-rejectedRows');
    for (const r of report.rejected.slice(0, 50)) {
      const li = el('li');
      li.append(
        el('span', 'floe-FeatureStore-rejectedId', r.id ?? `row ${r.row}`),
        el('span', '', `: ${r.reasons.join('; ')}`),
      );
      list.append(li);
    }
    node.append(el('h4', 'floe-FeatureStore-sectionTitle', `Rejected rows (${report.rejected.length})`), list);
  }
  return node;
}
