import { SarOverlay } from '@floe/schema';
import { PageConfig } from '@jupyterlab/coreutils';
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { ContentsManager, ServerConnection } from '@jupyterlab/services';
import { PanelLayout, Widget } from '@lumino/widgets';
import { z } from 'zod';
import { el } from '../experiments/dom';
import { SarViewer } from '../sar-viewer/widget';
import { decodePayload, type PayloadKind } from './decode';
import { fallbackBox, note } from './view';

/**
 * `application/vnd.floe.sar-scene+json` (`floe.show.sar(path, { overlays })` in a notebook): the SAR
 * Viewer itself in the output area, with the payload's overlays. It reads the raster only through
 * Jupyter's own `/files/` route, with the page's Jupyter credentials, and only for a path inside the
 * Jupyter root; for anything else (a path outside the root, an unknown major, a payload that fails its
 * schema) it shows the bundle's PNG/HTML fallback, so an untrusted notebook cannot make it fetch a URL.
 */

export const SAR_SCENE_MIME = 'application/vnd.floe.sar-scene+json';

/** The payload `sarSceneBundle` (kernel-services/src/show/sar-scene.ts) writes, major 1. */
export const SarScenePayload = z.object({
  version_major: z.number().int(),
  version_minor: z.number().int().nonnegative(),
  /** Absolute path of the raster on the kernel's machine (the Jupyter server's, for a local kernel). */
  path: z.string().min(1).max(4096),
  title: z.string().max(1000).nullable(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  georeferencing: z.enum(['affine', 'gcps', 'none']),
  overlays: z.array(SarOverlay).max(64),
  drawn: z.array(z.number().int().nonnegative()),
});
export type SarScenePayload = z.infer<typeof SarScenePayload>;

export const SAR_SCENE_KIND: PayloadKind<SarScenePayload> = {
  mimeType: SAR_SCENE_MIME,
  label: 'SAR scene',
  major: 1,
  schema: SarScenePayload,
  check: (p) =>
    p.drawn.length === p.overlays.length
      ? []
      : [`drawn: has ${p.drawn.length} values, expected one per overlay = ${p.overlays.length}`],
};

/**
 * The path of `file` relative to the Jupyter root `root` (both absolute, `/` or `\` separated), or why
 * there is none. `.` and `..` segments are refused rather than resolved: the payload is untrusted.
 */
export function pathUnderRoot(file: string, root: string): { path: string } | { refused: string } {
  const norm = (p: string): string => p.replace(/\\/g, '/').replace(/\/+/g, '/');
  const absolute = (p: string): boolean => p.startsWith('/') || /^[A-Za-z]:\//.test(p);
  const f = norm(file);
  const r = norm(root).replace(/\/$/, '');
  if (!r || !absolute(r) || r.startsWith('~')) return { refused: 'the Jupyter root is not known to this page' };
  if (!absolute(f)) return { refused: `${file} is not an absolute path` };
  if (f.split('/').some((part) => part === '.' || part === '..')) return { refused: `${file} has . or .. segments` };
  // Windows drive letters compare case-insensitively; everything else exactly.
  const same = /^[A-Za-z]:/.test(r) ? f.toLowerCase().startsWith(`${r.toLowerCase()}/`) : f.startsWith(`${r}/`);
  if (!same) return { refused: `${file} is outside the Jupyter root (${r})` };
  const rel = f.slice(r.length + 1);
  return rel ? { path: rel } : { refused: `${file} is the Jupyter root itself` };
}

/** The live SAR viewer for one output; a re-render with the same scene keeps the open viewer. */
export class SarSceneRenderer extends Widget implements IRenderMime.IRenderer {
  private readonly sanitizer: IRenderMime.ISanitizer;
  private viewer: SarViewer | null = null;
  private shownKey = '';
  private renders = 0;

  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this.sanitizer = options.sanitizer;
    this.addClass('floe-Output');
    this.addClass('floe-SarScene');
    this.layout = new PanelLayout();
  }

  renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    this.renders += 1;
    this.node.dataset.floeRenders = String(this.renders);
    this.node.dataset.floeMime = SAR_SCENE_MIME;
    const decoded = decodePayload(SAR_SCENE_KIND, model.data[SAR_SCENE_MIME]);
    if (decoded.state === 'unknown-major') {
      this.showFallback(
        model,
        `SAR scene format version ${decoded.major} is not one this Floe extension draws (it knows version ${decoded.known}); showing the plain view`,
      );
      return Promise.resolve();
    }
    if (decoded.state === 'invalid') {
      const problem = el('div', 'floe-Output-invalid');
      problem.setAttribute('role', 'alert');
      problem.append(el('div', 'floe-Output-invalidTitle', 'This SAR scene output does not match its format:'));
      const list = el('ul');
      for (const p of decoded.problems) list.append(el('li', '', p));
      problem.append(list);
      this.showFallback(model, null, problem);
      return Promise.resolve();
    }
    const payload = decoded.payload;
    const where = pathUnderRoot(payload.path, PageConfig.getOption('serverRoot'));
    if ('refused' in where) {
      this.showFallback(
        model,
        `Static image: the live viewer reads only files inside the Jupyter root (${where.refused}).`,
      );
      return Promise.resolve();
    }
    const key = JSON.stringify([where.path, payload.overlays]);
    if (this.viewer && !this.viewer.isDisposed && key === this.shownKey) return Promise.resolve();
    this.clear();
    const serverSettings = ServerConnection.makeSettings();
    const caption = el(
      'div',
      'floe-SarScene-caption',
      `${payload.title ?? where.path.split('/').pop()!} · ${where.path} · ${payload.width.toLocaleString('en')} × ${payload.height.toLocaleString('en')} px · live SAR Viewer (other front ends show the PNG)`,
    );
    const viewer = new SarViewer({
      path: where.path,
      localPath: where.path,
      contents: new ContentsManager({ serverSettings }),
      colormap: 'gray',
      percentiles: [2, 98],
      pairPolarisations: true,
      serverSettings,
      overlays: payload.overlays,
      annotations: true,
      // Only the notebook's overlays: the output shows what the code asked for.
      discoverOverlays: false,
    });
    const layout = this.layout as PanelLayout;
    layout.addWidget(new Widget({ node: caption }));
    layout.addWidget(viewer);
    this.viewer = viewer;
    this.shownKey = key;
    return Promise.resolve();
  }

  override dispose(): void {
    this.viewer = null;
    super.dispose();
  }

  private clear(): void {
    const layout = this.layout as PanelLayout;
    while (layout.widgets.length) layout.widgets[0]!.dispose();
    this.viewer = null;
    this.shownKey = '';
    this.node.replaceChildren();
  }

  /** The bundle's text/html through JupyterLab's sanitizer (its PNG), else its text/plain, under a notice. */
  private showFallback(model: IRenderMime.IMimeModel, notice: string | null, ...before: Node[]): void {
    this.clear();
    const box = fallbackBox(model, this.sanitizer);
    this.node.append(...before);
    if (notice) this.node.append(note(notice, 'floe-Output-notice floe-mod-quiet'));
    this.node.append(box);
  }
}

export const sarSceneRendererFactory: IRenderMime.IRendererFactory = {
  // Safe for untrusted notebooks: payload text goes in as text, and the only reads are Jupyter's own
  // /files/ (and contents API) for a path inside the Jupyter root, under the page's credentials.
  safe: true,
  mimeTypes: [SAR_SCENE_MIME],
  createRenderer: (options) => new SarSceneRenderer(options),
};

export const sarSceneExtension: IRenderMime.IExtension = {
  id: 'floe-jupyterlab:sar-scene-renderer',
  description: 'Renders floe.show.sar scenes as the live SAR Viewer with their overlays.',
  rendererFactory: sarSceneRendererFactory,
  // Ahead of text/html (50) and image/png (90), which the bundle carries as its fallback.
  rank: 10,
  dataType: 'json',
};
