import { createHash } from 'node:crypto';
import type { FlagState, FlagValue, TargetingRule } from './flags';

/**
 * How Shipmate's own flags are evaluated for a context: the rules OFREP clients see. Pure; the
 * reasons and error codes are OpenFeature's, so the HTTP layer passes them through unchanged.
 */

/**
 * DISABLED: the flag is off. TARGETING_MATCH: a rule decided. SPLIT: the rollout decided (in or
 * out). STATIC: the flag has neither rules nor a rollout. DEFAULT: it has rules, none matched.
 */
export type EvaluationReason = 'DISABLED' | 'TARGETING_MATCH' | 'SPLIT' | 'STATIC' | 'DEFAULT';

export interface FlagEvaluation {
  key: string;
  value: FlagValue;
  variant: string;
  reason: EvaluationReason;
}

/** GENERAL means the stored flag names a variant it does not define. */
export interface FlagEvaluationError {
  key: string;
  errorCode: 'TARGETING_KEY_MISSING' | 'INVALID_CONTEXT' | 'GENERAL';
  errorDetails: string;
}

export type EvaluationContext = Record<string, unknown>;

/** Longer attribute values never match a `matches` rule: a bound on the regular expression's work. */
export const MAX_MATCHED_LENGTH = 1_000;

/** The targeting key's bucket in [0, 100): the same for a flag and key however the percentage changes. */
export function bucketOf(flagKey: string, targetingKey: string): number {
  const digest = createHash('sha256').update(`${flagKey}\u0000${targetingKey}`).digest();
  return (digest.readUInt32BE(0) / 2 ** 32) * 100;
}

/** Rules compare the string form of numbers and booleans too; objects, lists and absent attributes match nothing. */
function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

const compiled = new Map<string, RegExp | null>();

/** Patterns with a quantified group inside a quantified group can take exponential time on a near miss. */
const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)\s*[+*{]/;
export const MAX_PATTERN_LENGTH = 200;
const ESCAPED = /\\./g;
const CHARACTER_CLASS = /\[[^\]]*\]/g;
const QUANTIFIED_GROUP = /\)\s*(?:[*+?]|\{\d)/;
const UNBOUNDED = /[*+]|\{\d+,\}/g;

/**
 * Why a targeting pattern is refused, or undefined when it is fine: not a regular expression,
 * too long, or shaped to backtrack for ever (apps send the contexts, and OFREP keys are often public).
 */
export function patternProblem(source: string): string | undefined {
  if (source.length > MAX_PATTERN_LENGTH) return `it is over ${MAX_PATTERN_LENGTH} characters`;
  if (NESTED_QUANTIFIER.test(source)) return 'a repeated group inside a repetition could take very long to match';
  // Backtracking blows up only through repeated groups or several unbounded repeats that can share
  // characters; allowing neither keeps every match linear-ish (one [class]+ and fixed text is fine).
  if (QUANTIFIED_GROUP.test(source)) return 'a repeated group (…)* could take very long to match; repeat a [character class] instead';
  if ((source.replace(ESCAPED, 'x').replace(CHARACTER_CLASS, 'x').match(UNBOUNDED) ?? []).length > 1) return 'more than one unbounded repeat (*, + or {n,}) could take very long to match';
  try {
    new RegExp(source);
  } catch (error) {
    return `it is not a regular expression (${(error as Error).message})`;
  }
  return undefined;
}

/** A rule's pattern, compiled once; null when it is refused (see patternProblem): such a rule never matches. */
function patternOf(source: string): RegExp | null {
  if (!compiled.has(source)) {
    const pattern = patternProblem(source) === undefined ? new RegExp(source) : null;
    if (compiled.size >= 1_000) compiled.clear();
    compiled.set(source, pattern);
  }
  return compiled.get(source) ?? null;
}

function ruleMatches(rule: TargetingRule, context: EvaluationContext): boolean {
  const text = textOf(context[rule.attribute]);
  if (text === undefined) return false;
  switch (rule.op) {
    case 'equals':
      return rule.values.length > 0 && text === rule.values[0];
    case 'in':
      return rule.values.includes(text);
    case 'matches': {
      const pattern = rule.values[0] === undefined ? null : patternOf(rule.values[0]);
      return pattern !== null && text.length <= MAX_MATCHED_LENGTH && pattern.test(text);
    }
    default:
      return false;
  }
}

function serve(flag: FlagState, variant: string, reason: EvaluationReason): FlagEvaluation | FlagEvaluationError {
  if (!Object.prototype.hasOwnProperty.call(flag.variants, variant)) {
    return { key: flag.key, errorCode: 'GENERAL', errorDetails: `flag ${flag.key} in ${flag.environment} serves variant "${variant}", which it does not define` };
  }
  return { key: flag.key, value: flag.variants[variant] as FlagValue, variant, reason };
}

/** Off serves the off variant; then the first matching rule; then the rollout; else the default variant. */
export function evaluateFlag(flag: FlagState, context: EvaluationContext): FlagEvaluation | FlagEvaluationError {
  if (!flag.enabled) return serve(flag, flag.offVariant, 'DISABLED');
  const rule = flag.rules.find((r) => ruleMatches(r, context));
  if (rule) return serve(flag, rule.variant, 'TARGETING_MATCH');
  if (flag.rollout) {
    const targetingKey = context.targetingKey;
    if (targetingKey !== undefined && typeof targetingKey !== 'string') {
      return { key: flag.key, errorCode: 'INVALID_CONTEXT', errorDetails: 'targetingKey must be a string' };
    }
    if (!targetingKey) {
      return { key: flag.key, errorCode: 'TARGETING_KEY_MISSING', errorDetails: `flag ${flag.key} is rolled out to ${flag.rollout.percentage}%: the context needs a targetingKey` };
    }
    const inRollout = bucketOf(flag.key, targetingKey) < flag.rollout.percentage;
    return serve(flag, inRollout ? flag.rollout.variant : flag.defaultVariant, 'SPLIT');
  }
  return serve(flag, flag.defaultVariant, flag.rules.length > 0 ? 'DEFAULT' : 'STATIC');
}

export interface ContextError {
  errorCode: 'PARSE_ERROR' | 'INVALID_CONTEXT';
  errorDetails: string;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The context of an OFREP request body `{ context }`. The body must be an object; `context` may be
 * left out (an empty context), as OFREP does not require it, but when given it must be an object.
 */
export function validateContext(body: unknown): { context: EvaluationContext } | ContextError {
  if (!isObject(body)) return { errorCode: 'PARSE_ERROR', errorDetails: 'the body must be a JSON object: {"context": {...}}' };
  if (body.context === undefined) return { context: {} };
  if (!isObject(body.context)) return { errorCode: 'PARSE_ERROR', errorDetails: 'context must be a JSON object' };
  const { targetingKey } = body.context;
  if (targetingKey !== undefined && typeof targetingKey !== 'string') {
    return { errorCode: 'INVALID_CONTEXT', errorDetails: 'context.targetingKey must be a string' };
  }
  return { context: body.context };
}
