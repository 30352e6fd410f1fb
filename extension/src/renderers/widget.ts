import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';
import { el } from '../experiments/dom';
import { decodePayload, KINDS, kindOf, type KindName, type PayloadKind } from './decode';
import { renderDrift } from './drift';
import { renderExplanation, renderSarGrid } from './images';
import { renderAblation, renderSearch } from './search';
import { renderTraining } from './training';
import { renderValidation } from './validation';
import { fallbackBox, note } from './view';

/**
 * The renderer JupyterLab creates for one Floe output. It checks the payload (major version, then
 * schema) and draws it; a major it does not know, or a payload that fails the schema, shows the
 * bundle's own fallback under a short notice. update_display_data calls renderModel again on the
 * same renderer: it re-draws in place and keeps the sections the reader opened or closed.
 */

type Draw = (payload: never, data: IRenderMime.IMimeModel['data']) => HTMLElement;

const DRAW: Record<KindName, Draw> = {
  training: renderTraining as Draw,
  explanation: renderExplanation as Draw,
  search: renderSearch as Draw,
  ablation: renderAblation as Draw,
  validation: renderValidation as Draw,
  drift: renderDrift as Draw,
  sar: ((payload: Parameters<typeof renderSarGrid>[0], data: IRenderMime.IMimeModel['data']) =>
    renderSarGrid(payload, data['image/png'])) as Draw,
};

export class FloeOutputRenderer extends Widget implements IRenderMime.IRenderer {
  private readonly mimeType: string;
  private readonly sanitizer: IRenderMime.ISanitizer;
  private renders = 0;

  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this.mimeType = options.mimeType;
    this.sanitizer = options.sanitizer;
    this.addClass('floe-Output');
  }

  renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const name = kindOf(this.mimeType);
    const openSections = this.sectionStates();
    const content: Node[] = [];
    if (name === null) {
      content.push(...this.fallback(model, `no Floe renderer for ${this.mimeType}`));
    } else {
      const kind = KINDS[name] as PayloadKind<unknown>;
      const decoded = decodePayload(kind, model.data[this.mimeType]);
      if (decoded.state === 'ok') {
        try {
          content.push(DRAW[name](decoded.payload as never, model.data));
        } catch (error) {
          // A renderer bug must not take the output (or the notebook) down: say so and show the fallback.
          content.push(...this.fallback(model, `could not draw this ${kind.label}: ${String(error)}`, 'error'));
        }
      } else if (decoded.state === 'unknown-major') {
        content.push(
          ...this.fallback(
            model,
            `${kind.label} format version ${decoded.major} is not one this Floe extension draws (it knows version ${decoded.known}); showing the plain view`,
          ),
        );
      } else {
        const problem = el('div', 'floe-Output-invalid');
        problem.setAttribute('role', 'alert');
        problem.append(el('div', 'floe-Output-invalidTitle', `This ${kind.label} output does not match its format:`));
        const list = el('ul');
        for (const p of decoded.problems) list.append(el('li', '', p));
        problem.append(list);
        content.push(problem, ...this.fallback(model, null));
      }
    }
    this.node.replaceChildren(...content);
    this.restoreSections(openSections);
    this.renders += 1;
    this.node.dataset.floeRenders = String(this.renders);
    this.node.dataset.floeMime = this.mimeType;
    return Promise.resolve();
  }

  /**
   * The bundle's text/html (through JupyterLab's sanitizer, as JupyterLab itself renders untrusted
   * HTML), else its text/plain as text, under a quiet notice.
   */
  private fallback(model: IRenderMime.IMimeModel, notice: string | null, tone: 'quiet' | 'error' = 'quiet'): Node[] {
    const out: Node[] = [];
    if (notice) out.push(note(notice, `floe-Output-notice floe-mod-${tone}`));
    const box = fallbackBox(model, this.sanitizer);
    out.push(box);
    return out;
  }

  private sectionStates(): Map<string, boolean> {
    const states = new Map<string, boolean>();
    this.node.querySelectorAll<HTMLDetailsElement>('details[data-floe-section]').forEach((d) => {
      states.set(d.dataset.floeSection!, d.open);
    });
    return states;
  }

  private restoreSections(states: Map<string, boolean>): void {
    if (!states.size) return;
    this.node.querySelectorAll<HTMLDetailsElement>('details[data-floe-section]').forEach((d) => {
      const open = states.get(d.dataset.floeSection!);
      if (open !== undefined) d.open = open;
    });
  }
}
