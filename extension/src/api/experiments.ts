import { AblationBundle, API_VERSION } from '@floe/schema';
import { ServerConnection } from '@jupyterlab/services';
import { HUB_PROXY_PATH, HubRequestError, hubUrl, requestAPI } from './request';

/** Hub endpoints of the experiments panel beyond runs and searches: ablation studies and run images. */

/** `GET /v1/searches/{id}/ablation`: metric and delta per removed component, and the bar chart. */
export function fetchAblation(searchId: number, settings?: ServerConnection.ISettings): Promise<AblationBundle> {
  return requestAPI(`searches/${searchId}/ablation`, AblationBundle, { method: 'GET' }, settings);
}

/**
 * One image of a run (`GET /v1/runs/{id}/image`) as a blob. Fetched through Jupyter's server connection
 * (token or cookie, whichever the page uses) rather than an `<img src>`, which could not send the token.
 */
export async function fetchRunImage(
  runId: number,
  artifact: string,
  file: string | undefined,
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings(),
): Promise<Blob> {
  const query = new URLSearchParams({ artifact });
  if (file !== undefined) query.set('file', file);
  const endpoint = `runs/${runId}/image?${query.toString()}`;
  const shown = `${HUB_PROXY_PATH}/v${API_VERSION}/${endpoint}`;
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(hubUrl(endpoint, settings), { method: 'GET', ...init }, settings);
  } catch (err) {
    throw new HubRequestError('network', shown, `the Jupyter server did not answer (${(err as Error).message})`);
  }
  if (!response.ok) {
    const text = await response.text();
    let detail = text.slice(0, 200);
    try {
      detail = String((JSON.parse(text) as { error?: unknown }).error ?? detail);
    } catch {
      // not JSON: the text itself says what went wrong
    }
    throw new HubRequestError('http', shown, `HTTP ${response.status} from ${shown}: ${detail}`, response.status);
  }
  const type = response.headers.get('content-type') ?? '';
  if (!/^image\/(png|jpeg)$/.test(type))
    throw new HubRequestError(
      'contract',
      shown,
      `${shown} answered with '${type}', not a PNG or JPEG`,
      response.status,
    );
  return response.blob();
}
