/** Validation of feature rows: rule sets declared in code, stored as JSON, reports per commit. */
export {
  RuleSet,
  RuleDefinitionError,
  rules,
  registerCustomRule,
  customRule,
  conformanceError,
  type Rule,
  type RowRule,
  type DatasetRule,
  type DatasetCheck,
  type RowContext,
  type CustomRowCheck,
  type CustomDatasetCheck,
} from './rules';
export { validate, validateForCommit, summarizeReport, type CommitValidation } from './validate';
export { icebergRules } from './iceberg';
export { renderReportText, renderReportHtml, validationReportBundle, VALIDATION_REPORT_MIME } from './render';
