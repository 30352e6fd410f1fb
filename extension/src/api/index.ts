export { fetchHubInfo } from './hub';
export { HUB_PROXY_PATH, HubRequestError, hubUrl, requestAPI } from './request';
export type { HubRequestFailure } from './request';
