/**
 * The feature store's view of validation (kernel-services/src/validation): it needs, per insert,
 * the report to store with the commit, which rows failed and why, and whether policy `strict`
 * rejects the commit. The rule set is stored with the feature group as JSON.
 */
import type { FeatureRow, FeatureSchema } from '@floe/schema';

/** A rule set in its stored (JSON) form, as the validation module serialises it. */
export type StoredRuleSet = { policy?: 'always' | 'strict'; [k: string]: unknown };

export interface ValidationOutcome {
  /** JSON-serialisable report stored with the commit. */
  report: unknown;
  /** Row index → reasons, for rows that failed a row-level rule. */
  rejected: Map<number, string[]>;
  /** Policy strict and something failed. */
  rejectCommit: boolean;
  /** One line for error messages. */
  summary: string;
}

interface ValidationModule {
  validateForCommit?: (rows: FeatureRow[], schema: FeatureSchema, ruleSet: StoredRuleSet) => ValidationOutcome;
}

let mod: ValidationModule | undefined;

function validation(): ValidationModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  mod ??= require('../validation') as ValidationModule;
  return mod;
}

export function validateRows(rows: FeatureRow[], schema: FeatureSchema, ruleSet: StoredRuleSet): ValidationOutcome {
  const v = validation();
  if (!v.validateForCommit) throw new Error('the validation module does not provide validateForCommit');
  return v.validateForCommit(rows, schema, ruleSet);
}

/** Checks a rule set can be stored with a feature group (JSON round trip). */
export function storableRuleSet(ruleSet: unknown): StoredRuleSet {
  return JSON.parse(JSON.stringify(ruleSet)) as StoredRuleSet;
}
