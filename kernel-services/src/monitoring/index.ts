/**
 * Drift monitoring: logged serving requests compared with the training statistics (PSI, KS, mean
 * shift, angle missing rate, prediction rate), alerts recorded in the store, notebook and CLI reports.
 */
export { monitorDrift, driftAlerts, type MonitorOptions } from './monitor';
export { driftBundle, renderDriftText, renderDriftHtml } from './display';
export { evaluateWindow, psi, ks, type LoggedRequest } from './drift';
export {
  loadReferenceStatistics,
  type ReferenceStatistics,
  type ReferenceBand,
  type ReferenceAngle,
} from './reference';
export { summarizeInputs, mergeBandSummaries } from './summary';
