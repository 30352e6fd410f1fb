import type {
  DeploymentConfig,
  DeploymentDetailResponse,
  DeploymentSummary,
  ModelDetailResponse,
  ModelLineageResponse,
  ModelSummary,
  ModelVersion,
  ServingChangeCounters,
} from '@floe/schema';
import type { IDisposable } from '@lumino/disposable';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';
import {
  fetchDeployment,
  fetchDeployments,
  fetchModel,
  fetchModelLineage,
  fetchModels,
  followServingChanges,
} from '../api';
import { lineChart } from '../experiments/chart';
import { badge, el, flattenParams, formatValue, keyValueTable, relativeTime } from '../experiments/dom';
import type { IFloeHub } from '../tokens';
import { drawLineage, lineageGraph, type LineageNode } from './lineage';
import { HubFailureBanner } from '../hub/failure-banner';
import { FloeMainAreaPanel } from '../hub/main-area-panel';

/** What the panel shows; saved by the layout restorer so a reload comes back to it. */
export interface ModelsPanelState {
  model?: string;
  version?: number;
  deployment?: string;
}

export interface ModelsPanelOptions {
  /** Opens a run in the Experiments panel (when that panel's command is there). */
  openRun?: (experiment: string, runId: number) => void;
}

/** Summary metrics shown as columns of the versions table (the rest are in the version details). */
const METRIC_COLUMNS = 4;
/** Metrics a reviewer compares versions on come first; timings and counts never make the columns. */
const PREFERRED_METRICS = [
  'val_accuracy',
  'val_loss',
  'eval_accuracy',
  'eval_auc',
  'eval_log_loss',
  'accuracy',
  'loss',
];
const NOT_A_COLUMN = /seconds|samples|per_second/;

function metricColumns(versions: readonly ModelVersion[]): string[] {
  const names = new Set(versions.flatMap((v) => Object.keys(v.metrics)));
  const preferred = PREFERRED_METRICS.filter((m) => names.has(m));
  const rest = [...names].filter((m) => !preferred.includes(m) && !NOT_A_COLUMN.test(m)).sort();
  return [...preferred, ...rest].slice(0, METRIC_COLUMNS);
}

/**
 * The models panel: registered models and deployments on the left; on the right either a model (its
 * versions with metrics and aliases, and the chosen version's lineage graph back to the feature group
 * commit) or a deployment (latency and throughput over recent windows, the versions it serves, drift
 * status and alerts). Follows the store live through the hub's event stream.
 */
export class ModelsPanel extends FloeMainAreaPanel<ModelsPanelState> {
  constructor(hub: IFloeHub, state: ModelsPanelState = {}, options: ModelsPanelOptions = {}) {
    super(state);
    this._options = options;
    this.id = 'floe-models';
    this.addClass('floe-Panel');
    this.addClass('floe-Models');
    this.title.label = 'Floe Models';
    this.title.caption = 'Registered models, lineage and deployments of the Floe project';
    this.title.closable = true;

    this._nav = new Widget({ node: el('nav', 'floe-Panel-nav floe-Models-nav') });
    this._nav.node.setAttribute('aria-label', 'Models and deployments');
    const main = new Widget({ node: el('div', 'floe-Panel-main floe-Models-main') });
    this._hubFailure = new HubFailureBanner(this, 'floe-Models', hub, () => void this.refresh());
    this._detail = el('section', 'floe-Models-detail');
    this._detail.setAttribute('aria-live', 'polite');
    this._detail.append(el('p', 'floe-Panel-hint floe-Models-hint', 'Loading…'));
    main.node.append(this._hubFailure.node, this._detail);
    this.addWidget(this._nav);
    this.addWidget(main);

    this._events = followServingChanges(
      (counters) => this._onStoreChanged(counters),
      (open) => this.toggleClass('floe-mod-live', open),
    );
    void this.refresh();
  }

  override dispose(): void {
    if (this.isDisposed) return;
    this._events.dispose();
    this._hubFailure.dispose();
    Signal.clearData(this);
    super.dispose();
  }

  /** Reloads everything shown (after the hub comes back, or on demand). */
  async refresh(): Promise<void> {
    await this._guard(async () => {
      await this._loadNav();
      await this._showCurrent();
    });
  }

