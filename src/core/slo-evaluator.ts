import { AppError, BatchRefusedError, ValidationError } from './errors';
import type { InstantMetricsProvider, Measurement } from './metrics';
import { promDuration } from './query-template';
import {
  type AlertRow,
  budgetRemaining,
  BURN_WINDOWS,
  type BurnWindow,
  evaluateBurn,
  type FiringAlert,
  type SloDefinition,
  totalQuery,
  trafficStopped,
  windowQuery,
} from './slo';

/** One SLO at one instant. Values are null when there is no data, and all null with `error` set when a query failed. */
export interface SloEvaluation {
  service: string;
  slo: string;
  objective: number;
  windowMs: number;
  errorRatio: Record<BurnWindow, number | null>;
  burnRate: Record<BurnWindow, number | null>;
  alerts: FiringAlert[];
  budgetRemaining: number | null;
  /** No burn window had data: no traffic, or series that do not exist. */
  noData: boolean;
  /** The first failed query, named; the other values are then null. */
  error?: string;
}

export interface EvaluateOptions {
  /** Queries in flight at once, over all SLOs together. */
  concurrency?: number;
}

/** Runs tasks with at most `concurrency` of them unfinished; a finished task hands its slot to the next in line. */
export function createLimiter(concurrency: number): <T>(task: () => Promise<T>) => Promise<T> {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new ValidationError(`concurrency must be a whole number of at least 1, not ${concurrency}`);
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (active < concurrency) active++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}

const describeError = (query: string, error: unknown): string =>
  error instanceof AppError ? error.userMessage : `query \`${query}\` failed: ${error instanceof Error ? error.message : String(error)}`;

/** SLOs whose queries the backend refused to take together: asked one by one on every tick. */
const unbatchable = new WeakSet<SloDefinition>();

const nulls = (): Record<BurnWindow, null> => Object.fromEntries(BURN_WINDOWS.map((w) => [w, null])) as Record<BurnWindow, null>;

/**
 * Evaluates every SLO at `at`: the error ratio over each burn window and over the SLO period
 * (for the budget). Never throws: a failed query marks its SLO with `error`, and the SLO's
 * queries not yet sent are skipped.
 */
export async function evaluateSlos(
  defs: readonly SloDefinition[],
  table: readonly AlertRow[],
  provider: InstantMetricsProvider,
  at: Date,
  { concurrency = 8 }: EvaluateOptions = {},
): Promise<SloEvaluation[]> {
  const limit = createLimiter(concurrency);
  return Promise.all(
    defs.map(async (def) => {
      let error: string | undefined;
      const value = (m: Measurement) => (m.kind === 'value' ? m.value : null);
      const read = (query: string) =>
        limit(async () => {
          if (error !== undefined) return null;
          try {
            return value(await provider.query({ query, at }));
          } catch (e) {
            error ??= describeError(query, e);
            return null;
          }
        });
      const queries = [windowQuery(def, promDuration(def.windowMs)), ...BURN_WINDOWS.map((w) => windowQuery(def, w))];
      // A backend that answers several queries in one request takes an SLO's in one slot; when it
      // cannot take them together they are asked one by one (and from then on, when it never will).
      const readAll = async (queryAll: NonNullable<InstantMetricsProvider['queryAll']>) =>
        limit(async () => {
          try {
            return (await queryAll({ queries, at })).map(value);
          } catch (e) {
            if (e instanceof BatchRefusedError) {
              if (e.lasting) unbatchable.add(def);
              return undefined;
            }
            error = describeError(queries[0]!, e);
            return queries.map(() => null);
          }
        });
      const batched = provider.queryAll && !unbatchable.has(def) ? await readAll(provider.queryAll.bind(provider)) : undefined;
      const [period, ...values] = batched ?? (await Promise.all(queries.map(read)));
      const base = { service: def.service, slo: def.name, objective: def.objective, windowMs: def.windowMs };
      if (error !== undefined) return { ...base, errorRatio: nulls(), burnRate: nulls(), alerts: [], budgetRemaining: null, noData: false, error };
      const ratios = Object.fromEntries(BURN_WINDOWS.map((w, i) => [w, values[i]]));
      const burn = evaluateBurn(def, table, ratios);
      return { ...base, ...burn, budgetRemaining: budgetRemaining(def, period), noData: BURN_WINDOWS.every((w) => burn.errorRatio[w] === null) };
    }),
  );
}

export interface TrafficStopCheck {
  stopped: boolean;
  /** Events per second over the stop window; null when no series answered. */
  totalNow: number | null;
  /** Events per second over the lookback. */
  totalBefore: number | null;
}

/**
 * Did the service go quiet? Reads the SLI's total over the last `stopAfterMs` and over the last
 * `lookbackMs`, both ending at `at`. Raw SLIs have no total, so the answer is undefined. Query
 * errors are thrown (ExternalServiceError): the caller counts them, as for canary metrics.
 */
export async function evaluateTrafficStop(
  def: SloDefinition,
  provider: InstantMetricsProvider,
  at: Date,
  stopAfterMs: number,
  lookbackMs: number,
): Promise<TrafficStopCheck | undefined> {
  if (lookbackMs <= stopAfterMs) throw new ValidationError(`the lookback (${promDuration(lookbackMs)}) must be longer than the stop window (${promDuration(stopAfterMs)})`);
  const now = totalQuery(def, promDuration(stopAfterMs));
  const before = totalQuery(def, promDuration(lookbackMs));
  if (now === undefined || before === undefined) return undefined;
  const value = async (query: string) => {
    const m = await provider.query({ query, at });
    return m.kind === 'value' && Number.isFinite(m.value) ? m.value : null;
  };
  const [totalNow, totalBefore] = await Promise.all([value(now), value(before)]);
  return { stopped: trafficStopped(totalNow, totalBefore), totalNow, totalBefore };
}
