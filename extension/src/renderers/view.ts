import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { el } from '../experiments/dom';

/**
 * Building blocks shared by the Floe output renderers. Every piece of payload text goes in through
 * textContent (via `el`), so a run called `<img onerror=…>` shows exactly those characters.
 */

export type Cell = string | number | null | Node;

/** A table; a number cell is right-aligned, a Node is inserted as is (a badge, a link). */
export function dataTable(
  className: string,
  headers: readonly string[],
  rows: readonly (readonly Cell[])[],
): HTMLTableElement {
  const table = el('table', `floe-Output-table ${className}`);
  const head = el('thead');
  const tr = el('tr');
  for (const h of headers) tr.append(el('th', '', h));
  head.append(tr);
  const body = el('tbody');
  for (const row of rows) {
    const line = el('tr');
    for (const cell of row) {
      const td = el('td');
      if (cell instanceof Node) td.append(cell);
      else if (typeof cell === 'number') {
        td.className = 'floe-mod-number';
        td.textContent = String(cell);
      } else td.textContent = cell ?? '—';
      line.append(td);
    }
    body.append(line);
  }
  table.append(head, body);
  return table;
}

/**
 * A collapsible section. `key` names it so an open/closed choice survives live updates (the
 * renderer re-draws the whole output on every update_display_data).
 */
export function section(key: string, title: string, open: boolean, ...content: Node[]): HTMLDetailsElement {
  const details = el('details', 'floe-Output-section');
  details.dataset.floeSection = key;
  details.open = open;
  details.append(el('summary', '', title), ...content);
  return details;
}

/** A box that scrolls a long table instead of growing the notebook without end. */
export function scrollBox(content: Node): HTMLDivElement {
  const box = el('div', 'floe-Output-scroll');
  box.append(content);
  return box;
}

export function note(text: string, className = ''): HTMLDivElement {
  return el('div', `floe-Output-note ${className}`.trim(), text);
}

/**
 * The bundle's own fallback: its text/html through JupyterLab's sanitizer (as JupyterLab itself renders
 * untrusted HTML), else its text/plain as text.
 */
export function fallbackBox(model: IRenderMime.IMimeModel, sanitizer: IRenderMime.ISanitizer): HTMLDivElement {
  const html = model.data['text/html'];
  const text = model.data['text/plain'];
  const box = el('div', 'floe-Output-fallback');
  if (typeof html === 'string' || (Array.isArray(html) && html.every((x) => typeof x === 'string'))) {
    box.innerHTML = sanitizer.sanitize(Array.isArray(html) ? html.join('') : html);
  } else if (typeof text === 'string' || Array.isArray(text)) {
    box.append(el('pre', '', Array.isArray(text) ? text.join('') : text));
  } else {
    box.append(note('this output has no text/html or text/plain fallback'));
  }
  return box;
}

/** A `name value` pair in a header line. */
export function fact(name: string, value: string): HTMLSpanElement {
  const node = el('span', 'floe-Output-fact');
  node.append(el('span', 'floe-Output-factName', name), el('span', 'floe-Output-factValue', value));
  return node;
}

export function header(title: string, ...rest: Node[]): HTMLDivElement {
  const node = el('div', 'floe-Output-header');
  node.append(el('span', 'floe-Output-title', title), ...rest);
  return node;
}