  async openModel(name: string, version?: number): Promise<void> {
    this._state = { model: name, ...(version !== undefined ? { version } : {}) };
    this._node = null;
    this._markNav();
    this._emitState();
    await this._guard(() => this._showCurrent());
  }

  async openDeployment(name: string): Promise<void> {
    this._state = { deployment: name };
    this._markNav();
    this._emitState();
    await this._guard(() => this._showCurrent());
  }

  private async _showCurrent(): Promise<void> {
    const { model, deployment } = this._state;
    if (deployment !== undefined) this._renderDeployment(await fetchDeployment(deployment));
    else if (model !== undefined) await this._renderModel(await fetchModel(model));
    else this._detail.replaceChildren(el('p', 'floe-Panel-hint floe-Models-hint', 'Choose a model or a deployment.'));
  }

  private async _loadNav(): Promise<void> {
    const [{ models }, { deployments }] = await Promise.all([fetchModels(), fetchDeployments()]);
    this._deployments = deployments;
    const modelList = el('ul', 'floe-Panel-list floe-Models-list');
    for (const m of models) modelList.append(this._modelItem(m));
    const deploymentList = el('ul', 'floe-Panel-list floe-Models-list');
    for (const d of deployments) deploymentList.append(this._deploymentItem(d));
    replaceKeepingFocus(
      this._nav.node,
      el('h3', 'floe-Panel-navTitle floe-Models-navTitle', 'Models'),
      models.length
        ? modelList
        : el('p', 'floe-Panel-hint floe-Models-hint', 'No registered models yet: register a run’s model.'),
      el('h3', 'floe-Panel-navTitle floe-Models-navTitle', 'Deployments'),
      deployments.length
        ? deploymentList
        : el('p', 'floe-Panel-hint floe-Models-hint', 'No deployments yet: start floe serve.'),
    );
    if (this._state.model === undefined && this._state.deployment === undefined && models.length)
      this._state.model = models[0]!.name;
    this._markNav();
  }

  private _modelItem(m: ModelSummary): HTMLLIElement {
    const button = el('button', 'floe-Panel-item floe-Models-item');
    button.type = 'button';
    button.dataset.floeModel = m.name;
    button.title = m.name;
    const aliases = el('span', 'floe-Models-aliases');
    for (const [alias, version] of Object.entries(m.aliases).sort())
      aliases.append(el('span', 'floe-Models-alias', `@${alias} → v${version}`));
    button.append(
      el('span', 'floe-Panel-name floe-Models-name', m.name),
      el('span', 'floe-Models-count', `${m.versions} version${m.versions === 1 ? '' : 's'}`),
      aliases,
    );
    button.addEventListener('click', () => void this.openModel(m.name));
    const li = el('li');
    li.append(button);
    return li;
  }

  private _deploymentItem(d: DeploymentSummary): HTMLLIElement {
    const button = el('button', 'floe-Panel-item floe-Models-item');
    button.type = 'button';
    button.dataset.floeDeployment = d.name;
    button.title = d.name;
    const facts = el('span', 'floe-Models-facts');
    facts.append(badge(d.status));
    if (d.recentAlerts)
      facts.append(
        el('span', 'floe-Models-alertCount', `${d.recentAlerts} drift alert${d.recentAlerts === 1 ? '' : 's'}`),
      );
    button.append(el('span', 'floe-Panel-name floe-Models-name', d.name), facts);
    button.addEventListener('click', () => void this.openDeployment(d.name));
    const li = el('li');
    li.append(button);
    return li;
  }

  private _markNav(): void {
    for (const b of this._nav.node.querySelectorAll<HTMLElement>('[data-floe-model]'))
      b.classList.toggle(
        'floe-mod-selected',
        this._state.deployment === undefined && b.dataset.floeModel === this._state.model,
      );
    for (const b of this._nav.node.querySelectorAll<HTMLElement>('[data-floe-deployment]'))
      b.classList.toggle('floe-mod-selected', b.dataset.floeDeployment === this._state.deployment);
  }

  // ---- a model: versions and lineage ----

