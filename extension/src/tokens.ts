import type { InfoResponse } from '@floe/schema';
import type { IDisposable } from '@lumino/disposable';
import type { ISignal } from '@lumino/signaling';
import { Token } from '@lumino/coreutils';

/** Where the connection to the Floe hub stands, as last observed. */
export type HubStatus =
  | { readonly kind: 'connecting' }
  | { readonly kind: 'connected'; readonly info: InfoResponse; readonly checkedAt: Date }
  | {
      /** `unreachable`: no answer from the hub; `incompatible`: it answered outside the contract. */
      readonly kind: 'unreachable' | 'incompatible';
      /** What went wrong, e.g. `HTTP 599 from floe-hub/v1/info: …`. */
      readonly reason: string;
      /** What the user can do about it. */
      readonly hint: string;
      readonly checkedAt: Date;
    };

/** The Floe hub as the frontend sees it: its last known status, kept fresh by polling. */
export interface IFloeHub extends IDisposable {
  readonly status: HubStatus;
  /** Emits whenever `status` changes (every successful or failed check). */
  readonly statusChanged: ISignal<IFloeHub, HubStatus>;
  /** Checks the hub now instead of waiting for the next poll. */
  refresh(): Promise<void>;
}

export const IFloeHub = new Token<IFloeHub>(
  'floe-jupyterlab:IFloeHub',
  'The Floe hub connection: its info (versions, TensorFlow backend, store) or why it is unreachable.',
);
