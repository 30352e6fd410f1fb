import type { FloeMimeBundle } from '@floe/schema';

/**
 * Notebook output from library code. tslab has no comms: the kernel shows MIME bundles and updates
 * them in place through a display id. Outside tslab (CLI, tests, workers) there is no display.
 */

/** Shows a bundle; `update` replaces what this same sink showed before. */
export type DisplaySink = (bundle: FloeMimeBundle) => void;

interface TslabJupyterModule {
  lastWriteDisplayData:
    | ((
        data: { data: Record<string, unknown>; metadata: Record<string, unknown>; transient: { display_id?: string } },
        update: boolean,
      ) => void)
    | null;
}

/** True when this code runs inside a tslab kernel. */
export function inTslab(): boolean {
  return typeof (globalThis as { __tslab__?: unknown }).__tslab__ === 'object';
}

/**
 * tslab's `Display.raw` sends one MIME type per message, which would drop the fallbacks; the kernel's
 * own jupyter module sends whole bundles, so use it when it is loaded (it always is inside tslab).
 */
function tslabJupyter(): TslabJupyterModule | null {
  for (const [file, mod] of Object.entries(require.cache)) {
    if (!/[\\/]tslab[\\/]dist[\\/]jupyter\.js$/.test(file)) continue;
    const exported = mod?.exports as TslabJupyterModule | undefined;
    if (exported && typeof exported.lastWriteDisplayData === 'function') return exported;
  }
  return null;
}

let displayCounter = 0;

/**
 * One updatable output in the current tslab cell, or null outside tslab. Each call of the returned
 * sink replaces the output it showed before.
 */
export function tslabDisplaySink(): DisplaySink | null {
  if (!inTslab()) return null;
  const jupyter = tslabJupyter();
  const id = `floe-${process.pid}-${Date.now().toString(36)}-${++displayCounter}`;
  let shown = false;
  if (jupyter) {
    return (bundle) => {
      const write = jupyter.lastWriteDisplayData;
      if (!write) return;
      write({ data: { ...bundle }, metadata: {}, transient: { display_id: id } }, shown);
      shown = true;
    };
  }
  // Fallback: tslab's public API, which can carry only one type: the HTML one.
  const tslab = (
    globalThis as unknown as { __tslab__: { require(id: string): { newDisplay(): { html(s: string): void } } } }
  ).__tslab__.require('tslab');
  const display = tslab.newDisplay();
  return (bundle) => display.html(bundle['text/html']);
}

/** Shows one bundle once in the current tslab cell (no-op elsewhere). */
export function showBundle(bundle: FloeMimeBundle): boolean {
  const sink = tslabDisplaySink();
  if (!sink) return false;
  sink(bundle);
  return true;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}
