import { CommitLabelsResponse, LabelOverlayResponse, type CommitLabelsRequest } from '@floe/schema';
import type { ServerConnection } from '@jupyterlab/services';
import { requestAPI } from './request';

/** `POST /v1/labels/commit`: the viewer's labels become 75×75 chips in a new feature group commit. */
export function commitLabels(
  body: CommitLabelsRequest,
  settings?: ServerConnection.ISettings,
): Promise<CommitLabelsResponse> {
  return requestAPI(
    'labels/commit',
    CommitLabelsResponse,
    { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } },
    settings,
  );
}

/** `GET /v1/labels/overlay?raster=PATH`: labels already committed for a raster (points and chip footprints). */
export function fetchLabelOverlays(
  raster: string,
  settings?: ServerConnection.ISettings,
): Promise<LabelOverlayResponse> {
  return requestAPI(
    `labels/overlay?raster=${encodeURIComponent(raster)}`,
    LabelOverlayResponse,
    { method: 'GET' },
    settings,
  );
}
