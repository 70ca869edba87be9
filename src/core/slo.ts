import { z } from 'zod';
import { duration } from './duration';

/**
 * SLOs in Sloth's format (https://sloth.dev, spec `prometheus/v1`) and multi-window,
 * multi-burn-rate alerting as the SRE Workbook describes it ("Alerting on SLOs", recommended
 * parameters). Pure: queries are rendered here and answered elsewhere (slo-evaluator.ts).
 */

/** Every window an alert row may use; the Workbook's table uses exactly these. */
export const BURN_WINDOWS = ['5m', '30m', '1h', '2h', '6h', '1d', '3d'] as const;
export type BurnWindow = (typeof BURN_WINDOWS)[number];

const MINUTE = 60_000;
export const BURN_WINDOW_MS: Readonly<Record<BurnWindow, number>> = {
  '5m': 5 * MINUTE,
  '30m': 30 * MINUTE,
  '1h': 60 * MINUTE,
  '2h': 120 * MINUTE,
  '6h': 360 * MINUTE,
  '1d': 1440 * MINUTE,
  '3d': 4320 * MINUTE,
};
export const DEFAULT_SLO_WINDOW_MS = 30 * 1440 * MINUTE;

export type AlertSeverity = 'page' | 'ticket';

/** Fires when both windows burn faster than spending `budgetPercent` of the budget in the long window. */
export interface AlertRow {
  severity: AlertSeverity;
  longWindow: BurnWindow;
  shortWindow: BurnWindow;
  budgetPercent: number;
}

/** The Workbook's recommended parameters, which Sloth also uses for 30d and 28d. */
export const DEFAULT_ALERT_TABLE: readonly AlertRow[] = [
  { severity: 'page', longWindow: '1h', shortWindow: '5m', budgetPercent: 2 },
  { severity: 'page', longWindow: '6h', shortWindow: '30m', budgetPercent: 5 },
  { severity: 'ticket', longWindow: '1d', shortWindow: '2h', budgetPercent: 10 },
  { severity: 'ticket', longWindow: '3d', shortWindow: '6h', budgetPercent: 10 },
];

