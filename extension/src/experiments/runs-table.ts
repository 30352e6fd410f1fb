import type { RunListQuery, RunListResponse, RunRow } from '@floe/schema';
import type { Message } from '@lumino/messaging';
import { Signal, type ISignal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';
import { badge, el, formatValue, relativeTime } from './dom';

/** Rows are fetched from the hub in pages of this many, only for the part of the table in view. */
const PAGE = 100;
/** Fixed row height (px): the table positions rows by index, so scrolling never measures anything. */
export const ROW_HEIGHT = 28;
const OVERSCAN = 8;

/** What the table asks the hub for; `parent: 'none'` hides the trials of searches (child runs). */
export interface RunsQuery {
  sort: string;
  dir: 'asc' | 'desc';
  filter: string;
  status?: string;
  parent?: 'none';
}

export type RunPageFetcher = (query: Partial<RunListQuery>, signal: AbortSignal) => Promise<RunListResponse>;

interface Column {
  key: string;
  label: string;
  /** `sort` parameter for the hub; absent for columns that are not sortable. */
  sort?: string;
  cell(run: RunRow): HTMLElement | string;
}

/**
 * The runs table, virtualized: a spacer as tall as all matching runs and, over it, only the rows in view
 * (plus a few), fetched page by page from the hub, which filters and sorts in SQL. 5,000 runs cost the
 * same DOM and the same first request as 10.
 */
export class RunsTable extends Widget {
  constructor(fetchPage: RunPageFetcher) {
    super();
    this._fetchPage = fetchPage;
    this.addClass('floe-RunsTable');
    this._header = el('div', 'floe-RunsTable-header');
    this._header.setAttribute('role', 'row');
    this._viewport = el('div', 'floe-RunsTable-viewport');
    this._viewport.tabIndex = 0;
    this._viewport.setAttribute('role', 'grid');
    this._viewport.setAttribute('aria-label', 'Runs');
    this._spacer = el('div', 'floe-RunsTable-spacer');
    this._rows = el('div', 'floe-RunsTable-rows');
    this._spacer.append(this._rows);
    this._viewport.append(this._spacer);
    this._empty = el('div', 'floe-RunsTable-empty');
    this.node.append(this._header, this._viewport, this._empty);
    this._viewport.addEventListener('scroll', this._onScroll, { passive: true });
    this._viewport.addEventListener('keydown', this._onKey);
    this._viewport.addEventListener('click', this._onClick);
  }

  /** Emits the run the user opened (click or Enter). */
  get runActivated(): ISignal<this, RunRow> {
    return this._runActivated;
  }

  /** Emits the ids ticked for comparison. */
  get compareChanged(): ISignal<this, number[]> {
    return this._compareChanged;
  }

  /** Emits when fetching rows for a scroll or resize fails (reset/reload reject instead). */
  get loadFailed(): ISignal<this, Error> {
    return this._loadFailed;
  }

  /** Emits after each render of freshly fetched rows (the benchmark and tests wait on it). */
  get rendered(): ISignal<this, { total: number }> {
    return this._rendered;
  }

  get total(): number {
    return this._total;
  }

  get query(): RunsQuery {
    return { ...this._query };
  }

  get compared(): number[] {
    return [...this._compare];
  }

  get activeRunId(): number | null {
    return this._activeId;
  }

  set activeRunId(id: number | null) {
    this._activeId = id;
    this._paint();
  }

  override dispose(): void {
    if (this.isDisposed) return;
    this._abort?.abort();
    this._viewport.removeEventListener('scroll', this._onScroll);
    this._viewport.removeEventListener('keydown', this._onKey);
    this._viewport.removeEventListener('click', this._onClick);
    Signal.clearData(this);
    super.dispose();
  }

  /** Shows another query (experiment switched, sort or filter changed): back to the top, pages refetched. */
  reset(query: Partial<RunsQuery> = {}): Promise<void> {
    this._started = true;
    this._query = { ...this._query, ...query };
    this._compare.clear();
    this._compareChanged.emit([]);
    this._viewport.scrollTop = 0;
    return this.reload();
  }

  /** Refetches what is in view, keeping the scroll position (live updates). */
  async reload(): Promise<void> {
    this._generation++;
    this._pages.clear();
    this._loading.clear();
    this._abort?.abort();
    this._abort = new AbortController();
    await this._ensurePages();
  }

  protected override onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this._paint();
  }

  protected override onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    this._fetchInView();
  }

  /** Fetches rows brought into view by a scroll or resize; nothing before the first query (`reset`). */
  private _fetchInView(): void {
    if (!this._started) return;
    this._ensurePages().catch((err: unknown) => this._loadFailed.emit(err as Error));
  }

  private _visibleRange(): [number, number] {
    const height = this._viewport.clientHeight || 600;
    const first = Math.max(0, Math.floor(this._viewport.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(this._total, Math.ceil((this._viewport.scrollTop + height) / ROW_HEIGHT) + OVERSCAN);
    return [first, Math.max(first, last)];
  }

  /** Fetches the pages covering the rows in view (page 0 first, which also gives the total). */
  private async _ensurePages(): Promise<void> {
    const generation = this._generation;
    const signal = this._abort?.signal ?? new AbortController().signal;
    const wanted = new Set<number>();
    if (!this._pages.size && !this._loading.size) wanted.add(0);
    const [first, last] = this._visibleRange();
    for (let p = Math.floor(first / PAGE); p * PAGE < last; p++) wanted.add(p);
    // One page beyond the view on each side, so a steady scroll finds its rows already there.
    if (this._pages.size) {
      const ahead = Math.floor(Math.max(0, last - 1) / PAGE) + 1;
      if (ahead * PAGE < this._total) wanted.add(ahead);
      if (first >= PAGE) wanted.add(Math.floor(first / PAGE) - 1);
    }
    const missing = [...wanted].filter((p) => !this._pages.has(p) && !this._loading.has(p));
    if (!missing.length) {
      this._paint();
      return;
    }
    await Promise.all(
      missing.map(async (p) => {
        this._loading.add(p);
        try {
          const page = await this._fetchPage(
            { ...this._query, offset: p * PAGE, limit: PAGE } as Partial<RunListQuery>,
            signal,
          );
          if (generation !== this._generation) return;
          this._total = page.total;
          this._pages.set(p, page.runs);
          if (p === 0) this._setColumns(page.runs);
          // Each page is drawn as it arrives, not when the slowest of them has.
          this._loading.delete(p);
          this._paint();
          this._rendered.emit({ total: this._total });
        } catch (err) {
          // A request overtaken by a newer query (and aborted) is no failure.
          if (generation !== this._generation) return;
          throw err;
        } finally {
          if (generation === this._generation) this._loading.delete(p);
        }
      }),
    );
    if (generation !== this._generation) return;
    // Scrolling while the pages loaded may have moved the view onto pages not fetched yet.
    const [f2, l2] = this._visibleRange();
    for (let p = Math.floor(f2 / PAGE); p * PAGE < l2; p++) if (!this._pages.has(p)) return this._ensurePages();
  }

  private _rowAt(index: number): RunRow | undefined {
    return this._pages.get(Math.floor(index / PAGE))?.[index % PAGE];
  }

  /** Metric columns come from the first page's summaries (up to four, `val_*` first). */
  private _setColumns(runs: RunRow[]): void {
    const names = [...new Set(runs.flatMap((r) => Object.keys(r.summary)))]
      .sort((a, b) => Number(b.startsWith('val')) - Number(a.startsWith('val')) || a.localeCompare(b))
      .slice(0, 4);
    if (names.join('\n') === this._metricNames.join('\n') && this._header.childElementCount) return;
    this._metricNames = names;
    this._columns = [
      { key: 'compare', label: '', cell: (r) => this._compareBox(r) },
      { key: 'id', label: '#', sort: 'id', cell: (r) => String(r.id) },
      { key: 'name', label: 'Run', sort: 'name', cell: (r) => this._nameCell(r) },
      { key: 'status', label: 'Status', sort: 'status', cell: (r) => badge(r.status) },
      { key: 'epochs', label: 'Epochs', sort: 'epochs', cell: (r) => String(r.epochsCompleted) },
      ...names.map((n) => ({
        key: `metric:${n}`,
        label: n,
        sort: `metric:${n}`,
        cell: (r: RunRow) => formatValue(r.summary[n]),
      })),
      { key: 'started', label: 'Started', sort: 'started', cell: (r) => relativeTime(r.startedAt) },
    ];
    this.node.style.setProperty(
      '--floe-runs-columns',
      `28px 56px minmax(160px, 2fr) 96px 64px ${'minmax(80px, 1fr) '.repeat(names.length)}160px`,
    );
    this._header.replaceChildren(
      ...this._columns.map((c) => {
        const cell = el('div', 'floe-RunsTable-cell floe-RunsTable-headerCell');
        cell.setAttribute('role', 'columnheader');
        if (!c.sort) return cell;
        const button = el('button', 'floe-RunsTable-sort', c.label);
        button.type = 'button';
        button.title = `Sort by ${c.label}`;
        button.dataset.floeSort = c.sort;
        const active = this._query.sort === c.sort;
        cell.setAttribute('aria-sort', active ? (this._query.dir === 'asc' ? 'ascending' : 'descending') : 'none');
        if (active) button.append(el('span', 'floe-RunsTable-arrow', this._query.dir === 'asc' ? ' ▲' : ' ▼'));
        button.addEventListener('click', () => {
          const dir = this._query.sort === c.sort && this._query.dir === 'desc' ? 'asc' : 'desc';
          this._query = { ...this._query, sort: c.sort!, dir };
          this._metricNames = []; // redraw the header arrows
          void this.reset();
        });
        cell.append(button);
        return cell;
      }),
    );
  }

  /**
   * The run's name as text; nesting is drawn by CSS from data attributes (a child run indented with an
   * arrow, a parent with its trial count), so the cell's text stays the name.
   */
  private _nameCell(run: RunRow): HTMLElement {
    const name = el('span', 'floe-RunsTable-runName', run.name);
    name.title = run.parentRunId === null ? run.name : `${run.name} (child of run ${run.parentRunId})`;
    if (run.parentRunId !== null) name.dataset.floeParent = String(run.parentRunId);
    if (run.children > 0) name.dataset.floeChildren = `${run.children} trial${run.children === 1 ? '' : 's'}`;
    return name;
  }

  private _compareBox(run: RunRow): HTMLElement {
    const box = el('input', 'floe-RunsTable-compareBox');
    box.type = 'checkbox';
    box.checked = this._compare.has(run.id);
    box.title = 'Compare this run';
    box.setAttribute('aria-label', `Compare run ${run.id}`);
    box.dataset.floeRunId = String(run.id);
    return box;
  }

  /** Draws the rows in view from the fetched pages (placeholders where a page is still on its way). */
  private _paint(): void {
    this._spacer.style.height = `${this._total * ROW_HEIGHT}px`;
    this._empty.textContent = this._total === 0 && this._pages.size ? 'No runs match.' : '';
    const [first, last] = this._visibleRange();
    const rows: HTMLElement[] = [];
    for (let i = first; i < last; i++) {
      const run = this._rowAt(i);
      const row = el('div', 'floe-RunsTable-row');
      row.setAttribute('role', 'row');
      row.style.transform = `translateY(${i * ROW_HEIGHT}px)`;
      row.dataset.floeIndex = String(i);
      if (!run) {
        row.classList.add('floe-mod-loading');
        row.append(el('div', 'floe-RunsTable-cell', '…'));
      } else {
        row.dataset.floeRunId = String(run.id);
        if (run.id === this._activeId) row.classList.add('floe-mod-active');
        for (const c of this._columns) {
          const cell = el(
            'div',
            `floe-RunsTable-cell floe-RunsTable-${c.key.startsWith('metric:') ? 'metric' : c.key}`,
          );
          cell.setAttribute('role', 'gridcell');
          const content = c.cell(run);
          if (typeof content === 'string') {
            cell.textContent = content;
            cell.title = content;
          } else cell.append(content);
          row.append(cell);
        }
      }
      rows.push(row);
    }
    this._rows.replaceChildren(...rows);
  }

  private _onScroll = (): void => {
    if (this._frame) return;
    this._frame = requestAnimationFrame(() => {
      this._frame = 0;
      this._paint();
      this._fetchInView();
    });
  };

  private _onClick = (event: MouseEvent): void => {
    const target = event.target as HTMLElement;
    const row = target.closest<HTMLElement>('.floe-RunsTable-row');
    const run = row ? this._rowAt(Number(row.dataset.floeIndex)) : undefined;
    if (!run) return;
    if (target instanceof HTMLInputElement && target.type === 'checkbox') {
      if (target.checked) this._compare.add(run.id);
      else this._compare.delete(run.id);
      this._compareChanged.emit([...this._compare]);
      return;
    }
    this._open(run);
  };

  private _onKey = (event: KeyboardEvent): void => {
    if (!['ArrowDown', 'ArrowUp', 'Enter'].includes(event.key) || !this._total) return;
    event.preventDefault();
    let index = 0;
    for (const [p, runs] of this._pages) {
      const at = runs.findIndex((r) => r.id === this._activeId);
      if (at >= 0) index = p * PAGE + at;
    }
    if (event.key === 'ArrowDown') index = Math.min(this._total - 1, index + (this._activeId === null ? 0 : 1));
    if (event.key === 'ArrowUp') index = Math.max(0, index - 1);
    const top = index * ROW_HEIGHT;
    if (top < this._viewport.scrollTop) this._viewport.scrollTop = top;
    else if (top + ROW_HEIGHT > this._viewport.scrollTop + this._viewport.clientHeight)
      this._viewport.scrollTop = top + ROW_HEIGHT - this._viewport.clientHeight;
    const run = this._rowAt(index);
    if (run) this._open(run);
  };

  private _open(run: RunRow): void {
    this._activeId = run.id;
    this._paint();
    this._runActivated.emit(run);
  }

  private readonly _fetchPage: RunPageFetcher;
  private readonly _header: HTMLDivElement;
  private readonly _viewport: HTMLDivElement;
  private readonly _spacer: HTMLDivElement;
  private readonly _rows: HTMLDivElement;
  private readonly _empty: HTMLDivElement;
  private _query: RunsQuery = {
    sort: 'started',
    dir: 'desc',
    filter: '',
  };
  private _columns: Column[] = [];
  private _metricNames: string[] = [];
  private _pages = new Map<number, RunRow[]>();
  private _loading = new Set<number>();
  private _total = 0;
  private _generation = 0;
  private _abort: AbortController | null = null;
  private _frame = 0;
  private _activeId: number | null = null;
  private _compare = new Set<number>();
  private _runActivated = new Signal<this, RunRow>(this);
  private _compareChanged = new Signal<this, number[]>(this);
  private _started = false;
  private _loadFailed = new Signal<this, Error>(this);
  private _rendered = new Signal<this, { total: number }>(this);
}
