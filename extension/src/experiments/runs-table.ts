import type { RunListQuery, RunListResponse, RunRow } from '@floe/schema';
import type { Message } from '@lumino/messaging';
import { Signal, type ISignal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';
import { el, formatValue, relativeTime, shortTime } from './dom';

/** Rows are fetched from the hub in pages of this many, only for the part of the table in view. */
const PAGE = 100;
/** Fixed row height (px): the table positions rows by index, so scrolling never measures anything. */
export const ROW_HEIGHT = 28;
const OVERSCAN = 8;

/**
 * What the table asks the hub for; `parent: 'none'` hides the trials of searches (child runs), a run id
 * shows only that run's children (a search's trials).
 */
export interface RunsQuery {
  sort: string;
  dir: 'asc' | 'desc';
  filter: string;
  status?: string;
  parent?: 'none' | number;
}

export type RunPageFetcher = (query: Partial<RunListQuery>, signal: AbortSignal) => Promise<RunListResponse>;

/**
 * A column of the table. Its cells are made once per pooled row (`create`) and then refilled with
 * whichever run the row shows (`fill`), so scrolling only changes text and attributes.
 */
interface Column {
  key: string;
  label: string;
  /** `sort` parameter for the hub; absent for columns that are not sortable. */
  sort?: string;
  create(): HTMLElement;
  fill(cell: HTMLElement, run: RunRow): void;
}

/** A row node of the pool and what it shows now (so a row still showing the same run is left alone). */
interface PooledRow {
  node: HTMLDivElement;
  cells: HTMLElement[];
  index: number;
  /** The run shown; null: a placeholder (its page is on its way); undefined: nothing yet (new or hidden). */
  run: RunRow | null | undefined;
  active: boolean;
  checked: boolean;
}

/** Sets a text cell's text and tooltip, touching the DOM only when they change. */
function setText(cell: HTMLElement, text: string): void {
  if (cell.textContent === text) return;
  cell.textContent = text;
  cell.title = text;
}

function textColumn(key: string, label: string, sort: string | undefined, text: (run: RunRow) => string): Column {
  return {
    key,
    label,
    ...(sort ? { sort } : {}),
    create: () => el('div'),
    fill: (cell, run) => setText(cell, text(run)),
  };
}

/**
 * The runs table, virtualized: a spacer as tall as all matching runs and, over it, only the rows in view
 * (plus a few), fetched page by page from the hub, which filters and sorts in SQL. 5,000 runs cost the
 * same DOM and the same first request as 10.
 *
 * Rows come from a fixed pool of nodes: row `i` always lands in slot `i % pool size`, so a scroll
 * refills only the slots of rows that came into view (text and attributes set in place, moved by a
 * transform) and leaves the others alone. Each frame reads the scroll position once, before it writes.
 */
export class RunsTable extends Widget {
  constructor(fetchPage: RunPageFetcher) {
    super();
    this._fetchPage = fetchPage;
    this.addClass('floe-RunsTable');
    this._viewport = el('div', 'floe-RunsTable-viewport');
    this._viewport.tabIndex = 0;
    this._viewport.setAttribute('role', 'grid');
    this._viewport.setAttribute('aria-label', 'Runs');
    // The header scrolls sideways with the rows (a narrow panel keeps every column readable) and
    // sticks to the top while they scroll down.
    this._header = el('div', 'floe-RunsTable-header');
    this._header.setAttribute('role', 'row');
    this._header.setAttribute('aria-rowindex', '1');
    this._spacer = el('div', 'floe-RunsTable-spacer');
    this._rows = el('div', 'floe-RunsTable-rows');
    this._rows.setAttribute('role', 'rowgroup');
    this._spacer.append(this._rows);
    this._viewport.append(this._header, this._spacer);
    this._empty = el('div', 'floe-RunsTable-empty');
    this.node.append(this._viewport, this._empty);
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
    if (this._frame) cancelAnimationFrame(this._frame);
    this._viewport.removeEventListener('scroll', this._onScroll);
    this._viewport.removeEventListener('keydown', this._onKey);
    this._viewport.removeEventListener('click', this._onClick);
    Signal.clearData(this);
    super.dispose();
  }

  /** Shows another query (experiment switched, sort or filter changed): back to the top, pages refetched. */
  reset(query: Partial<RunsQuery> = {}): Promise<void> {
    this._started = true;
    this._clearedText = null;
    this._query = { ...this._query, ...query };
    // `parent: undefined` in `query` clears it (all runs again).
    if ('parent' in query && query.parent === undefined) delete this._query.parent;
    this._compare.clear();
    this._compareChanged.emit([]);
    this._viewport.scrollTop = 0;
    return this.reload();
  }

  /** Shows no runs and `message` instead (nothing to list), until the next `reset`. */
  clear(message: string): void {
    this._started = false;
    this._generation++;
    this._abort?.abort();
    this._pages.clear();
    this._loading.clear();
    this._total = 0;
    this._compare.clear();
    this._compareChanged.emit([]);
    this._clearedText = message;
    this._paint();
    this._rendered.emit({ total: 0 });
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
    this._viewHeight = this._viewport.clientHeight;
    this._paint();
  }

  protected override onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    // The only place the viewport is measured: scrolling then reads nothing but scrollTop.
    this._viewHeight = this._viewport.clientHeight;
    this._fetchInView();
  }

  /** Fetches rows brought into view by a scroll or resize; nothing before the first query (`reset`). */
  private _fetchInView(range?: [number, number]): void {
    if (!this._started) return;
    this._ensurePages(range).catch((err: unknown) => this._loadFailed.emit(err as Error));
  }

  /** The rows in view plus the overscan; `scrollTop` is the one layout read of a frame. */
  private _visibleRange(): [number, number] {
    const top = this._viewport.scrollTop;
    // The sticky header (one row high) covers the top of the rows' area.
    const height = (this._viewHeight || 600) - ROW_HEIGHT;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(this._total, Math.ceil((top + height) / ROW_HEIGHT) + OVERSCAN);
    return [first, Math.max(first, last)];
  }

  /** Fetches the pages covering the rows in view (page 0 first, which also gives the total). */
  private async _ensurePages(range?: [number, number]): Promise<void> {
    const generation = this._generation;
    const signal = this._abort?.signal ?? new AbortController().signal;
    const wanted = new Set<number>();
    if (!this._pages.size && !this._loading.size) wanted.add(0);
    const [first, last] = range ?? this._visibleRange();
    for (let p = Math.floor(first / PAGE); p * PAGE < last; p++) wanted.add(p);
    // One page beyond the view on each side, so a steady scroll finds its rows already there.
    if (this._pages.size) {
      const ahead = Math.floor(Math.max(0, last - 1) / PAGE) + 1;
      if (ahead * PAGE < this._total) wanted.add(ahead);
      if (first >= PAGE) wanted.add(Math.floor(first / PAGE) - 1);
    }
    const missing = [...wanted].filter((p) => !this._pages.has(p) && !this._loading.has(p));
    if (!missing.length) {
      if (!range) this._paint();
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
      { key: 'compare', label: '', create: () => this._compareBox(), fill: (cell, r) => this._fillCompareBox(cell, r) },
      textColumn('id', '#', 'id', (r) => String(r.id)),
      { key: 'name', label: 'Run', sort: 'name', create: () => el('div'), fill: (cell, r) => fillName(cell, r) },
      {
        key: 'status',
        label: 'Status',
        sort: 'status',
        create: () => el('div'),
        fill: (cell, r) => fillStatus(cell, r),
      },
      textColumn('epochs', 'Epochs', 'epochs', (r) => String(r.epochsCompleted)),
      ...names.map((n) => textColumn(`metric:${n}`, n, `metric:${n}`, (r) => formatValue(r.summary[n]))),
      {
        key: 'started',
        label: 'Started',
        sort: 'started',
        create: () => el('div'),
        fill: (cell, r) => {
          const text = shortTime(r.startedAt);
          if (cell.textContent === text) return;
          cell.textContent = text;
          cell.title = relativeTime(r.startedAt);
        },
      },
    ];
    // A metric column is at least as wide as its name in the header (~8.5 px a bold character).
    const metricWidths = names.map((n) => Math.max(80, Math.ceil(n.length * 8.5) + 20));
    const widths = [28, 48, 140, 88, 64, ...metricWidths, 136];
    this.node.style.setProperty(
      '--floe-runs-columns',
      `28px 48px minmax(140px, 2fr) 88px 64px ${metricWidths.map((w) => `minmax(${w}px, 1fr) `).join('')}136px`,
    );
    this.node.style.setProperty('--floe-runs-min-width', `${widths.reduce((a, b) => a + b, 0)}px`);
    this._header.replaceChildren(
      ...this._columns.map((c) => {
        // Not the cells' column class: tests and styles find a run's cells by it, never the header.
        const numeric = ['id', 'epochs', 'metric'].includes(columnClass(c.key));
        const cell = el('div', `floe-RunsTable-cell floe-RunsTable-headerCell${numeric ? ' floe-mod-numeric' : ''}`);
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
    // New columns: the pooled rows are rebuilt with cells for them on the next paint.
    this._pool = [];
    this._rows.replaceChildren();
  }

  private _compareBox(): HTMLElement {
    const box = el('input', 'floe-RunsTable-compareBox');
    box.type = 'checkbox';
    box.title = 'Compare this run';
    return box;
  }

  private _fillCompareBox(cell: HTMLElement, run: RunRow): void {
    const box = cell as HTMLInputElement;
    box.checked = this._compare.has(run.id);
    const id = String(run.id);
    if (box.dataset.floeRunId === id) return;
    box.dataset.floeRunId = id;
    box.setAttribute('aria-label', `Compare run ${id}`);
  }

  /** A pooled row with one cell per column, made once and refilled as the table scrolls. */
  private _newRow(): PooledRow {
    const node = el('div', 'floe-RunsTable-row');
    node.setAttribute('role', 'row');
    const cells = this._columns.map((c) => {
      const content = c.create();
      const cell = c.key === 'compare' ? el('div') : content;
      cell.className = `floe-RunsTable-cell floe-RunsTable-${columnClass(c.key)}`;
      cell.setAttribute('role', 'gridcell');
      if (c.key === 'compare') cell.append(content);
      node.append(cell);
      return content;
    });
    this._rows.append(node);
    return { node, cells, index: -1, run: undefined, active: false, checked: false };
  }

  /** Draws the rows in view from the fetched pages (placeholders where a page is still on its way). */
  private _paint(range = this._visibleRange()): void {
    if (this._total !== this._spacerTotal) {
      this._spacerTotal = this._total;
      this._spacer.style.height = `${this._total * ROW_HEIGHT}px`;
    }
    const empty = this._clearedText ?? (this._total === 0 && this._pages.size ? 'No runs match.' : '');
    if (this._empty.textContent !== empty) this._empty.textContent = empty;
    if (!this._columns.length) return;
    const [first, last] = range;
    // The pool only grows (a taller view); a slot's row index is fixed by `index % size`.
    const needed = last - first;
    if (needed > this._pool.length) {
      const size = needed + OVERSCAN;
      while (this._pool.length < size) this._pool.push(this._newRow());
      for (const row of this._pool) row.index = -1;
    }
    const size = this._pool.length;
    const shown = new Set<number>();
    for (let i = first; i < last; i++) {
      const slot = i % size;
      shown.add(slot);
      this._fillRow(this._pool[slot]!, i);
    }
    for (let slot = 0; slot < size; slot++) if (!shown.has(slot)) this._hideRow(this._pool[slot]!);
  }

  private _fillRow(row: PooledRow, index: number): void {
    const run = this._rowAt(index) ?? null;
    const active = run !== null && run.id === this._activeId;
    const checked = run !== null && this._compare.has(run.id);
    if (row.index === index && row.run === run && row.active === active && row.checked === checked) return;
    const { node } = row;
    if (row.index !== index) {
      node.style.transform = `translateY(${index * ROW_HEIGHT}px)`;
      node.dataset.floeIndex = String(index);
      // Header is row 1: screen readers get the visual order, whatever the pool slot.
      node.setAttribute('aria-rowindex', String(index + 2));
    }
    if (row.index < 0 || node.hidden) node.hidden = false;
    if (row.active !== active) node.classList.toggle('floe-mod-active', active);
    if (run === null) {
      if (row.run !== null) {
        node.classList.add('floe-mod-loading');
        this._clearRow(row, '…');
      }
    } else {
      if (!row.run) node.classList.remove('floe-mod-loading');
      if (row.run !== run) node.dataset.floeRunId = String(run.id);
      this._columns.forEach((c, i) => c.fill(row.cells[i]!, run));
    }
    row.index = index;
    row.run = run;
    row.active = active;
    row.checked = checked;
  }

  private _hideRow(row: PooledRow): void {
    if (row.node.hidden && row.index === -1) return;
    row.node.hidden = true;
    row.node.classList.remove('floe-mod-loading');
    this._clearRow(row, '');
    row.index = -1;
    row.run = undefined;
  }

  /** Empties a row's cells (a hidden slot keeps no run's name, status or nesting marks). */
  private _clearRow(row: PooledRow, name: string): void {
    delete row.node.dataset.floeRunId;
    row.cells.forEach((cell, c) => {
      const key = this._columns[c]!.key;
      if (key === 'compare') {
        (cell as HTMLInputElement).checked = false;
        delete cell.dataset.floeRunId;
      } else cell.textContent = key === 'name' ? name : '';
    });
  }

  private _onScroll = (): void => {
    if (this._frame) return;
    this._frame = requestAnimationFrame(() => {
      this._frame = 0;
      const range = this._visibleRange();
      this._paint(range);
      this._fetchInView(range);
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
    // Enter on a sort button is the button's.
    if ((event.target as HTMLElement).closest('.floe-RunsTable-header')) return;
    event.preventDefault();
    let index = 0;
    for (const [p, runs] of this._pages) {
      const at = runs.findIndex((r) => r.id === this._activeId);
      if (at >= 0) index = p * PAGE + at;
    }
    if (event.key === 'ArrowDown') index = Math.min(this._total - 1, index + (this._activeId === null ? 0 : 1));
    if (event.key === 'ArrowUp') index = Math.max(0, index - 1);
    // Row i sits one header height below scroll position i × row height.
    const top = index * ROW_HEIGHT;
    const rowsHeight = this._viewHeight - ROW_HEIGHT;
    if (top < this._viewport.scrollTop) this._viewport.scrollTop = top;
    else if (top + ROW_HEIGHT > this._viewport.scrollTop + rowsHeight)
      this._viewport.scrollTop = top + ROW_HEIGHT - rowsHeight;
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
  private _pool: PooledRow[] = [];
  private _pages = new Map<number, RunRow[]>();
  private _loading = new Set<number>();
  private _total = 0;
  private _spacerTotal = -1;
  private _viewHeight = 0;
  private _generation = 0;
  private _abort: AbortController | null = null;
  private _frame = 0;
  private _activeId: number | null = null;
  private _compare = new Set<number>();
  private _runActivated = new Signal<this, RunRow>(this);
  private _compareChanged = new Signal<this, number[]>(this);
  private _started = false;
  /** What an emptied table says (`clear`), until the next query. */
  private _clearedText: string | null = null;
  private _loadFailed = new Signal<this, Error>(this);
  private _rendered = new Signal<this, { total: number }>(this);
}

/** The class suffix of a column's cells (`floe-RunsTable-metric` for every metric). */
function columnClass(key: string): string {
  return key.startsWith('metric:') ? 'metric' : key;
}

/**
 * The run's name as text; nesting is drawn by CSS from data attributes (a child run indented with an
 * arrow, a parent with its trial count), so the cell's text stays the name.
 */
function fillName(cell: HTMLElement, run: RunRow): void {
  let name = cell.firstElementChild as HTMLElement | null;
  if (!name) {
    name = el('span', 'floe-RunsTable-runName');
    cell.append(name);
  }
  if (name.textContent !== run.name) name.textContent = run.name;
  name.title = run.parentRunId === null ? run.name : `${run.name} (child of run ${run.parentRunId})`;
  if (run.parentRunId !== null) name.dataset.floeParent = String(run.parentRunId);
  else delete name.dataset.floeParent;
  if (run.children > 0) name.dataset.floeChildren = `${run.children} trial${run.children === 1 ? '' : 's'}`;
  else delete name.dataset.floeChildren;
}

/** A status badge (`finished`, `failed`, …) refilled in place; styled by its value like `badge()`. */
function fillStatus(cell: HTMLElement, run: RunRow): void {
  let node = cell.firstElementChild as HTMLElement | null;
  if (!node) {
    node = el('span');
    cell.append(node);
  }
  if (node.dataset.floeStatus === run.status) return;
  node.className = `floe-Badge floe-Badge-${run.status.replace(/[^a-z]/g, '')}`;
  node.textContent = run.status;
  node.dataset.floeStatus = run.status;
}
