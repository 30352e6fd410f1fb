import { API_VERSION, type InfoResponse } from '@floe/schema';
import { type IPoll, Poll } from '@lumino/polling';
import { Signal, type ISignal } from '@lumino/signaling';
import { fetchHubInfo, HubRequestError } from '../api';
import type { HubStatus, IFloeHub } from '../tokens';

/** Checks the hub every 15 s while the page is visible; settings (floe-jupyterlab:hub) can change it. */
export const DEFAULT_REFRESH_SECONDS = 15;
/** Backoff after failures grows up to this, so a hub that comes back is seen within half a minute. */
const MAX_RETRY_MS = 30_000;

export interface IHubConnectionOptions {
  /** How the hub's info is fetched; defaults to `GET floe-hub/v1/info` through Jupyter's server. */
  fetchInfo?: () => Promise<InfoResponse>;
  refreshSeconds?: number;
}

/**
 * The connection to the Floe hub: polls `GET /v1/info`, backs off while the hub is unreachable, and
 * reports each change of status, so views only render what this says.
 */
export class HubConnection implements IFloeHub {
  constructor(options: IHubConnectionOptions = {}) {
    this._fetchInfo = options.fetchInfo ?? (() => fetchHubInfo());
    this._poll = new Poll<InfoResponse, Error, 'standby'>({
      factory: () => this._check(),
      frequency: pollFrequency(options.refreshSeconds ?? DEFAULT_REFRESH_SECONDS),
      standby: 'when-hidden',
      name: 'floe-jupyterlab:hub',
    });
  }

  get status(): HubStatus {
    return this._status;
  }

  get statusChanged(): ISignal<IFloeHub, HubStatus> {
    return this._statusChanged;
  }

  get isDisposed(): boolean {
    return this._poll.isDisposed;
  }

  /** Seconds between checks while the hub answers (failures back off from there). */
  set refreshSeconds(seconds: number) {
    if (!this.isDisposed) this._poll.frequency = pollFrequency(seconds);
  }

  async refresh(): Promise<void> {
    if (this.isDisposed) return;
    await this._poll.refresh();
    await this._poll.tick;
  }

  dispose(): void {
    if (this.isDisposed) return;
    this._poll.dispose();
    Signal.clearData(this);
  }

  private async _check(): Promise<InfoResponse> {
    try {
      const info = await this._fetchInfo();
      if (info.apiVersion !== API_VERSION) {
        throw new HubRequestError(
          'contract',
          'info',
          `the hub speaks Floe API v${info.apiVersion}, this extension speaks v${API_VERSION}`,
        );
      }
      this._setStatus({ kind: 'connected', info, checkedAt: new Date() });
      return info;
    } catch (err) {
      this._setStatus({ ...describeFailure(err), checkedAt: new Date() });
      // Rethrown so that the poll backs off until the hub answers again.
      throw err;
    }
  }

  private _setStatus(status: HubStatus): void {
    if (this.isDisposed) return;
    this._status = status;
    this._statusChanged.emit(status);
  }

  private readonly _fetchInfo: () => Promise<InfoResponse>;
  private readonly _poll: Poll<InfoResponse, Error, 'standby'>;
  private _status: HubStatus = { kind: 'connecting' };
  private readonly _statusChanged = new Signal<IFloeHub, HubStatus>(this);
}

function pollFrequency(seconds: number): IPoll.Frequency {
  const interval = Math.max(1, seconds) * 1000;
  return { interval, backoff: true, max: Math.max(interval, MAX_RETRY_MS) };
}

/** Turns a failed check into what the user reads: what went wrong, and what to do. */
export function describeFailure(err: unknown): {
  kind: 'unreachable' | 'incompatible';
  reason: string;
  hint: string;
} {
  if (!(err instanceof HubRequestError)) {
    return { kind: 'unreachable', reason: String((err as Error)?.message ?? err), hint: RETRY_HINT };
  }
  switch (err.failure) {
    case 'network':
      return {
        kind: 'unreachable',
        reason: err.message,
        hint: 'Check that JupyterLab is still running, then reload this page.',
      };
    case 'contract':
      return {
        kind: 'incompatible',
        reason: err.message,
        hint: 'The hub and this extension come from different Floe builds: run `bash scripts/setup.sh`, restart JupyterLab and reload the page.',
      };
    case 'http':
      if (err.status === 404) {
        return {
          kind: 'unreachable',
          reason: err.message,
          hint: 'This Jupyter server has no floe-hub proxy: install Floe into the environment that runs JupyterLab (`bash scripts/setup.sh`) and restart JupyterLab.',
        };
      }
      if (err.status === 401 || err.status === 403) {
        return {
          kind: 'unreachable',
          reason: err.message,
          hint: 'Jupyter refused the request: reload the page and log in again.',
        };
      }
      return { kind: 'unreachable', reason: err.message, hint: RETRY_HINT };
  }
}

const RETRY_HINT =
  'The hub process is not running or failed to start. Look for `floe-hub` in the JupyterLab server log; if Floe is not built, run `bash scripts/setup.sh`. This panel keeps retrying and recovers by itself when the hub is back.';
