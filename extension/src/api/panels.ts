import {
  ExperimentListResponse,
  FeatureGroupDetailResponse,
  FeatureGroupListResponse,
  ModelDetailResponse,
  ModelLineageResponse,
  ModelListResponse,
  RunDetailResponse,
  RunListResponse,
  SearchDetailResponse,
  SearchListResponse,
  StoreChangeCounters,
  type RunListQuery,
} from '@floe/schema';
import { ServerConnection } from '@jupyterlab/services';
import type { IDisposable } from '@lumino/disposable';
import type { ZodType } from 'zod';
import { hubUrl, requestAPI } from './request';

/** The hub endpoints behind the Floe panels (`/v1/...`); every answer is checked against `@floe/schema`. */

type Settings = ServerConnection.ISettings | undefined;
const GET: RequestInit = { method: 'GET' };
const seg = encodeURIComponent;

export function fetchExperiments(settings?: Settings): Promise<ExperimentListResponse> {
  return requestAPI('experiments', ExperimentListResponse, GET, settings ?? undefined);
}

export function fetchRuns(
  experiment: string,
  query: Partial<RunListQuery>,
  init: RequestInit = {},
  settings?: Settings,
): Promise<RunListResponse> {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') params.set(k, String(v));
  return requestAPI(
    `experiments/${seg(experiment)}/runs?${params.toString()}`,
    RunListResponse,
    { ...GET, ...init },
    settings ?? undefined,
  );
}

export function fetchRunDetail(runId: number, points = 500, settings?: Settings): Promise<RunDetailResponse> {
  return requestAPI(`runs/${runId}?points=${points}`, RunDetailResponse, GET, settings ?? undefined);
}

export function fetchModels(settings?: Settings): Promise<ModelListResponse> {
  return requestAPI('models', ModelListResponse, GET, settings ?? undefined);
}

export function fetchModel(name: string, settings?: Settings): Promise<ModelDetailResponse> {
  return requestAPI(`models/${seg(name)}`, ModelDetailResponse, GET, settings ?? undefined);
}

export function fetchModelLineage(name: string, version: number, settings?: Settings): Promise<ModelLineageResponse> {
  return requestAPI(
    `models/${seg(name)}/versions/${version}/lineage`,
    ModelLineageResponse,
    GET,
    settings ?? undefined,
  );
}

export function fetchFeatureGroups(settings?: Settings): Promise<FeatureGroupListResponse> {
  return requestAPI('feature-groups', FeatureGroupListResponse, GET, settings ?? undefined);
}

export function fetchFeatureGroup(
  name: string,
  version?: number,
  settings?: Settings,
): Promise<FeatureGroupDetailResponse> {
  const q = version === undefined ? '' : `?version=${version}`;
  return requestAPI(`feature-groups/${seg(name)}${q}`, FeatureGroupDetailResponse, GET, settings ?? undefined);
}

export function fetchSearches(settings?: Settings): Promise<SearchListResponse> {
  return requestAPI('searches', SearchListResponse, GET, settings ?? undefined);
}

export function fetchSearch(id: number, settings?: Settings): Promise<SearchDetailResponse> {
  return requestAPI(`searches/${id}`, SearchDetailResponse, GET, settings ?? undefined);
}

/**
 * Follows the hub's `/v1/events` stream: calls `onChange` with the store's change counters whenever they
 * move. EventSource reconnects by itself (the hub ends each stream after a few minutes, and a hub that
 * went away is retried); `onState` says whether the stream is open.
 */
export function followStoreChanges<T extends StoreChangeCounters = StoreChangeCounters>(
  onChange: (counters: T) => void,
  onState: (open: boolean) => void = () => undefined,
  settings: ServerConnection.ISettings = ServerConnection.makeSettings(),
  /** The counters' contract; a wider one (e.g. ServingChangeCounters) keeps the fields it adds. */
  contract: ZodType<T> = StoreChangeCounters as unknown as ZodType<T>,
): IDisposable {
  let url = hubUrl('events', settings);
  // EventSource cannot send an Authorization header: the token goes in the query (Jupyter accepts it there).
  if (settings.token) url += `?token=${encodeURIComponent(settings.token)}`;
  const source = new EventSource(url, { withCredentials: true });
  const onMessage = (event: MessageEvent<string>): void => {
    try {
      const parsed = contract.safeParse(JSON.parse(event.data));
      if (parsed.success) onChange(parsed.data);
    } catch {
      // a malformed event is ignored; the next one carries the full counters again
    }
  };
  const onOpen = (): void => onState(true);
  const onError = (): void => onState(false);
  source.addEventListener('changes', onMessage as EventListener);
  source.addEventListener('open', onOpen);
  source.addEventListener('error', onError);
  let disposed = false;
  return {
    get isDisposed() {
      return disposed;
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      source.removeEventListener('changes', onMessage as EventListener);
      source.removeEventListener('open', onOpen);
      source.removeEventListener('error', onError);
      source.close();
    },
  };
}
