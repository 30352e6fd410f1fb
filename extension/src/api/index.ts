export { fetchHubInfo } from './hub';
export { HUB_PROXY_PATH, HubRequestError, hubUrl, requestAPI } from './request';
export type { HubRequestFailure } from './request';
export {
  fetchExperiments,
  fetchFeatureGroup,
  fetchFeatureGroups,
  fetchModel,
  fetchModelLineage,
  fetchModels,
  fetchRunDetail,
  fetchRuns,
  fetchSearch,
  fetchSearches,
  followStoreChanges,
} from './panels';
export { commitLabels, fetchLabelOverlays } from './labels';
export { fetchDeployment, fetchDeployments, followServingChanges } from './deployments';
