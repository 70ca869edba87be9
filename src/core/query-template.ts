import { ConfigError, ValidationError } from './errors';

/** What a canary query may refer to, as `{{service}}` and so on. */
export const QUERY_PLACEHOLDERS = ['service', 'env', 'version', 'baseline_version', 'window'] as const;
export type QueryPlaceholder = (typeof QUERY_PLACEHOLDERS)[number];
export type QueryVariables = Partial<Record<QueryPlaceholder, string>>;

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
/**
 * Versions come from whoever typed `/deploy`. A quote or brace would let them rewrite the query
 * (`1.4.2"} or vector(0)`) and pass their own canary, so values are held to the characters that
 * versions, service names and durations use, instead of escaping for each query language.
 */
const SAFE_VALUE = /^[A-Za-z0-9._:@+\-/]+$/;

const known = (name: string): name is QueryPlaceholder => (QUERY_PLACEHOLDERS as readonly string[]).includes(name);
const listed = QUERY_PLACEHOLDERS.map((name) => `{{${name}}}`).join(', ');

/** The placeholders a template uses, in order of first use. */
export function placeholdersIn(template: string): string[] {
  return [...new Set([...template.matchAll(PLACEHOLDER)].map((match) => match[1] ?? ''))];
}

/** For config checks: throws ConfigError when a template uses a placeholder that does not exist. */
export function checkQueryTemplate(template: string): void {
  const unknown = placeholdersIn(template).filter((name) => !known(name));
  if (unknown.length > 0) {
    const names = unknown.map((name) => `{{${name}}}`).join(', ');
    throw new ConfigError(`The query \`${template}\` uses ${names}, which ${unknown.length > 1 ? 'are' : 'is'} not known; use ${listed}`);
  }
  if (/\{\{|\}\}/.test(template.replace(PLACEHOLDER, ''))) {
    throw new ConfigError(`The query \`${template}\` has a {{ or }} that does not form a placeholder; use ${listed}`);
  }
}

export interface FillOptions {
  /** Applied to each value after it is checked: encodeURIComponent for a URL (the web provider). */
  encode?: (value: string) => string;
}

/**
 * Puts the deploy's facts into a query: `{{version}}` becomes 1.4.2. Throws ConfigError for a
 * placeholder that does not exist, and ValidationError for one the deploy has no value for (a
 * first deploy has no baseline) or a value that could change the query's meaning.
 */
export function fillQueryTemplate(template: string, variables: QueryVariables, options: FillOptions = {}): string {
  checkQueryTemplate(template);
  return template.replace(PLACEHOLDER, (_match, name: QueryPlaceholder) => {
    const value = variables[name];
    if (value === undefined || value === '') throw new ValidationError(`The query \`${template}\` uses {{${name}}}, but this deploy has no ${name.replace('_', ' ')}`);
    if (!SAFE_VALUE.test(value)) {
      throw new ValidationError(`${name.replace('_', ' ')} ${JSON.stringify(value)} cannot go into a metrics query: use letters, digits and . _ - + : / @`);
    }
    return options.encode ? options.encode(value) : value;
  });
}

/** Milliseconds as a PromQL duration in the largest exact unit, for `{{window}}`: 300000 -> "5m". */
export function promDuration(milliseconds: number): string {
  const units: [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ];
  const ms = Math.round(milliseconds);
  if (ms <= 0) throw new ValidationError(`A query window must be positive, not ${milliseconds}ms`);
  for (const [unit, size] of units) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}