/** A strict object whose unknown keys are reported with the keys it does know: typos fail loudly. */
function strict<T extends z.core.$ZodLooseShape>(shape: T) {
  const known = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}; use ${known}` : undefined),
  });
}

const windowEnum = z.enum(BURN_WINDOWS, { error: `a window must be one of: ${BURN_WINDOWS.join(', ')}` });

export const alertTableSchema = z
  .array(
    strict({
      severity: z.enum(['page', 'ticket'], { error: 'severity must be page or ticket' }),
      longWindow: windowEnum,
      shortWindow: windowEnum,
      budgetPercent: z.number({ error: 'budgetPercent must be a number, like 2 (percent of the error budget)' }).gt(0, 'budgetPercent must be above 0').max(100, 'budgetPercent must be at most 100'),
    }).refine((row) => BURN_WINDOW_MS[row.shortWindow] < BURN_WINDOW_MS[row.longWindow], {
      message: 'shortWindow must be shorter than longWindow, like longWindow: 1h with shortWindow: 5m',
    }),
  )
  .min(1, 'list at least one alert row, or leave the table out for the default');

// ---- Exact decimal arithmetic: percents come from YAML as the decimals their authors wrote.

interface Fraction {
  num: bigint;
  den: bigint;
}

/** 99.9 -> 999/10, read from the number's shortest decimal form (which is what was written). */
function fraction(value: number): Fraction {
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/.exec(String(value));
  if (!match) throw new RangeError(`${value} is not a finite number`);
  const [, sign, int, frac = '', exp = '0'] = match;
  const scale = frac.length - Number(exp);
  const digits = BigInt(`${sign}${int}${frac}`);
  return scale >= 0 ? { num: digits, den: 10n ** BigInt(scale) } : { num: digits * 10n ** BigInt(-scale), den: 1n };
}

const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? (a < 0n ? -a : a) : gcd(b, a % b));

/** The double nearest the fraction: one correctly rounded division of two exact integers. */
function toNumber({ num, den }: Fraction): number {
  const d = gcd(num, den);
  return Number(num / d) / Number(den / d);
}

/** (100 - objective) / 100 as an exact fraction: 99.9 -> 1/1000, where 1 - 0.999 would give 0.0010000000000000009. */
function budgetFraction(objective: number): Fraction {
  const { num, den } = fraction(objective);
  const top = 100n * den - num;
  const bottom = 100n * den;
  const d = gcd(top, bottom);
  return { num: top / d, den: bottom / d };
}

/** The error budget as a ratio of events: 99.9 -> 0.001, exactly the double 0.001. */
export const errorBudget = (objective: number): number => toNumber(budgetFraction(objective));

/**
 * The burn rate an alert row fires above: budgetPercent/100 × SLO period / long window. Computed
 * as one exact fraction in integer milliseconds, then rounded once to the nearest double: 30d gives
 * 14.4, 6, 3, 1 and 28d 13.44, 5.6, 2.8, 0.9333333333333333. Sloth multiplies floats and prints
 * 5.6000000000000005 and 2.8000000000000003 for 28d; these are the same thresholds to the last bit
 * but one, and the decimals people write in runbooks.
 */
export function burnFactor(row: Pick<AlertRow, 'budgetPercent' | 'longWindow'>, windowMs: number): number {
  const percent = fraction(row.budgetPercent);
  return toNumber({ num: percent.num * BigInt(Math.round(windowMs)), den: percent.den * 100n * BigInt(BURN_WINDOW_MS[row.longWindow]) });
}

// ---- Sloth's spec and Shipmate's SLO entry.

const WINDOW_PLACEHOLDER = /\{\{\s*\.window\s*\}\}/g;
const HAS_WINDOW = /\{\{\s*\.window\s*\}\}/;
const ANY_PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const EXAMPLE = 'sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))';

const query = z
  .string({ error: `must be a PromQL query, like ${EXAMPLE}` })
  .trim()
  .min(1, `must be a PromQL query, like ${EXAMPLE}`)
  .superRefine((text, ctx) => {
    const unknown = [...text.matchAll(ANY_PLACEHOLDER)].map((m) => m[1]).filter((name) => name !== '.window');
    if (unknown.length > 0) {
      ctx.addIssue({ code: 'custom', message: `the query \`${text}\` uses ${unknown.map((n) => `{{${n}}}`).join(', ')}; only {{.window}} is filled in` });
    } else if (!HAS_WINDOW.test(text)) {
      ctx.addIssue({ code: 'custom', message: `the query \`${text}\` has no {{.window}}; write its range as [{{.window}}], like ${EXAMPLE}` });
    }
  });

const labels = z.record(z.string(), z.string(), { error: 'labels must map names to strings' });

