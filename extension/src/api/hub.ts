import { InfoResponse } from '@floe/schema';
import type { ServerConnection } from '@jupyterlab/services';
import { requestAPI } from './request';

/** `GET /v1/info`: Floe and TensorFlow versions, backend, device and the project store. */
export function fetchHubInfo(settings?: ServerConnection.ISettings): Promise<InfoResponse> {
  return requestAPI('info', InfoResponse, { method: 'GET' }, settings);
}
