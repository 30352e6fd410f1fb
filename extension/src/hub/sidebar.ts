import type { InfoResponse } from '@floe/schema';
import { refreshIcon } from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';
import { floeIcon } from '../icons';
import type { HubStatus, IFloeHub } from '../tokens';

/** One labelled value in the sidebar; `field` names it for tests and styles (`data-floe-field`). */
interface IInfoRow {
  label: string;
  field: string;
  value: string;
  note?: string;
  warn?: boolean;
}

/**
 * The Floe sidebar: what the hub reports about this installation (versions, TensorFlow backend and
 * device, project store), or, when the hub cannot be reached, why and what to do. It renders whatever
 * status the hub connection holds; all values are set as text, never as HTML.
 */
export class FloeSidebar extends Widget {
  constructor(hub: IFloeHub) {
    super();
    this._hub = hub;
    this.id = 'floe-sidebar';
    this.addClass('floe-Sidebar');
    this.title.icon = floeIcon;
    this.title.caption = 'Floe';

    const header = el('header', 'floe-Sidebar-header');
    const logo = el('span', 'floe-Sidebar-logo');
    floeIcon.element({ container: logo });
    const heading = el('h2', 'floe-Sidebar-title', 'Floe');
    this._badge = el('span', 'floe-Sidebar-badge');
    this._refreshButton = el('button', 'floe-Sidebar-refresh jp-ToolbarButtonComponent');
    this._refreshButton.type = 'button';
    this._refreshButton.title = 'Check the Floe hub now';
    this._refreshButton.setAttribute('aria-label', 'Check the Floe hub now');
    refreshIcon.element({ container: this._refreshButton });
    this._refreshButton.addEventListener('click', this._onRefreshClick);
    header.append(logo, heading, this._badge, this._refreshButton);

    this._body = el('div', 'floe-Sidebar-body');
    this.node.append(header, this._body);

    hub.statusChanged.connect(this._onStatusChanged, this);
    this._render(hub.status);
  }

  override dispose(): void {
    if (this.isDisposed) return;
    this._hub.statusChanged.disconnect(this._onStatusChanged, this);
    this._refreshButton.removeEventListener('click', this._onRefreshClick);
    super.dispose();
  }

  protected override onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    // Opening the panel should show the hub as it is now, not as of the last poll.
    void this._hub.refresh();
  }

  private _onStatusChanged(_: IFloeHub, status: HubStatus): void {
    this._render(status);
  }

  private readonly _onRefreshClick = (): void => {
    void this._hub.refresh();
  };

  private _render(status: HubStatus): void {
    this.node.dataset.hubStatus = status.kind;
    this._badge.dataset.status = status.kind;
    switch (status.kind) {
      case 'connecting':
        this._badge.textContent = 'connecting';
        this._body.replaceChildren(el('p', 'floe-Sidebar-note', 'Connecting to the Floe hub…'));
        break;
      case 'connected':
        this._badge.textContent = 'connected';
        this._body.replaceChildren(...renderInfo(status.info), checkedLine(`Checked at ${time(status.checkedAt)}`));
        break;
      case 'unreachable':
      case 'incompatible': {
        this._badge.textContent = status.kind;
        const problem = el('div', 'floe-HubProblem');
        problem.setAttribute('role', 'alert');
        const headline = el('p', 'floe-HubProblem-headline');
        headline.append(
          el(
            'strong',
            '',
            status.kind === 'incompatible' ? 'Floe hub is not compatible: ' : 'Floe hub is not reachable: ',
          ),
          el('span', 'floe-HubProblem-reason', status.reason),
        );
        const hint = el('p', 'floe-HubProblem-hint');
        hint.append(el('strong', '', 'What to do: '), ...withCommands(status.hint));
        problem.append(headline, hint);
        const retry = el('button', 'floe-HubProblem-retry jp-Button jp-mod-styled jp-mod-accept', 'Retry now');
        retry.type = 'button';
        retry.addEventListener('click', this._onRefreshClick);
        this._body.replaceChildren(
          problem,
          retry,
          checkedLine(`Last tried at ${time(status.checkedAt)}; retrying automatically.`),
        );
        break;
      }
    }
  }

  private readonly _hub: IFloeHub;
  private readonly _badge: HTMLSpanElement;
  private readonly _refreshButton: HTMLButtonElement;
  private readonly _body: HTMLDivElement;
}

function renderInfo(info: InfoResponse): HTMLElement[] {
  const tf = info.tensorflow;
  return [
    group('Floe', [
      { label: 'Floe', field: 'floe-version', value: info.floeVersion, note: `API v${info.apiVersion}` },
      { label: 'Node', field: 'node', value: info.node, note: info.platform },
      { label: 'Hub started', field: 'started-at', value: new Date(info.startedAt).toLocaleString() },
    ]),
    group('TensorFlow', [
      {
        label: 'TensorFlow',
        field: 'tensorflow-version',
        value: tf.version ?? 'none (no native library loaded)',
        warn: tf.version === null,
      },
      {
        label: 'Backend',
        field: 'backend',
        value: tf.backend,
        note: tf.native ? 'native' : 'not native: pure-JS fallback, too slow to train',
        warn: !tf.native,
      },
      { label: 'Device', field: 'device', value: tf.device },
      { label: 'Variant', field: 'variant', value: tf.variant, note: `tfjs-node${tf.variant === 'gpu' ? '-gpu' : ''}` },
      { label: 'tfjs', field: 'tfjs-version', value: tf.tfjsVersion },
    ]),
    group('Project store', [
      { label: 'Path', field: 'store-path', value: info.store.path },
      { label: 'Metadata', field: 'store-metadata', value: info.store.metadata },
      { label: 'Blobs', field: 'store-blobs', value: info.store.blobs },
    ]),
  ];
}

function group(title: string, rows: IInfoRow[]): HTMLElement {
  const section = el('section', 'floe-HubInfo');
  const list = el('dl', 'floe-HubInfo-list');
  for (const row of rows) {
    const term = el('dt', 'floe-HubInfo-label', row.label);
    const value = el('dd', 'floe-HubInfo-value');
    value.dataset.floeField = row.field;
    const main = el('span', 'floe-HubInfo-text', row.value);
    main.title = row.value;
    value.append(main);
    if (row.note) value.append(el('span', 'floe-HubInfo-note', row.note));
    if (row.warn) value.classList.add('floe-mod-warn');
    list.append(term, value);
  }
  section.append(el('h3', 'floe-HubInfo-title', title), list);
  return section;
}

/** Text nodes for a hint, with each `backticked` command as a <code> element (all as text, never HTML). */
function withCommands(hint: string): Node[] {
  return hint
    .split('`')
    .map((part, i) => (i % 2 === 1 ? el('code', 'floe-HubProblem-command', part) : document.createTextNode(part)));
}

function checkedLine(text: string): HTMLElement {
  return el('p', 'floe-Sidebar-checked', text);
}

function time(date: Date): string {
  return date.toLocaleTimeString();
}

/** A new element with a class and, optionally, text content (never HTML). */
function el<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
