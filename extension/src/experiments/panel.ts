import type { RunDetailResponse, RunRow, SearchDetailResponse, StoreChangeCounters } from '@floe/schema';
import type { IDisposable } from '@lumino/disposable';
import { Signal } from '@lumino/signaling';
import { Panel, SplitPanel, Widget } from '@lumino/widgets';
import { fetchExperiments, fetchRunDetail, fetchRuns, fetchSearch, fetchSearches, followStoreChanges } from '../api';
import { fetchAblation } from '../api/experiments';
import type { IFloeHub } from '../tokens';
import { lineChart, type ChartSeries } from './chart';
import { badge, el, flattenParams, formatValue, keyValueTable, relativeTime } from './dom';
import { ablationView } from './ablation';
import { parallelCoordinates } from './parallel';
import { RunsTable } from './runs-table';
import { RunImageLoader, saliencyAcrossEpochs, saliencyAcrossRuns, saliencyEpochs } from './saliency';
import { HubFailureBanner } from '../hub/failure-banner';
import { FloeMainAreaPanel } from '../hub/main-area-panel';

/** What the panel shows; saved by the layout restorer so a reload comes back to it. */
export interface ExperimentsPanelState {
  experiment?: string;
  runId?: number;
  searchId?: number;
}

/** Series longer than this are downsampled by the hub (extremes and the last point kept). */
const CHART_POINTS = 400;

/**
 * The experiments panel: experiments and searches on the left; the selected experiment's runs in a
 * virtualized, sortable, filterable table; below it the opened run (params, environment, curves,
 * artifacts), the comparison of ticked runs (overlaid curves, params that differ) or a search's trials
 * with their stop reasons. Follows the store live through the hub's event stream.
 */
export class ExperimentsPanel extends FloeMainAreaPanel<ExperimentsPanelState> {
  constructor(hub: IFloeHub, state: ExperimentsPanelState = {}) {
    // Plain panels laid out by CSS flex (experiments.css): the nav and toolbar keep their natural size.
    super(state);
    this.id = 'floe-experiments';
    this.addClass('floe-Panel');
    this.addClass('floe-Experiments');
    this.title.label = 'Floe Experiments';
    this.title.caption = 'Experiments, runs and searches in the Floe project';
    this.title.closable = true;

    this._nav = new Widget({ node: el('nav', 'floe-Panel-nav floe-Experiments-nav') });
    this._nav.node.setAttribute('aria-label', 'Experiments and searches');

    const top = new Widget({ node: el('div', 'floe-Experiments-top') });
    this._hubFailure = new HubFailureBanner(this, 'floe-Experiments', hub, () => void this.refresh());
    this._heading = el('h2', 'floe-Experiments-heading', 'Experiments');
    this._filter = el('input', 'floe-Experiments-filter jp-mod-styled');
    this._filter.type = 'search';
    this._filter.placeholder = 'Filter runs by name or params';
    this._filter.setAttribute('aria-label', 'Filter runs by name or params');
    this._status = el('select', 'floe-Experiments-status jp-mod-styled');
    this._status.setAttribute('aria-label', 'Run status');
    for (const s of ['', 'running', 'finished', 'failed', 'interrupted'])
      this._status.append(Object.assign(el('option', '', s || 'any status'), { value: s }));
    this._topLevel = el('input', 'floe-Experiments-topLevelBox');
    this._topLevel.type = 'checkbox';
    const topLevel = el('label', 'floe-Experiments-topLevel');
    topLevel.title = "Hide the trials of searches and ablations (open a search's run to see them)";
    topLevel.append(this._topLevel, el('span', '', 'Top-level only'));
    this._count = el('span', 'floe-Experiments-count');
    this._compareButton = el('button', 'floe-Experiments-compare jp-mod-styled', 'Compare');
    this._compareButton.type = 'button';
    this._compareButton.disabled = true;
    const toolbar = el('div', 'floe-Experiments-toolbar');
    toolbar.append(this._filter, this._status, topLevel, this._count, this._compareButton);
    // The heading has a line of its own: a long experiment or search name is not squeezed by the tools.
    top.node.append(this._hubFailure.node, this._heading, toolbar);

    this._table = new RunsTable((query, signal) => fetchRuns(this._tableExperiment ?? '', query, { signal }));
    this._detail = new Widget({ node: el('section', 'floe-Experiments-detail') });
    this._detail.node.setAttribute('aria-live', 'polite');
    const split = new SplitPanel({ orientation: 'vertical', spacing: 4 });
    split.addWidget(this._table);
    split.addWidget(this._detail);
    split.setRelativeSizes([3, 2]);

    split.addClass('floe-Experiments-split');
    const main = new Panel();
    main.addClass('floe-Panel-main');
    main.addClass('floe-Experiments-main');
    main.addWidget(top);
    main.addWidget(split);
    this.addWidget(this._nav);
    this.addWidget(main);

    this._filter.addEventListener('input', this._onFilterInput);
    this._status.addEventListener('change', this._onStatusChange);
    this._topLevel.addEventListener('change', this._onTopLevelChange);
    this._compareButton.addEventListener('click', this._onCompareClick);
    this._table.runActivated.connect((_, run) => this._openRun(run.id), this);
    this._table.compareChanged.connect((_, ids) => {
      this._compareButton.disabled = ids.length < 2;
      this._compareButton.textContent = ids.length ? `Compare (${ids.length})` : 'Compare';
    }, this);
    this._table.loadFailed.connect((_, err) => void this._guard(() => Promise.reject(err)), this);
    this._table.rendered.connect((_, { total }) => {
      this._count.textContent = `${total} run${total === 1 ? '' : 's'}`;
    }, this);
    this._events = followStoreChanges(
      (counters) => this._onStoreChanged(counters),
      (open) => this.toggleClass('floe-mod-live', open),
    );
    void this.refresh();
  }