const sli = z
  .strictObject(
    {
      events: strict({ error_query: query, total_query: query }).optional(),
      raw: strict({ error_ratio_query: query }).optional(),
      plugin: z.unknown().optional(), // Sloth's SLI plugins: named below, so the message can say why
    },
    { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}; use events or raw` : undefined) },
  )
  .superRefine((value, ctx) => {
    if (value.plugin !== undefined) ctx.addIssue({ code: 'custom', path: ['plugin'], message: 'SLI plugins are not supported; write the queries as events (error_query, total_query) or raw (error_ratio_query)' });
    else if ((value.events === undefined) === (value.raw === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'set exactly one of events (error_query and total_query) or raw (error_ratio_query)' });
    }
  });

const alert = strict({ disable: z.boolean().optional(), labels: labels.optional(), annotations: labels.optional() });

/** Sloth's `alerting`; Shipmate reads the runbook from its annotations and honours `disable`. */
const alerting = strict({
  name: z.string().optional(),
  labels: labels.optional(),
  annotations: labels.optional(),
  page_alert: alert.optional(),
  ticket_alert: alert.optional(),
});

const sloFields = {
  name: z.string({ error: 'name is required, like requests-availability' }).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'an SLO name holds letters, digits, ".", "_" or "-", like requests-availability'),
  objective: z
    .number({ error: 'objective must be a percent, like 99.9' })
    .gt(0, 'objective is a percent above 0 and below 100, like 99.9')
    .lt(100, 'objective is a percent above 0 and below 100, like 99.9 (100 leaves no error budget to burn)'),
  description: z.string().optional(),
  labels: labels.optional(),
  sli,
  alerting: alerting.optional(),
};

/** One SLO under a service in shipmate.yml: Sloth's fields plus the SLO period and a runbook. */
export const sloSpecSchema = strict({
  ...sloFields,
  window: duration.default(DEFAULT_SLO_WINDOW_MS),
  runbook: z.url({ protocol: /^https?$/, error: 'runbook must be an http(s) URL' }).optional(),
});
export type SloSpec = z.output<typeof sloSpecSchema>;

/** A whole Sloth file (one YAML document): `version: "prometheus/v1"`, a service and its SLOs. */
export const slothSpecSchema = z
  .strictObject({
    version: z.literal('prometheus/v1', { error: 'version must be "prometheus/v1" (Sloth\'s raw Prometheus spec)' }),
    service: z.string({ error: 'service is required, like myservice' }).min(1, 'service is required, like myservice'),
    labels: labels.optional(),
    slos: z.array(strict(sloFields), { error: 'slos must be a list of SLOs' }).min(1, 'list at least one SLO under slos'),
  })
  .superRefine((spec, ctx) => {
    const seen = new Set<string>();
    spec.slos.forEach((slo, i) => {
      if (seen.has(slo.name)) ctx.addIssue({ code: 'custom', path: ['slos', i, 'name'], message: `another SLO of ${spec.service} is already named ${slo.name}; names must be unique` });
      seen.add(slo.name);
    });
  });
export type SlothSpec = z.output<typeof slothSpecSchema>;

export interface SloDefinition {
  service: string;
  name: string;
  /** Percent, 0 < objective < 100. */
  objective: number;
  /** The SLO period the budget is spent over, e.g. 30 days. */
  windowMs: number;
  sli: { kind: 'events'; errorQuery: string; totalQuery: string } | { kind: 'raw'; errorRatioQuery: string };
  runbook?: string;
  description?: string;
  /** Severities switched off with Sloth's `page_alert/ticket_alert: { disable: true }`. */
  disabledAlerts?: AlertSeverity[];
}

type SloFields = Omit<SloSpec, 'window' | 'runbook'> & { window?: number; runbook?: string };

export function toSloDefinition(service: string, spec: SloFields, windowMs = spec.window ?? DEFAULT_SLO_WINDOW_MS): SloDefinition {
  const { events, raw } = spec.sli;
  const annotations = spec.alerting?.annotations ?? {};
  const runbook = spec.runbook ?? annotations.runbook ?? annotations.runbook_url;
  const disabledAlerts = (['page', 'ticket'] as const).filter((s) => spec.alerting?.[`${s}_alert`]?.disable === true);
  return {
    service,
    name: spec.name,
    objective: spec.objective,
    windowMs,
    sli: events ? { kind: 'events', errorQuery: events.error_query, totalQuery: events.total_query } : { kind: 'raw', errorRatioQuery: raw!.error_ratio_query },
    ...(runbook !== undefined ? { runbook } : {}),
    ...(spec.description !== undefined ? { description: spec.description } : {}),
    ...(disabledAlerts.length > 0 ? { disabledAlerts } : {}),
  };
}

/** Sloth files carry no period; like Sloth's --default-slo-period, one is given for all (30d). */
export function definitionsFromSloth(spec: SlothSpec, options: { windowMs?: number } = {}): SloDefinition[] {
  return spec.slos.map((slo) => toSloDefinition(spec.service, slo, options.windowMs ?? DEFAULT_SLO_WINDOW_MS));
}

// ---- Queries and evaluation.

const PROM_DURATION = /^(\d+(ms|[smhdwy]))+$/;

function fill(template: string, window: string): string {
  if (!PROM_DURATION.test(window)) throw new RangeError(`"${window}" is not a PromQL duration like 5m or 30d`);
  return template.replace(WINDOW_PLACEHOLDER, window);
}

/** The error ratio over `window` (any PromQL duration): `(<errors>) / (<total>)`, or the raw ratio. */
export function windowQuery(def: SloDefinition, window: string): string {
  return def.sli.kind === 'events' ? `(${fill(def.sli.errorQuery, window)}) / (${fill(def.sli.totalQuery, window)})` : fill(def.sli.errorRatioQuery, window);
}

/** The event rate over `window`, for events SLIs; a raw ratio has no total to watch. */
export function totalQuery(def: SloDefinition, window: string): string | undefined {
  return def.sli.kind === 'events' ? fill(def.sli.totalQuery, window) : undefined;
}

export interface FiringAlert {
  severity: AlertSeverity;
  longWindow: BurnWindow;
  shortWindow: BurnWindow;
  factor: number;
}

export interface BurnEvaluation {
  errorRatio: Record<BurnWindow, number | null>;
  burnRate: Record<BurnWindow, number | null>;
  alerts: FiringAlert[];
}

/**
 * A ratio is data only when finite. NaN is 0/0 (no traffic), and +Inf (errors over a zero
 * total) cannot come from real counters, only from mismatched selectors; neither says how fast
 * the budget burns, so both are no data, and no data never fires.
 */
const data = (value: number | null | undefined): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);

/** ratio / budget, with the budget's exact fraction: 0.0144 over 99.9 is 14.4, not 14.399999999999999. */
function burnOf(objective: number, ratio: number | null): number | null {
  if (ratio === null) return null;
  const budget = budgetFraction(objective);
  return (ratio * Number(budget.den)) / Number(budget.num);
}

export function evaluateBurn(def: SloDefinition, table: readonly AlertRow[], ratios: Partial<Record<BurnWindow, number | null>>): BurnEvaluation {
  const errorRatio = Object.fromEntries(BURN_WINDOWS.map((w) => [w, data(ratios[w])])) as Record<BurnWindow, number | null>;
  const burnRate = Object.fromEntries(BURN_WINDOWS.map((w) => [w, burnOf(def.objective, errorRatio[w])])) as Record<BurnWindow, number | null>;
  const above = (window: BurnWindow, factor: number) => burnRate[window] !== null && burnRate[window]! > factor;
  const alerts = table
    .filter((row) => !def.disabledAlerts?.includes(row.severity))
    .map((row) => ({ severity: row.severity, longWindow: row.longWindow, shortWindow: row.shortWindow, factor: burnFactor(row, def.windowMs) }))
    .filter((row) => above(row.longWindow, row.factor) && above(row.shortWindow, row.factor));
  return { errorRatio, burnRate, alerts };
}

export function worstSeverity(alerts: readonly { severity: AlertSeverity }[]): AlertSeverity | null {
  return alerts.some((a) => a.severity === 'page') ? 'page' : alerts.length > 0 ? 'ticket' : null;
}

/** The fraction of the budget left after `ratio` over the SLO period: 1 untouched, 0 spent, below 0 overspent. */
export function budgetRemaining(def: SloDefinition, ratioOverSloWindow: number | null | undefined): number | null {
  const burn = burnOf(def.objective, data(ratioOverSloWindow));
  return burn === null ? null : 1 - burn;
}

/** Traffic before (a positive total over the lookback) and none now (zero or no series over the stop window). */
export function trafficStopped(totalNow: number | null, totalBefore: number | null): boolean {
  const before = data(totalBefore);
  const now = data(totalNow);
  return before !== null && before > 0 && (now === null || now <= 0);
}