  private async _renderModel(detail: ModelDetailResponse): Promise<void> {
    const versions = detail.versions;
    const chosen = versions.find((v) => v.version === this._state.version) ?? versions[0];
    if (!chosen) return;
    this._state.version = chosen.version;
    const lineage = await fetchModelLineage(detail.name, chosen.version);
    // The user may have moved on while the lineage loaded.
    if (this._state.model !== detail.name || this._state.deployment !== undefined) return;

    const head = el('header', 'floe-Models-header');
    head.append(
      el('h2', 'floe-Models-title', detail.name),
      el('span', 'floe-Models-meta', `${versions.length} version${versions.length === 1 ? '' : 's'}`),
    );
    const metricNames = metricColumns(versions);
    const table = el('table', 'floe-Panel-table floe-Models-versions');
    const headRow = el('tr');
    for (const h of ['version', 'aliases', 'registered', ...metricNames, 'run'])
      headRow.append(Object.assign(el('th', '', h), { scope: 'col' }));
    const thead = el('thead');
    thead.append(headRow);
    const body = el('tbody');
    for (const v of versions) body.append(this._versionRow(v, metricNames, lineage, chosen.version));
    table.append(thead, body);

    const graph = lineageGraph(lineage, this._deployments);
    const nodeDetail = el('div', 'floe-Models-nodeDetail');
    const showNode = (node: LineageNode): void => {
      this._node = node.id;
      for (const g of this._detail.querySelectorAll<SVGGElement>('[data-floe-node]'))
        g.classList.toggle('floe-mod-selected', g.dataset.floeNode === node.id);
      nodeDetail.replaceChildren(...this._nodeDetail(node, lineage));
    };
    const activate = (node: LineageNode): void => {
      showNode(node);
      if (node.kind === 'run') this._options.openRun?.(lineage.run.experiment, lineage.run.id);
      if (node.kind === 'deployment') void this.openDeployment(node.label);
    };
    const svgGraph = drawLineage(graph, activate, this._node);
    const graphBox = el('div', 'floe-Lineage');
    graphBox.append(svgGraph);
    const selected = graph.nodes.find((n) => n.id === this._node) ?? graph.nodes.find((n) => n.id === 'model')!;
    nodeDetail.replaceChildren(...this._nodeDetail(selected, lineage));

    replaceKeepingFocus(
      this._detail,
      head,
      section(`Versions (${versions.length})`, scrollable(table)),
      section(`Lineage of ${detail.name} v${chosen.version}`, graphBox, nodeDetail),
    );
    this._detail.dataset.floeShowing = `model:${detail.name}:${chosen.version}`;
    this._emitState();
  }