  get runsTable(): RunsTable {
    return this._table;
  }

  override dispose(): void {
    if (this.isDisposed) return;
    this._events.dispose();
    this._hubFailure.dispose();
    this._filter.removeEventListener('input', this._onFilterInput);
    this._status.removeEventListener('change', this._onStatusChange);
    this._topLevel.removeEventListener('change', this._onTopLevelChange);
    this._compareButton.removeEventListener('click', this._onCompareClick);
    this._images?.dispose();
    Signal.clearData(this);
    super.dispose();
  }

  /** Reloads everything shown (after the hub comes back, or on demand). */
  async refresh(): Promise<void> {
    await this._guard(async () => {
      await this._loadNav();
      const experiment = this._state.experiment;
      if (experiment !== undefined) await this.openExperiment(experiment, false);
      if (this._state.searchId !== undefined) await this.openSearch(this._state.searchId);
      else if (this._state.runId !== undefined) await this._openRun(this._state.runId);
    });
  }

  async openExperiment(name: string, resetDetail = true): Promise<void> {
    this._state.experiment = name;
    if (resetDetail) {
      delete this._state.runId;
      delete this._state.searchId;
      this._detail.node.replaceChildren(
        el('p', 'floe-Panel-hint floe-Experiments-hint', 'Open a run to see its curves, params and environment.'),
      );
    }
    this._setHeading(name);
    this._markNav();
    this._emitState();
    this._tableExperiment = name;
    this._topLevel.disabled = false;
    await this._guard(() =>
      this._table.reset({
        filter: this._filter.value.trim(),
        status: this._status.value || undefined,
        parent: this._topLevel.checked ? 'none' : undefined,
      }),
    );
  }

  /** Opens a search or ablation: its view below, and its trials' runs (children of its run) in the table. */
  async openSearch(id: number): Promise<void> {
    this._state.searchId = id;
    delete this._state.runId;
    this._markNav();
    this._emitState();
    await this._guard(async () => {
      const detail = await fetchSearch(id);
      await this._renderSearch(detail);
      const { search } = detail;
      this._setHeading(`${search.kind}: ${search.name}`);
      // "Top-level only" would hide every trial: it applies to experiments, not here.
      this._topLevel.disabled = true;
      if (search.runId === null) {
        this._tableExperiment = null;
        this._table.clear(`This ${search.kind} recorded no runs.`);
        return;
      }
      // The trials are runs of the experiment the search's own run belongs to.
      const parent = await fetchRunDetail(search.runId, 10);
      if (this._state.searchId !== id) return; // another view was opened meanwhile
      this._tableExperiment = parent.run.experiment;
      await this._table.reset({
        filter: this._filter.value.trim(),
        status: this._status.value || undefined,
        parent: search.runId,
      });
    });
  }

