/**
 * The feature store's view of validation (kernel-services/src/validation): per insert it needs the
 * report to store with the commit, which rows failed and why, and whether policy `strict` rejects the
 * commit. The rule set is stored with the feature group as JSON and rebuilt on each insert.
 */
import type { FeatureRow, FeatureSchema } from '@floe/schema';
import { RuleSet, validateForCommit, type CommitValidation } from '../validation';
import { FeatureStoreError } from './errors';

/** A rule set in its stored (JSON) form (RuleSet.toJSON). */
export type StoredRuleSet = { policy?: 'always' | 'strict'; name?: string; [k: string]: unknown };

export type ValidationOutcome = CommitValidation;

export function validateRows(rows: FeatureRow[], schema: FeatureSchema, ruleSet: StoredRuleSet): ValidationOutcome {
  return validateForCommit(rows, schema, ruleSet);
}

/** The rule set as stored with a feature group; refuses one that would not load back. */
export function storableRuleSet(ruleSet: unknown, group: string): StoredRuleSet {
  const json = JSON.parse(JSON.stringify(ruleSet)) as StoredRuleSet;
  try {
    RuleSet.fromJSON(json);
  } catch (err) {
    throw new FeatureStoreError(`feature group '${group}': rule set cannot be stored: ${(err as Error).message}`);
  }
  return json;
}