  private _versionRow(
    v: ModelVersion,
    metricNames: string[],
    lineage: ModelLineageResponse,
    chosen: number,
  ): HTMLTableRowElement {
    const tr = el('tr', v.version === chosen ? 'floe-mod-selected' : '');
    tr.dataset.floeVersion = String(v.version);
    tr.tabIndex = 0;
    tr.setAttribute('aria-selected', String(v.version === chosen));
    const aliases = el('td');
    for (const a of v.aliases) aliases.append(el('span', 'floe-Models-alias', `@${a}`));
    tr.append(el('td', 'floe-Models-version', `v${v.version}`), aliases, el('td', '', relativeTime(v.createdAt)));
    for (const m of metricNames) tr.append(el('td', 'floe-Models-metric', formatValue(v.metrics[m])));
    // The chosen version's run is named from its lineage; the others by id and experiment.
    const runText =
      v.version === chosen ? `#${lineage.run.id} ${lineage.run.name}` : `#${v.lineage.runId} (${v.lineage.experiment})`;
    const run = el('td', 'floe-Models-run', runText);
    run.title = runText;
    tr.append(run);
    const choose = (): void => {
      if (v.version === this._state.version) return;
      this._node = null;
      this._state.version = v.version;
      this._emitState();
      void this._guard(async () => {
        const model = this._state.model;
        if (model !== undefined) await this._renderModel(await fetchModel(model));
        this._detail.querySelector<HTMLElement>(`[data-floe-version="${v.version}"]`)?.focus();
      });
    };
    tr.addEventListener('click', choose);
    tr.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        choose();
      } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        event.preventDefault();
        const next = event.key === 'ArrowDown' ? tr.nextElementSibling : tr.previousElementSibling;
        (next as HTMLElement | null)?.focus();
      }
    });
    return tr;
  }

  private _nodeDetail(node: LineageNode, lineage: ModelLineageResponse): HTMLElement[] {
    const title = el('h4', 'floe-Models-nodeTitle', `${node.caption}: ${node.label}`);
    const { model, run, trainingDataset: td, featureGroupCommit: fc } = lineage;
    switch (node.kind) {
      case 'commit':
        return [
          title,
          keyValueTable([
            ['feature group', fc?.featureGroup],
            ['version', fc?.version],
            ['commit', fc?.commit],
            ['rows', fc?.rows],
            ['committed', relativeTime(fc?.committedAt ?? null)],
          ]),
        ];
      case 'dataset':
        return [
          title,
          keyValueTable([
            ['training dataset', td?.name],
            ['version', td?.version],
            ['frozen to commit', td?.commit],
            ...Object.entries(td?.splitCounts ?? {}).map(([k, n]): [string, unknown] => [`${k} rows`, n]),
          ]),
        ];
      case 'data':
        return [
          title,
          el(
            'p',
            'floe-Panel-hint floe-Models-hint',
            'This run trained on data that did not come from the feature store.',
          ),
        ];
      case 'run': {
        const parts: HTMLElement[] = [
          title,
          keyValueTable([
            ['run', run.id],
            ['experiment', run.experiment],
            ['status', run.status],
            ['started', relativeTime(run.startedAt)],
            ...Object.entries(flattenParams(run.params)).map(([k, v]): [string, unknown] => [`param ${k}`, v]),
          ]),
        ];
        if (this._options.openRun) {
          const open = el('button', 'floe-Models-openRun jp-mod-styled', 'Open in Experiments');
          open.type = 'button';
          open.addEventListener('click', () => this._options.openRun?.(run.experiment, run.id));
          parts.push(open);
        }
        return parts;
      }
      case 'model':
        return [
          title,
          ...(model.description ? [el('p', 'floe-Models-description', model.description)] : []),
          keyValueTable([
            ['aliases', model.aliases.length ? model.aliases.map((a) => `@${a}`).join(' ') : '—'],
            ['registered', relativeTime(model.createdAt)],
            ...Object.entries(model.metrics).map(([k, v]): [string, unknown] => [`metric ${k}`, v]),
            ...Object.entries(flattenParams(model.signature)).map(([k, v]): [string, unknown] => [`signature ${k}`, v]),
          ]),
        ];
      case 'deployment': {
        const d = this._deployments.find((x) => `deployment:${x.name}` === node.id);
        return [
          title,
          keyValueTable([
            ['status', d?.status],
            ['url', d?.url],
            ['requests (5 min)', d?.recentRequests],
            ['drift alerts (24 h)', d?.recentAlerts],
          ]),
        ];
      }
    }
  }

  // ---- a deployment: traffic and drift ----

  private _renderDeployment(detail: DeploymentDetailResponse): void {
    const d = detail.deployment;
    const head = el('header', 'floe-Models-header');
    head.append(
      el('h2', 'floe-Models-title', d.name),
      badge(d.status),
      el('span', 'floe-Models-meta', `${d.url} · ${d.host} pid ${d.pid} · as of ${relativeTime(detail.asOf)}`),
    );
    const parts: HTMLElement[] = [head];
    if (d.status === 'lost')
      parts.push(
        el(
          'p',
          'floe-Models-warning',
          `No heartbeat since ${relativeTime(d.heartbeatAt)}: the server stopped without closing.`,
        ),
      );

    const windows = el('table', 'floe-Panel-table floe-Models-windows');
    const wHead = el('tr');
    for (const h of ['window', 'requests', 'req/s', 'instances/s', 'p50 ms', 'p95 ms', 'p99 ms', 'mean batch'])
      wHead.append(Object.assign(el('th', '', h), { scope: 'col' }));
    const wBody = el('tbody');
    for (const w of detail.windows) {
      const tr = el('tr');
      tr.dataset.floeWindow = String(w.seconds);
      tr.append(
        el('th', '', w.seconds >= 60 ? `${w.seconds / 60} min` : `${w.seconds} s`),
        el('td', 'floe-Models-requests', String(w.requests)),
        el('td', '', formatValue(w.requestsPerSecond)),
        el('td', '', formatValue(w.instancesPerSecond)),
        el('td', 'floe-Models-p50', formatValue(w.latencyP50)),
        el('td', 'floe-Models-p95', formatValue(w.latencyP95)),
        el('td', 'floe-Models-p99', formatValue(w.latencyP99)),
        el('td', '', formatValue(w.meanBatchSize)),
      );
      wBody.append(tr);
    }
    const wThead = el('thead');
    wThead.append(wHead);
    windows.append(wThead, wBody);
    const traffic: HTMLElement[] = [windows];
    if (detail.sampled)
      traffic.push(
        el('p', 'floe-Panel-hint floe-Models-hint', 'Busy deployment: the newest 100,000 requests are shown.'),
      );
    const minutes = (start: string): number =>
      Math.round((new Date(start).getTime() - new Date(detail.asOf).getTime()) / 60_000);
    const withLatency = detail.series.filter((b) => b.latencyP95 !== null);
    const charts = el('div', 'floe-Models-charts');
    const latencyChart =
      withLatency.length >= 2
        ? lineChart(
            'latency, ms (p50, p95) per minute',
            [
              { label: 'p50', points: withLatency.map((b): [number, number] => [minutes(b.start), b.latencyP50!]) },
              { label: 'p95', points: withLatency.map((b): [number, number] => [minutes(b.start), b.latencyP95!]) },
            ],
            320,
            160,
          )
        : el(
            'p',
            'floe-Models-hint floe-Models-chartHint',
            'Latency per minute appears once two minutes have traffic (the table has the percentiles).',
          );
    charts.append(
      lineChart(
        'requests/s per minute (minutes before now)',
        [
          {
            label: 'req/s',
            points: detail.series.map((b): [number, number] => [minutes(b.start), b.requestsPerSecond]),
          },
        ],
        320,
        160,
      ),
      latencyChart,
    );
    traffic.push(charts);
    parts.push(section('Traffic', ...traffic));

    const served = el('table', 'floe-Panel-table floe-Models-served');
    const sHead = el('tr');
    for (const h of ['model', 'version', 'state', 'labels', 'requests (15 min)', 'drift'])
      sHead.append(Object.assign(el('th', '', h), { scope: 'col' }));
    const sBody = el('tbody');
    for (const s of d.served) {
      const tr = el('tr');
      tr.dataset.floeServed = `${s.model}:${s.version}`;
      const open = el('button', 'floe-Models-link', s.model);
      open.type = 'button';
      open.dataset.floeOpenModel = `${s.model}:${s.version}`;
      open.title = `Open ${s.model} v${s.version}`;
      open.addEventListener('click', () => void this.openModel(s.model, s.version));
      const name = el('td');
      name.append(open);
      const drift = el('td');
      const status = detail.drift.find((x) => x.model === s.model && x.version === s.version);
      drift.append(status ? badge(status.status) : el('span', 'floe-Panel-hint floe-Models-hint', 'not monitored'));
      tr.append(
        name,
        el('td', '', `v${s.version}`),
        el('td', '', s.error ? `${s.state}: ${s.error}` : s.state),
        el('td', '', s.labels.map((l) => `@${l}`).join(' ')),
        el(
          'td',
          '',
          String(detail.byVersion.find((b) => b.model === s.model && b.version === s.version)?.requests ?? 0),
        ),
        drift,
      );
      sBody.append(tr);
    }
    const sThead = el('thead');
    sThead.append(sHead);
    served.append(sThead, sBody);
    parts.push(section('Served versions', scrollable(served)));

    if (detail.alerts.length) {
      const alerts = el('table', 'floe-Panel-table floe-Models-alerts');
      const aHead = el('tr');
      for (const h of ['recorded', 'version', 'feature', 'metric', 'value', 'threshold', 'message'])
        aHead.append(Object.assign(el('th', '', h), { scope: 'col' }));
      const aBody = el('tbody');
      for (const a of detail.alerts) {
        const tr = el('tr');
        tr.dataset.floeAlert = String(a.id);
        tr.append(
          el('td', '', relativeTime(a.createdAt)),
          el('td', '', `${a.model} v${a.version}`),
          el('td', '', a.feature),
          el('td', '', a.metric),
          el('td', 'floe-Models-alertValue', formatValue(a.value)),
          el('td', '', formatValue(a.threshold)),
          el('td', 'floe-Models-alertMessage', a.message),
        );
        aBody.append(tr);
      }
      const aThead = el('thead');
      aThead.append(aHead);
      alerts.append(aThead, aBody);
      parts.push(section(`Drift alerts (${detail.alerts.length})`, scrollable(alerts)));
    } else {
      parts.push(
        section(
          'Drift alerts',
          el('p', 'floe-Panel-hint floe-Models-hint', 'No drift alerts recorded for these versions.'),
        ),
      );
    }

    const config = detail.config;
    parts.push(
      section(
        'Configuration',
        keyValueTable([
          ['models', config.models ? config.models.join(', ') : 'every registered model'],
          ['versions', config.versionPolicy === 'all' ? 'every version' : 'latest and aliased'],
          [
            'batching',
            config.batching
              ? `up to ${config.batching.maxBatchSize} instances, wait ${config.batching.maxWaitUs} µs`
              : 'off',
          ],
          ['request log', config.requestLog ? 'on' : 'off'],
          ...(config.execution ? [['execution', describeExecution(config.execution)] as [string, unknown]] : []),
          ['started', relativeTime(d.startedAt)],
          ['last heartbeat', relativeTime(d.heartbeatAt)],
          ['stopped', relativeTime(d.stoppedAt)],
          ['earlier starts', detail.history.length],
        ]),
      ),
    );
    replaceKeepingFocus(this._detail, ...parts);
    this._detail.dataset.floeShowing = `deployment:${d.name}`;
  }

  // ---- failures and live updates ----

  /** Runs `work`, turning a failure into the banner (the hub down, a bad answer) instead of an exception. */
  private _guard(work: () => Promise<void>): Promise<void> {
    return this._hubFailure.guard(work);
  }

  private _onStoreChanged(counters: ServingChangeCounters): void {
    const last = this._counters;
    this._counters = counters;
    if (!last) return;
    if (this._hubFailure.failed) {
      void this.refresh();
      return;
    }
    // Registrations, alias moves and deployment starts and stops are audited; traffic moves `serving`.
    const audit = last.audit !== counters.audit;
    const serving = last.serving !== counters.serving;
    if (!audit && !serving) return;
    void this._guard(async () => {
      await this._loadNav();
      if (this._state.deployment !== undefined || audit) await this._showCurrent();
    });
  }

  private readonly _options: ModelsPanelOptions;
  private readonly _nav: Widget;
  private readonly _hubFailure: HubFailureBanner;
  private readonly _detail: HTMLElement;
  private readonly _events: IDisposable;
  private _deployments: DeploymentSummary[] = [];
  /** The lineage node whose details are shown. */
  private _node: string | null = null;
  private _counters: ServingChangeCounters | null = null;
}

