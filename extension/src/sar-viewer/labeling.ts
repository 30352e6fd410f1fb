/**
 * Labels placed in the viewer and not committed yet. They are kept in the browser's local storage per
 * raster path, so a reload, a closed tab or a failed commit loses none of them.
 */
import type { LabelClass } from '@floe/schema';

export const LABEL_CLASSES: readonly LabelClass[] = ['ship', 'iceberg'];

export interface PendingLabel {
  /** Local key for the list (the committed id is `<file>:r<row>:c<col>`, chosen by the library). */
  key: string;
  col: number;
  row: number;
  class: LabelClass;
}

const STORAGE_PREFIX = 'floe-sar-viewer:pending-labels:';

function isPendingLabel(x: unknown): x is PendingLabel {
  const l = x as PendingLabel;
  return (
    !!l &&
    typeof l.key === 'string' &&
    Number.isFinite(l.col) &&
    Number.isFinite(l.row) &&
    (LABEL_CLASSES as readonly string[]).includes(l.class)
  );
}

export class PendingLabels {
  private items: PendingLabel[] = [];
  private listeners = new Set<() => void>();
  private counter = 0;

  constructor(private readonly rasterPath: string) {
    try {
      const raw = localStorage.getItem(STORAGE_PREFIX + rasterPath);
      const parsed: unknown = raw ? JSON.parse(raw) : [];
      if (Array.isArray(parsed)) this.items = parsed.filter(isPendingLabel);
    } catch {
      this.items = []; // unreadable storage: start empty rather than fail the viewer
    }
    this.counter = this.items.length;
  }

  get list(): readonly PendingLabel[] {
    return this.items;
  }

  /** Calls `listener` after every change; returns a function that stops it. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  add(col: number, row: number, cls: LabelClass): PendingLabel {
    const label: PendingLabel = { key: `${Date.now().toString(36)}-${++this.counter}`, col, row, class: cls };
    this.items = [...this.items, label];
    this.changed();
    return label;
  }

  setClass(key: string, cls: LabelClass): void {
    this.items = this.items.map((l) => (l.key === key ? { ...l, class: cls } : l));
    this.changed();
  }

  remove(key: string): void {
    this.items = this.items.filter((l) => l.key !== key);
    this.changed();
  }

  /** After a successful commit: only the labels that were sent are dropped (new ones may have come meanwhile). */
  removeCommitted(keys: readonly string[]): void {
    const gone = new Set(keys);
    this.items = this.items.filter((l) => !gone.has(l.key));
    this.changed();
  }

  private changed(): void {
    try {
      if (this.items.length) localStorage.setItem(STORAGE_PREFIX + this.rasterPath, JSON.stringify(this.items));
      else localStorage.removeItem(STORAGE_PREFIX + this.rasterPath);
    } catch {
      // storage full or disabled: the labels still live in this page
    }
    for (const listener of [...this.listeners]) listener();
  }
}
