import type { Widget } from '@lumino/widgets';
import type { HubStatus } from '../tokens';
import { el } from '../experiments/dom';

/**
 * The "hub did not answer / is not reachable" banner of a Floe panel, and the failed state behind it:
 * work run through `guard` shows a failure in the banner instead of throwing, and clears it on the
 * next success; `onHubStatus` shows the hub's own reason and asks for a refresh when it is back.
 */
export class HubFailureBanner {
  /** @param reasonClass class of the span that holds the reason (panels style and tests find it by it). */
  constructor(
    private readonly _owner: Widget,
    private readonly _banner: HTMLElement,
    private readonly _reasonClass: string,
  ) {}

  /** Whether the last hub request failed (or the hub was reported unreachable) and nothing has succeeded since. */
  get failed(): boolean {
    return this._failed;
  }

  /** Runs `work`, turning a failure into the banner (the hub down, a bad answer); an aborted request is no failure. */
  async guard(work: () => Promise<void>): Promise<void> {
    try {
      await work();
      if (this._failed) {
        this._failed = false;
        this._banner.replaceChildren();
        this._owner.removeClass('floe-mod-error');
      }
    } catch (err) {
      if ((err as Error).name === 'AbortError') return;
      this._show('The Floe hub did not answer. ', (err as Error).message, ' The panel retries when the hub is back.');
    }
  }

  /** Follows the hub status: `refresh` when it is back after a failure, the banner when it is unreachable. */
  onHubStatus(status: HubStatus, refresh: () => void): void {
    if (status.kind === 'connected' && this._failed) refresh();
    else if (status.kind === 'unreachable' || status.kind === 'incompatible')
      this._show('The Floe hub is not reachable. ', status.reason, ` ${status.hint}`);
  }

  private _show(title: string, reason: string, after: string): void {
    this._failed = true;
    this._owner.addClass('floe-mod-error');
    this._banner.replaceChildren(el('strong', '', title), el('span', this._reasonClass, reason), el('span', '', after));
  }

  private _failed = false;
}