  private _setHeading(text: string): void {
    this._heading.textContent = text;
    this._heading.title = text;
  }

  /** Opens a run in the detail pane (from the table, a search's trial, an ablation row or a parent link). */
  async openRun(id: number): Promise<void> {
    return this._openRun(id);
  }

  private async _openRun(id: number): Promise<void> {
    this._state.runId = id;
    delete this._state.searchId;
    this._table.activeRunId = id;
    this._emitState();
    await this._guard(async () => this._renderRun(await fetchRunDetail(id, CHART_POINTS)));
  }

  private async _loadNav(): Promise<void> {
    const [{ experiments }, { searches }] = await Promise.all([fetchExperiments(), fetchSearches()]);
    const list = el('ul', 'floe-Panel-list floe-Experiments-list');
    for (const e of experiments) {
      const button = el('button', 'floe-Panel-item floe-Experiments-item');
      button.type = 'button';
      button.dataset.floeExperiment = e.name;
      button.title = e.name;
      button.append(
        el('span', 'floe-Panel-name floe-Experiments-name', e.name),
        el('span', 'floe-Experiments-runs', String(e.runs)),
      );
      button.addEventListener('click', () => void this.openExperiment(e.name));
      const li = el('li');
      li.append(button);
      list.append(li);
    }
    const searchList = el('ul', 'floe-Panel-list floe-Experiments-list');
    for (const s of searches) {
      const button = el('button', 'floe-Panel-item floe-Experiments-item');
      button.type = 'button';
      button.dataset.floeSearch = String(s.id);
      button.title = s.name;
      button.append(
        el(
          'span',
          'floe-Panel-name floe-Experiments-name',
          `${s.kind === 'ablation' ? 'ablation' : 'search'}: ${s.name}`,
        ),
        badge(s.status),
      );
      button.addEventListener('click', () => void this.openSearch(s.id));
      // The search's trials nest under it, each openable as the run the tracker recorded.
      const toggle = el('button', 'floe-Experiments-toggle', '▸');
      toggle.type = 'button';
      toggle.dataset.floeToggleSearch = String(s.id);
      toggle.setAttribute('aria-label', `Show the trials of ${s.name}`);
      toggle.setAttribute('aria-expanded', 'false');
      const trials = el('ul', 'floe-Experiments-trials');
      trials.setAttribute('role', 'group');
      toggle.addEventListener('click', () => void this._guard(() => this._toggleTrials(s.id, toggle, trials)));
      const row = el('div', 'floe-Experiments-searchRow');
      row.append(toggle, button);
      const li = el('li');
      li.append(row, trials);
      searchList.append(li);
      if (this._expanded.has(s.id)) void this._guard(() => this._toggleTrials(s.id, toggle, trials, true));
    }
    this._nav.node.replaceChildren(
      el('h3', 'floe-Panel-navTitle floe-Experiments-navTitle', 'Experiments'),
      experiments.length
        ? list
        : el('p', 'floe-Panel-hint floe-Experiments-hint', 'No experiments yet: train a model from a notebook.'),
      el('h3', 'floe-Panel-navTitle floe-Experiments-navTitle', 'Searches'),
      searches.length ? searchList : el('p', 'floe-Panel-hint floe-Experiments-hint', 'No searches yet.'),
    );
    this._markNav();
    if (this._state.experiment === undefined && experiments.length && this._state.searchId === undefined) {
      this._state.experiment = experiments[0]!.name;
    }
  }

