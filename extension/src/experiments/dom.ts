/**
 * Small DOM helpers for the Floe panels. Everything from the store (names, params, messages) goes in as
 * text (`textContent`), never as HTML, so a run named `<img onerror=…>` shows those characters.
 */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className = '',
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A status badge (`running`, `finished`, `failed`, `stopped`, …) styled by its value. */
export function badge(status: string): HTMLSpanElement {
  const node = el('span', `floe-Badge floe-Badge-${status.replace(/[^a-z]/g, '')}`, status);
  node.dataset.floeStatus = status;
  return node;
}

/** A short, stable text form of a param or metric value. */
export function formatValue(value: unknown): string {
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toPrecision(4);
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '—';
  return JSON.stringify(value);
}

/** Flattens nested params to dotted names (`optimizer.lr`), as the params diff compares them. */
export function flattenParams(value: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flattenParams(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out[prefix] = value;
  }
  return out;
}

/** A two-column table of name → value rows. */
export function keyValueTable(rows: [string, unknown][], className = 'floe-KeyValue'): HTMLTableElement {
  const table = el('table', `floe-Panel-table ${className}`);
  const body = el('tbody');
  for (const [k, v] of rows) {
    const tr = el('tr');
    tr.append(el('th', '', k), el('td', '', formatValue(v)));
    body.append(tr);
  }
  table.append(body);
  return table;
}

/**
 * One formatter for every timestamp: `Date.toLocaleString()` builds a new formatter per call, which
 * cost milliseconds per frame when the runs table redraws its rows while scrolling.
 */
const DATE_TIME = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'numeric',
  day: 'numeric',
  hour: 'numeric',
  minute: 'numeric',
  second: 'numeric',
});

export function relativeTime(iso: string | null): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : DATE_TIME.format(d);
}

/**
 * A compact local time (`2026-11-22 09:37`) for narrow table columns; `relativeTime` gives the full one
 * (tooltips, details).
 */
export function shortTime(iso: string | null): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
}
