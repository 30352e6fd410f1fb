import { API_VERSION, ErrorResponse } from '@floe/schema';
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import type { ZodType } from 'zod';

/** Path under Jupyter's base URL where jupyter-server-proxy serves the hub (jupyter-config/…/floe.json). */
export const HUB_PROXY_PATH = 'floe-hub';

/** Why a hub request failed: the network, an HTTP error status, or a body that breaks the contract. */
export type HubRequestFailure = 'network' | 'http' | 'contract';

export class HubRequestError extends Error {
  constructor(
    readonly failure: HubRequestFailure,
    /** The URL path asked for, e.g. `floe-hub/v1/info`. */
    readonly endpoint: string,
    message: string,
    /** HTTP status when the server answered. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'HubRequestError';
  }
}

/** The URL of a hub endpoint, always built from Jupyter's base URL (works under JupyterHub prefixes). */
export function hubUrl(endpoint: string, settings: ServerConnection.ISettings): string {
  return URLExt.join(settings.baseUrl, HUB_PROXY_PATH, `v${API_VERSION}`, endpoint);
}

/**
 * Calls the Floe hub through Jupyter's server (which does the authentication) and returns the body
 * validated against its contract schema from `@floe/schema`.
 */
export async function requestAPI<T>(
  endpoint: string,
  contract: ZodType<T>,
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings(),
): Promise<T> {
  const url = hubUrl(endpoint, settings);
  const shown = `${HUB_PROXY_PATH}/v${API_VERSION}/${endpoint}`;
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (err) {
    throw new HubRequestError('network', shown, `the Jupyter server did not answer (${(err as Error).message})`);
  }
  const text = await response.text();
  if (!response.ok) {
    throw new HubRequestError(
      'http',
      shown,
      `HTTP ${response.status} from ${shown}: ${errorDetail(response, text)}`,
      response.status,
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HubRequestError(
      'contract',
      shown,
      `${shown} answered with something that is not JSON: ${clip(text)}`,
      response.status,
    );
  }
  const parsed = contract.safeParse(body);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
    throw new HubRequestError(
      'contract',
      shown,
      `${shown} answered with an unexpected body: ${issues}`,
      response.status,
    );
  }
  return parsed.data;
}

/** The most useful part of an error body: the hub's `{error}`, Jupyter's `{message}`, or an HTML page's text. */
function errorDetail(response: Response, text: string): string {
  try {
    const json: unknown = JSON.parse(text);
    const hubError = ErrorResponse.safeParse(json);
    if (hubError.success) return hubError.data.error;
    if (json && typeof json === 'object' && 'message' in json && typeof json.message === 'string') return json.message;
  } catch {
    // not JSON: an HTML error page from Jupyter or the proxy
  }
  // An HTML error page (Jupyter's puts its message in <div class="error">). DOMParser builds an inert
  // document: nothing in it runs or loads; only its text is used.
  const page = new DOMParser().parseFromString(text, 'text/html');
  page.querySelectorAll('script, style').forEach((node) => node.remove());
  const pageText = (page.querySelector('div.error') ?? page.body)?.textContent ?? '';
  const message = pageText
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^\d{3} : /, '');
  return clip(message || response.statusText || 'no details');
}

function clip(text: string, max = 240): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