  /** Shows (or hides) a search's trials under it in the nav; `open` forces them shown (nav reloads). */
  private async _toggleTrials(id: number, toggle: HTMLElement, list: HTMLElement, open?: boolean): Promise<void> {
    const show = open ?? toggle.getAttribute('aria-expanded') !== 'true';
    toggle.setAttribute('aria-expanded', String(show));
    toggle.textContent = show ? '▾' : '▸';
    if (!show) {
      this._expanded.delete(id);
      list.replaceChildren();
      return;
    }
    this._expanded.add(id);
    const detail = await fetchSearch(id);
    const metric = String(detail.config.metric ?? 'metric');
    list.replaceChildren(
      ...[...detail.trials]
        .sort((a, b) => a.number - b.number)
        .map((t) => {
          const item = el('button', 'floe-Panel-item floe-Experiments-item floe-Experiments-trial');
          item.type = 'button';
          item.dataset.floeTrial = String(t.number);
          if (t.runId !== null) item.dataset.floeRunId = String(t.runId);
          item.title =
            `trial ${t.number}: best ${metric} ${formatValue(t.bestMetric)}` +
            (t.stopReason ? ` (${t.stopReason})` : '') +
            (t.runId === null ? ' · no run yet' : ' · click to open its run');
          item.disabled = t.runId === null;
          item.append(
            // The nav is narrow: number and best metric; the tooltip names the metric and the stop reason.
            el('span', 'floe-Panel-name floe-Experiments-name', `#${t.number} ${formatValue(t.bestMetric)}`),
            badge(t.status),
          );
          if (detail.best?.trial === t.number) item.classList.add('floe-mod-best');
          item.addEventListener('click', () => t.runId !== null && void this._openRun(t.runId));
          const li = el('li');
          li.append(item);
          return li;
        }),
    );
    if (!detail.trials.length) list.append(el('li', 'floe-Panel-hint floe-Experiments-hint', 'No trials yet.'));
  }

  private _markNav(): void {
    for (const b of this._nav.node.querySelectorAll<HTMLElement>('[data-floe-experiment]'))
      b.classList.toggle(
        'floe-mod-selected',
        // While a search is open the table lists its trials: only the search is marked.
        this._state.searchId === undefined && b.dataset.floeExperiment === this._state.experiment,
      );
    for (const b of this._nav.node.querySelectorAll<HTMLElement>('[data-floe-search]'))
      b.classList.toggle('floe-mod-selected', Number(b.dataset.floeSearch) === this._state.searchId);
  }

  /** A new image loader for the view about to be drawn (the previous view's images are freed). */
  private _freshImages(): RunImageLoader {
    this._images?.dispose();
    this._images = new RunImageLoader();
    return this._images;
  }

  private async _renderRun(detail: RunDetailResponse): Promise<void> {
    const { run } = detail;
    // A search's or ablation's run: its trials are child runs, listed here to open one by one.
    const kind = run.tags.kind;
    const children =
      kind === 'search' || kind === 'ablation'
        ? await fetchRuns(run.experiment, { parent: run.id, sort: 'name', dir: 'asc', limit: 1000 })
        : null;
    const head = el('header', 'floe-Detail-header');
    head.append(
      el('h3', 'floe-Detail-title', run.name),
      badge(run.status),
      el('span', 'floe-Detail-meta', `run ${run.id} · ${run.experiment}`),
    );
    const parts: HTMLElement[] = [head];
    if (run.error) parts.push(el('p', 'floe-Detail-error', run.error));
    if (run.parentRunId !== null) {
      const up = el('p', 'floe-Detail-parent');
      const link = el('button', 'floe-LinkButton', `#${run.parentRunId}`);
      link.type = 'button';
      link.dataset.floeParentRun = String(run.parentRunId);
      link.addEventListener('click', () => void this._openRun(run.parentRunId!));
      up.append(
        el('span', '', `${run.tags.kind?.endsWith('_trial') ? `Trial ${run.tags.trial ?? ''} of` : 'Child of'} run `),
        link,
      );
      parts.push(up);
    }
    if (children) parts.push(section(`Trials (${children.total})`, this._childRuns(children.runs)));
    const charts = el('div', 'floe-Detail-charts');
    for (const scope of ['epoch', 'step'] as const) {
      for (const m of detail.metrics.filter((s) => s.scope === scope)) {
        const title = `${m.name} (${scope}${m.totalPoints > m.points.length ? `, ${m.points.length} of ${m.totalPoints} points` : ''})`;
        charts.append(lineChart(title, [{ label: m.name, points: m.points }]));
      }
    }
    parts.push(
      section(
        'Metrics',
        charts.childElementCount ? charts : el('p', 'floe-Panel-hint floe-Experiments-hint', 'No metrics logged yet.'),
      ),
    );
    const finals = detail.metrics.filter((m) => m.scope === 'final');
    if (finals.length)
      parts.push(section('Final evaluation', keyValueTable(finals.map((m) => [m.name, m.points.at(-1)?.[1]]))));
    parts.push(section('Params', keyValueTable(Object.entries(flattenParams(run.params)))));
    if (run.environment)
      parts.push(section('Environment', keyValueTable(Object.entries(flattenParams(run.environment)))));
    if (run.dataset) parts.push(section('Dataset', keyValueTable(Object.entries(flattenParams(run.dataset)))));
    if (run.code)
      parts.push(
        section(
          'Code',
          keyValueTable([
            ['path', run.code.path],
            ['sha256', run.code.sha256],
            ['bytes', run.code.bytes],
          ]),
        ),
      );
    parts.push(
      section(
        'Run',
        keyValueTable([
          ['started', relativeTime(run.startedAt)],
          ['ended', relativeTime(run.endedAt)],
          ['epochs', run.epochsCompleted],
          ['host', `${run.host} (pid ${run.pid})`],
          ['parent run', run.parentRunId],
          ...Object.entries(run.tags).map(([k, v]): [string, unknown] => [`tag ${k}`, v]),
        ]),
      ),
    );
    const images = this._freshImages();
    const saliency = saliencyEpochs(detail.artifacts);
    if (saliency.length) parts.splice(2, 0, section('Saliency across epochs', saliencyAcrossEpochs(saliency, images)));
    if (detail.artifacts.length) {
      const list = el('ul', 'floe-Detail-artifacts');
      for (const a of detail.artifacts) list.append(el('li', '', `${a.name} (${a.kind}): ${a.blobKey}`));
      parts.push(section('Artifacts', list));
    }
    this._detail.node.replaceChildren(...parts);
    this._detail.node.dataset.floeShowing = `run:${run.id}`;
  }

