import type { Widget } from '@lumino/widgets';
import type { IDisposable } from '@lumino/disposable';
import type { HubStatus, IFloeHub } from '../tokens';
import { el } from '../experiments/dom';

/**
 * The "hub did not answer / is not reachable" banner of a Floe panel, and the failed state behind it:
 * work run through `guard` shows a failure in the banner instead of throwing, and clears it on the
 * next success; it follows the hub's status, showing the hub's own reason and refreshing the panel when
 * the hub is back.
 */
export class HubFailureBanner implements IDisposable {
  /**
   * @param classPrefix the panel's class prefix: the banner is `<prefix>-banner`, the span holding the
   *   reason `<prefix>-reason` (panels style and tests find them by these).
   * @param refresh what the panel reloads when the hub is back after a failure.
   */
  constructor(
    private readonly _owner: Widget,
    classPrefix: string,
    private readonly _hub: IFloeHub,
    private readonly _refresh: () => void,
  ) {
    this.node = el('div', `${classPrefix}-banner`);
    this.node.setAttribute('role', 'status');
    this._reasonClass = `${classPrefix}-reason`;
    _hub.statusChanged.connect(this._onHubStatus, this);
  }

  /** The banner: empty while the hub answers. */
  readonly node: HTMLDivElement;

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    this._hub.statusChanged.disconnect(this._onHubStatus, this);
  }

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
        this.node.replaceChildren();
        this._owner.removeClass('floe-mod-error');
      }
    } catch (err) {
      if ((err as Error).name === 'AbortError') return;
      this._show('The Floe hub did not answer. ', (err as Error).message, ' The panel retries when the hub is back.');
    }
  }

  /** Follows the hub status: `refresh` when it is back after a failure, the banner when it is unreachable. */
  private _onHubStatus(_: IFloeHub, status: HubStatus): void {
    if (status.kind === 'connected' && this._failed) this._refresh();
    else if (status.kind === 'unreachable' || status.kind === 'incompatible')
      this._show('The Floe hub is not reachable. ', status.reason, ` ${status.hint}`);
  }

  private _show(title: string, reason: string, after: string): void {
    this._failed = true;
    this._owner.addClass('floe-mod-error');
    this.node.replaceChildren(el('strong', '', title), el('span', this._reasonClass, reason), el('span', '', after));
  }

  private readonly _reasonClass: string;
  private _failed = false;
  private _disposed = false;
}
