import type { MetricReading } from '../src/core/canary-analysis';
import { isComparison, type AnalysisMetric } from '../src/core/canary-config';
import { toWire } from '../src/core/canary-analysis';
import type { Clock } from '../src/core/clock';
import { AppError } from '../src/core/errors';
import type { InstantMetricsProvider, MetricsProvider, Series } from '../src/core/metrics';
import type { DeployerFactory, QueuedEffect } from '../src/core/ports';
import { fillQueryTemplate, type QueryVariables } from '../src/core/query-template';
import type { CanaryEvent, FlagStepPayload, MeasurePayload, WeightPayload } from './canary-flow';
import type { FlagService } from './flag-service';
import type { EffectHandler } from './effect-worker';

/** Tries of a canary's abort (weight 0), with the worker's backoff between them. */
const ABORT_ATTEMPTS = 3;

/** The metrics backends of shipmate.yml by name; `web` ones have no history. */
export interface MetricsProviders {
  get(name: string): { provider: InstantMetricsProvider | MetricsProvider; encodeValues: boolean } | undefined;
}

/** Moves canary traffic through the target's deployer and reports what happened to the flow. */
export function canaryWeightHandler(deployers: DeployerFactory): EffectHandler {
  return async (effect: QueuedEffect): Promise<CanaryEvent> => {
    const p = effect.payload as WeightPayload;
    let ok: boolean;
    let detail: string;
    try {
      const outcome = await deployers.forTarget(p.service, p.environment).deploy({
        deploymentId: p.deploymentId,
        service: p.service,
        environment: p.environment,
        version: p.version,
        requestedBy: p.requestedBy,
        idempotencyKey: effect.idempotencyKey,
        canary: { weight: p.weight, baselineVersion: p.baselineVersion },
      });
      ok = outcome.ok;
      detail = (outcome.ok ? outcome.summary : outcome.error).slice(0, 1000);
    } catch (error) {
      [ok, detail] = [false, error instanceof Error ? error.message : String(error)];
    }
    // Moving traffic back is worth a few more tries before the deploy is left as "rollback failed".
    if (!ok && p.step === null && effect.attempts + 1 < ABORT_ATTEMPTS) throw new Error(`moving traffic back failed, trying again: ${detail}`);
    return p.step === null ? { type: 'canary.aborted', ok, detail } : { type: 'canary.weight-set', step: p.step, weight: p.weight, ok, detail };
  };
}

const message = (error: unknown): string => (error instanceof AppError ? error.userMessage : error instanceof Error ? error.message : String(error));

/** Exactly one series per side: several would compare the wrong thing, as with instant queries. */
function onlySeries(series: Series[], query: string): (number | null)[] {
  if (series.length > 1) throw new Error(`\`${query}\` returned ${series.length} series where one is expected; aggregate it (sum, avg, max)`);
  return (series[0]?.points ?? []).map((p) => (Number.isNaN(p.value) ? null : p.value));
}

async function read(metric: AnalysisMetric, providers: MetricsProviders, variables: QueryVariables, at: Date, windowMs: number, stepMs: number): Promise<MetricReading> {
  const found = providers.get(metric.provider);
  if (!found) return { metric: metric.name, kind: 'error', error: `no metrics provider "${metric.provider}" in shipmate.yml` };
  const fill = (template: string) => fillQueryTemplate(template, variables, found.encodeValues ? { encode: encodeURIComponent } : {});
  try {
    if (isComparison(metric)) {
      const { provider } = found;
      if (!('queryRange' in provider)) throw new Error(`provider "${metric.provider}" keeps no history, so it cannot compare canary and baseline`);
      const range = { from: new Date(at.getTime() - windowMs), to: at, stepMs };
      const [canaryQuery, baselineQuery] = [fill(metric.canaryQuery), fill(metric.baselineQuery)];
      const [canary, baseline] = await Promise.all([provider.queryRange({ query: canaryQuery, ...range }), provider.queryRange({ query: baselineQuery, ...range })]);
      return { metric: metric.name, kind: 'samples', canary: onlySeries(canary, canaryQuery), baseline: onlySeries(baseline, baselineQuery) };
    }
    const measured = await found.provider.query({ query: fill(metric.query), at });
    return measured.kind === 'value' ? { metric: metric.name, kind: 'value', value: toWire(measured.value) } : { metric: metric.name, kind: 'no-data' };
  } catch (error) {
    return { metric: metric.name, kind: 'error', error: message(error) };
  }
}

/**
 * Takes one measurement of an analysis: every metric at the same instant. A backend's failure is
 * a reading of its own (an error), never a thrown effect: the analysis counts errors in a row.
 */
export function canaryMeasureHandler(deps: { providers: MetricsProviders; clock: Clock }): EffectHandler {
  return async (effect: QueuedEffect): Promise<CanaryEvent> => {
    const p = effect.payload as MeasurePayload;
    const at = deps.clock();
    const windowMs = p.analysis.window ?? p.analysis.interval;
    const readings = await Promise.all(p.analysis.metrics.map((m) => read(m, deps.providers, p.variables, at, windowMs, p.analysis.step)));
    return { type: 'canary.measured', step: p.step, tick: p.tick, at: at.toISOString(), readings };
  };
}

/**
 * A canary's flag step: asks for the change at once (a canary step needs no second approval: the
 * deploy passed its own). The step's idempotency key is the request key, so a retry asks once.
 */
export function canaryFlagHandler(flags: FlagService): EffectHandler {
  return async (effect: QueuedEffect): Promise<CanaryEvent> => {
    const p = effect.payload as FlagStepPayload;
    try {
      const { change } = flags.request(
        { flag: p.flag, environment: p.environment, change: p.change, requestKey: effect.idempotencyKey, skipApproval: true, reason: `step ${p.step + 1} of the canary of deploy #${p.deploymentId}` },
        { userId: p.requestedBy, source: 'system' },
      );
      return { type: 'canary.flag-set', step: p.step, ok: true, detail: `asked for flag change #${change.id} of ${p.flag}.`, changeId: change.id };
    } catch (error) {
      return { type: 'canary.flag-set', step: p.step, ok: false, detail: message(error) };
    }
  };
}

/** After a canary's rollback: undoes the flag changes its steps made, newest first. One that cannot be undone is left and said in the log. */
export function canaryFlagUndoHandler(flags: FlagService, log: { warn(obj: object, msg: string): void }): EffectHandler {
  return async (effect: QueuedEffect): Promise<void> => {
    const { changeIds } = effect.payload as { changeIds: number[] };
    for (const id of changeIds) {
      // Still being applied: try again later (the worker backs off), rather than leave it on.
      if (flags.find(id)?.status === 'applying') throw new Error(`flag change #${id} is still being applied`);
      try {
        await flags.undo(id, { userId: 'system', source: 'system' }, `${effect.idempotencyKey}:${id}`, { asShipmate: true });
      } catch (error) {
        log.warn({ changeId: id, err: message(error) }, 'could not undo a flag change of a rolled back canary');
      }
    }
  };
}