  /** A search's trial runs: name, status, metrics, each a button that opens the run. */
  private _childRuns(runs: RunRow[]): HTMLElement {
    if (!runs.length) return el('p', 'floe-Panel-hint floe-Experiments-hint', 'No trial runs recorded yet.');
    const list = el('ul', 'floe-Detail-children');
    for (const r of runs) {
      const open = el('button', 'floe-LinkButton', r.name);
      open.type = 'button';
      open.dataset.floeRunId = String(r.id);
      open.addEventListener('click', () => void this._openRun(r.id));
      const li = el('li');
      li.append(
        open,
        badge(r.status),
        el(
          'span',
          'floe-Detail-meta',
          Object.entries(r.summary)
            .map(([k, v]) => `${k} ${formatValue(v)}`)
            .join(' · '),
        ),
      );
      list.append(li);
    }
    return list;
  }

  private async _renderComparison(ids: number[]): Promise<void> {
    const details = await Promise.all(ids.map((id) => fetchRunDetail(id, CHART_POINTS)));
    const label = (d: RunDetailResponse): string => `#${d.run.id} ${d.run.name}`;
    const head = el('header', 'floe-Detail-header');
    head.append(el('h3', 'floe-Detail-title', `Comparing ${details.length} runs`));
    const charts = el('div', 'floe-Detail-charts');
    const names = [
      ...new Set(details.flatMap((d) => d.metrics.filter((m) => m.scope === 'epoch').map((m) => m.name))),
    ].sort();
    for (const name of names) {
      const series: ChartSeries[] = details.map((d) => ({
        label: label(d),
        points: d.metrics.find((m) => m.scope === 'epoch' && m.name === name)?.points ?? [],
      }));
      charts.append(lineChart(name, series));
    }
    const flat = details.map((d) => flattenParams(d.run.params));
    const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))].sort();
    const differing = keys.filter((k) => new Set(flat.map((f) => JSON.stringify(f[k]))).size > 1);
    const table = el('table', 'floe-Panel-table floe-Compare-params');
    const headRow = el('tr');
    headRow.append(el('th', '', 'param'), ...details.map((d) => el('th', '', label(d))));
    const body = el('tbody');
    for (const k of differing) {
      const tr = el('tr');
      tr.append(el('th', '', k), ...flat.map((f) => el('td', '', formatValue(f[k]))));
      body.append(tr);
    }
    const thead = el('thead');
    thead.append(headRow);
    table.append(thead, body);
    const same = keys.length - differing.length;
    const saliency = saliencyAcrossRuns(details, this._freshImages());
    this._detail.node.replaceChildren(
      head,
      ...(saliency ? [section('Saliency across runs', saliency)] : []),
      section(
        'Curves',
        charts.childElementCount
          ? charts
          : el('p', 'floe-Panel-hint floe-Experiments-hint', 'No epoch metrics to overlay.'),
      ),
      section(
        `Params that differ (${differing.length}; ${same} the same)`,
        differing.length ? table : el('p', 'floe-Panel-hint floe-Experiments-hint', 'All params are the same.'),
      ),
    );
    this._detail.node.dataset.floeShowing = `compare:${ids.join(',')}`;
  }

  private async _renderSearch(detail: SearchDetailResponse): Promise<void> {
    const { search, trials, config } = detail;
    this._freshImages();
    const study = search.kind === 'ablation' ? await fetchAblation(search.id) : null;
    const metric = String(config.metric ?? 'metric');
    const direction = config.direction === 'min' ? 'min' : 'max';
    const head = el('header', 'floe-Detail-header');
    head.append(
      el('h3', 'floe-Detail-title', search.name),
      badge(search.status),
      el('span', 'floe-Detail-meta', `${search.kind} ${search.id} · ${metric} (${direction})`),
    );
    const best = detail.best;
    const parts: HTMLElement[] = [head];
    if (search.error) parts.push(el('p', 'floe-Detail-error', search.error));
    if (study) {
      parts.push(
        section(
          'Ablation: metric change per removed component',
          ablationView(study, (id) => void this._openRun(id)),
        ),
      );
      this._detail.node.replaceChildren(...parts);
      this._detail.node.dataset.floeShowing = `search:${search.id}`;
      return;
    }
    if (best) {
      const line = el('p', 'floe-Search-best');
      line.append(
        el('strong', '', `Best trial #${best.trial}: ${metric} ${formatValue(best.metric)}`),
        el(
          'span',
          '',
          ` with ${Object.entries(best.params)
            .map(([k, v]) => `${k} ${formatValue(v)}`)
            .join(', ')}`,
        ),
      );
      const bestRun = trials.find((t) => t.number === best.trial)?.runId;
      if (bestRun != null) {
        const open = el('button', 'floe-LinkButton', `open run #${bestRun}`);
        open.type = 'button';
        open.addEventListener('click', () => void this._openRun(bestRun));
        line.append(el('span', '', ' · '), open);
      }
      parts.push(line);
    }
    const byNumber = [...trials].sort((a, b) => a.number - b.number);
    const table = el('table', 'floe-Panel-table floe-Search-trials');
    const highlightRow = (trial: number | null): void => {
      for (const tr of table.querySelectorAll<HTMLElement>('tbody tr'))
        tr.classList.toggle('floe-mod-highlight', tr.dataset.floeTrial === String(trial));
    };
    const parallel = parallelCoordinates(detail.parallelCoordinates, {
      bestTrial: best?.trial ?? null,
      onHighlight: highlightRow,
    });
    parts.push(section('Parallel coordinates (params → metric; dashed: stopped early)', parallel));
    parts.push(
      section(
        'Learning curves (dashed: stopped early)',
        lineChart(
          metric,
          byNumber.map((t) => ({
            label: `trial ${t.number}`,
            points: t.curve.map((v, i): [number, number] => [i + 1, v]),
            dashed: t.status === 'stopped',
          })),
          520,
          220,
        ),
      ),
    );
    const headRow = el('tr');
    for (const h of ['#', 'status', metric, 'best', 'steps', 'stop reason', 'params', 'run'])
      headRow.append(el('th', '', h));
    const thead = el('thead');
    thead.append(headRow);
    const body = el('tbody');
    for (const t of byNumber) {
      const tr = el('tr');
      tr.dataset.floeTrial = String(t.number);
      const status = el('td');
      status.append(badge(t.status));
      const runCell = el('td');
      if (t.runId !== null) {
        const open = el('button', 'floe-LinkButton', `#${t.runId}`);
        open.type = 'button';
        open.title = `Open the run of trial ${t.number}`;
        open.dataset.floeRunId = String(t.runId);
        open.addEventListener('click', () => void this._openRun(t.runId!));
        runCell.append(open);
      }
      tr.append(
        el('td', '', String(t.number)),
        status,
        el('td', '', formatValue(t.metric)),
        el('td', '', formatValue(t.bestMetric)),
        el('td', '', String(t.steps)),
        el('td', 'floe-Search-stopReason', t.stopReason ?? t.error ?? ''),
        el('td', 'floe-Search-params', JSON.stringify(t.params)),
        runCell,
      );
      if (t.number === best?.trial) tr.classList.add('floe-mod-best');
      // Hovering a trial's row highlights its line in the parallel coordinates.
      const line = (): Element | null => parallel.querySelector(`.floe-Parallel-line[data-floe-trial="${t.number}"]`);
      tr.addEventListener('mouseenter', () => line()?.dispatchEvent(new MouseEvent('mouseenter')));
      tr.addEventListener('mouseleave', () => line()?.dispatchEvent(new MouseEvent('mouseleave')));
      body.append(tr);
    }
    table.append(thead, body);
    parts.push(section(`Trials (${trials.length})`, table));
    this._detail.node.replaceChildren(...parts);
    this._detail.node.dataset.floeShowing = `search:${search.id}`;
  }

  /** Runs `work`, turning a failure into the banner (the hub down, a bad answer) instead of an exception. */
  private _guard(work: () => Promise<void>): Promise<void> {
    return this._hubFailure.guard(work);
  }

  private _onStoreChanged(counters: StoreChangeCounters): void {
    const last = this._counters;
    this._counters = counters;
    if (!last) return;
    if (this._hubFailure.failed) {
      void this.refresh();
      return;
    }
    if (last.audit !== counters.audit || last.trials !== counters.trials) void this._guard(() => this._loadNav());
    if (last.runs !== counters.runs || last.audit !== counters.audit) {
      if (this._tableExperiment !== null) void this._guard(() => this._table.reload());
      const showing = this._detail.node.dataset.floeShowing ?? '';
      if (showing === `run:${this._state.runId}` && this._state.runId !== undefined) {
        const id = this._state.runId;
        void this._guard(async () => this._renderRun(await fetchRunDetail(id, CHART_POINTS)));
      }
    }
    if (last.trials !== counters.trials && this._state.searchId !== undefined)
      void this.openSearch(this._state.searchId);
  }

  /**
   * Filters as the user types, without a fixed delay: a keystroke sends its query at once when none is
   * on its way, else the latest text goes when the one on its way has answered (so typing never queues
   * more than one request, and the table shows the last text as soon as the hub can).
   */
  private _onFilterInput = (): void => {
    if (this._tableExperiment === null) return;
    if (this._filtering) {
      this._filterAgain = true;
      return;
    }
    this._filtering = true;
    void this._guard(() => this._table.reset({ filter: this._filter.value.trim() })).finally(() => {
      this._filtering = false;
      if (this._filterAgain) {
        this._filterAgain = false;
        this._onFilterInput();
      }
    });
  };

  private _onStatusChange = (): void => {
    if (this._tableExperiment === null) return;
    void this._guard(() => this._table.reset({ status: this._status.value || undefined }));
  };

  private _onTopLevelChange = (): void => {
    if (this._tableExperiment === null) return;
    void this._guard(() => this._table.reset({ parent: this._topLevel.checked ? 'none' : undefined }));
  };

  private _onCompareClick = (): void => {
    const ids = this._table.compared;
    if (ids.length >= 2) void this._guard(() => this._renderComparison(ids));
  };

  private readonly _nav: Widget;
  private readonly _hubFailure: HubFailureBanner;
  private readonly _heading: HTMLHeadingElement;
  private readonly _filter: HTMLInputElement;
  private readonly _status: HTMLSelectElement;
  private readonly _count: HTMLSpanElement;
  private readonly _topLevel: HTMLInputElement;
  private readonly _expanded = new Set<number>();
  private _images: RunImageLoader | null = null;
  private readonly _compareButton: HTMLButtonElement;
  private readonly _table: RunsTable;
  /** The experiment whose runs the table lists (a search's, while a search is open); null: none. */
  private _tableExperiment: string | null = null;
  private readonly _detail: Widget;
  private readonly _events: IDisposable;
  private _counters: StoreChangeCounters | null = null;
  private _filtering = false;
  private _filterAgain = false;
}

function section(title: string, content: HTMLElement): HTMLElement {
  const node = el('section', 'floe-Detail-section');
  node.append(el('h4', 'floe-Detail-sectionTitle', title), content);
  return node;
}
