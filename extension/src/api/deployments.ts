import { DeploymentDetailResponse, DeploymentListResponse, ServingChangeCounters } from '@floe/schema';
import { ServerConnection } from '@jupyterlab/services';
import type { IDisposable } from '@lumino/disposable';
import { followStoreChanges } from './panels';
import { requestAPI } from './request';

/** The hub's deployment endpoints (`/v1/deployments...`) and the serving side of its event stream. */

type Settings = ServerConnection.ISettings | undefined;
const GET: RequestInit = { method: 'GET' };

export function fetchDeployments(settings?: Settings): Promise<DeploymentListResponse> {
  return requestAPI('deployments', DeploymentListResponse, GET, settings ?? undefined);
}

export function fetchDeployment(name: string, settings?: Settings): Promise<DeploymentDetailResponse> {
  return requestAPI(`deployments/${encodeURIComponent(name)}`, DeploymentDetailResponse, GET, settings ?? undefined);
}

/** `/v1/events` with the serving counter (requests logged, drift alerts, deployment heartbeats) kept. */
export function followServingChanges(
  onChange: (counters: ServingChangeCounters) => void,
  onState: (open: boolean) => void = () => undefined,
  settings: ServerConnection.ISettings = ServerConnection.makeSettings(),
): IDisposable {
  return followStoreChanges(onChange, onState, settings, ServingChangeCounters);
}
