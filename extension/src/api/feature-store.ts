import { PatchPageResponse, TrainingDatasetListResponse, type PatchPageQuery } from '@floe/schema';
import type { ServerConnection } from '@jupyterlab/services';
import { requestAPI } from './request';

/** The hub endpoints of the feature store browser beyond the feature group list and detail (panels.ts). */

const GET: RequestInit = { method: 'GET' };

export function fetchTrainingDatasets(settings?: ServerConnection.ISettings): Promise<TrainingDatasetListResponse> {
  return requestAPI('training-datasets', TrainingDatasetListResponse, GET, settings);
}

/** One gallery page of a feature group commit's patches (bands as base64 float32). */
export function fetchPatchPage(
  featureGroup: string,
  query: Partial<PatchPageQuery>,
  init: RequestInit = {},
  settings?: ServerConnection.ISettings,
): Promise<PatchPageResponse> {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') params.set(k, String(v));
  return requestAPI(
    `feature-groups/${encodeURIComponent(featureGroup)}/patches?${params.toString()}`,
    PatchPageResponse,
    { ...GET, ...init },
    settings,
  );
}