/**
 * Replaces `container`'s children, keeping keyboard focus on the equivalent element (same tag and
 * `data-floe-*` attributes) when it was inside: live refreshes must not throw a keyboard user out.
 */
function replaceKeepingFocus(container: HTMLElement, ...children: HTMLElement[]): void {
  const active = document.activeElement;
  let selector: string | null = null;
  if (active instanceof Element && container.contains(active)) {
    const attrs = [...active.attributes].filter((a) => a.name.startsWith('data-floe-'));
    if (attrs.length)
      selector = `${active.tagName.toLowerCase()}${attrs.map((a) => `[${a.name}="${CSS.escape(a.value)}"]`).join('')}`;
  }
  container.replaceChildren(...children);
  if (selector) container.querySelector<HTMLElement | SVGElement>(selector)?.focus();
}

/** A wide table scrolls sideways in its own box instead of squeezing its columns to a letter. */
function scrollable(table: HTMLTableElement): HTMLElement {
  const box = el('div', 'floe-Models-tableScroll');
  box.append(table);
  return box;
}

function section(title: string, ...content: HTMLElement[]): HTMLElement {
  const node = el('section', 'floe-Models-section');
  node.append(el('h3', 'floe-Models-sectionTitle', title), ...content);
  return node;
}

/** "predict thread, 1 intra-op thread, oneDNN on": how a deployment ran its models. */
function describeExecution(e: NonNullable<DeploymentConfig['execution']>): string {
  const threads =
    e.intraOpThreads === null
      ? 'default intra-op threads'
      : `${e.intraOpThreads} intra-op thread${e.intraOpThreads === 1 ? '' : 's'}`;
  const onednn = e.onednn === null ? 'oneDNN default' : `oneDNN ${e.onednn ? 'on' : 'off'}`;
  return `${e.predictThread ? 'predict thread' : 'on the event loop'}, ${threads}, ${onednn}`;
}
