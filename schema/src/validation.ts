import { z } from 'zod';

/**
 * Validation contract: the JSON form of rule sets (stored with a feature group) and of validation
 * reports (stored with every commit, rendered in notebooks and panels).
 */

export const ValidationPolicy = z.enum(['always', 'strict']);
export type ValidationPolicy = z.infer<typeof ValidationPolicy>;

export const RuleLevel = z.enum(['row', 'dataset']);
export type RuleLevel = z.infer<typeof RuleLevel>;

const ruleBase = {
  /** Unique within its rule set; defaults to a name derived from the rule. */
  name: z.string().min(1).optional(),
};

const features = z.array(z.string().min(1)).min(1).optional();

/** Built-in rules in their stored form. Custom rules are stored by name and resolved from a registry. */
export const RuleJson = z.discriminatedUnion('type', [
  /** Every (or each listed) feature is present, non-null unless nullable, of its dtype, tensors of their shape. */
  z.object({ type: z.literal('shape'), ...ruleBase, features }),
  /** No NaN or ±Infinity in float features (tensors: every element). */
  z.object({ type: z.literal('finite'), ...ruleBase, features }),
  /** Values (every tensor element) within [min, max]; nulls are not checked here. */
  z.object({
    type: z.literal('range'),
    ...ruleBase,
    feature: z.string().min(1),
    min: z.number().optional(),
    max: z.number().optional(),
  }),
  /** Dataset: the fraction of nulls in a feature is at most `max`. */
  z.object({ type: z.literal('missingRate'), ...ruleBase, feature: z.string().min(1), max: z.number().min(0).max(1) }),
  /** Rows repeating an earlier row's value of the feature (e.g. id) fail. */
  z.object({ type: z.literal('unique'), ...ruleBase, feature: z.string().min(1) }),
  /** Dataset: each class (non-null value) makes up at least `minFraction` and at most `maxFraction` of labelled rows. */
  z.object({
    type: z.literal('classBalance'),
    ...ruleBase,
    feature: z.string().min(1),
    minFraction: z.number().min(0).max(1).optional(),
    maxFraction: z.number().min(0).max(1).optional(),
    /** Classes that must appear (e.g. [0, 1]); a missing one fails the rule. */
    classes: z.array(z.union([z.number(), z.string(), z.boolean()])).optional(),
  }),
  /** A rule implemented in code, registered under this name. */
  z.object({
    type: z.literal('custom'),
    name: z.string().min(1),
    level: RuleLevel,
    description: z.string().optional(),
  }),
]);
export type RuleJson = z.infer<typeof RuleJson>;

export const RuleSetJson = z.object({
  version: z.literal(1).default(1),
  name: z.string().min(1),
  policy: ValidationPolicy.default('always'),
  /** The feature that identifies a row in reports (defaults to `id`, else the first string feature). */
  idFeature: z.string().optional(),
  rules: z.array(RuleJson),
});
export type RuleSetJson = z.infer<typeof RuleSetJson>;

/** One failing row, as an example in a rule's result. */
export const RuleFailureExample = z.object({
  row: z.number().int().nonnegative(),
  id: z.string().nullable(),
  message: z.string(),
});
export type RuleFailureExample = z.infer<typeof RuleFailureExample>;

export const RuleResult = z.object({
  rule: z.string(),
  type: z.string(),
  level: RuleLevel,
  passed: z.boolean(),
  /** Rows checked (row rules) or rows in the dataset (dataset rules). */
  checked: z.number().int().nonnegative(),
  /** Rows failing a row rule; for dataset rules 0 or 1 (the dataset). */
  failing: z.number().int().nonnegative(),
  /** What was measured, e.g. `missing 8.3% <= 15%`. */
  message: z.string(),
  /** Up to a few failing rows. */
  examples: z.array(RuleFailureExample),
});
export type RuleResult = z.infer<typeof RuleResult>;

/** A row kept aside by row-level rules: never silently dropped. */
export const RejectedRow = z.object({
  row: z.number().int().nonnegative(),
  id: z.string().nullable(),
  reasons: z.array(z.string()).min(1),
});
export type RejectedRow = z.infer<typeof RejectedRow>;

/**
 * `passed`: every rule passed. `accepted_with_failures`: policy always, some rule failed; rows failing
 * row rules are rejected (kept aside), the rest are committed. `rejected`: policy strict and a rule
 * failed, nothing is committed.
 */
export const ValidationOutcome = z.enum(['passed', 'accepted_with_failures', 'rejected']);
export type ValidationOutcome = z.infer<typeof ValidationOutcome>;

export const ValidationReport = z.object({
  version_major: z.literal(1),
  ruleSet: z.string(),
  policy: ValidationPolicy,
  outcome: ValidationOutcome,
  rows: z.number().int().nonnegative(),
  /** Rows that would be (or were) committed. 0 when the outcome is `rejected`. */
  accepted: z.number().int().nonnegative(),
  rules: z.array(RuleResult),
  rejected: z.array(RejectedRow),
  /** ISO time of the validation run. */
  validatedAt: z.string(),
  durationMs: z.number().nonnegative(),
});
export type ValidationReport = z.infer<typeof ValidationReport>;
