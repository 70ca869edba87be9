import type { Clock } from '../src/core/clock';
import type { InstantMetricsProvider } from '../src/core/metrics';
import { promDuration } from '../src/core/query-template';
import type { AlertRow, SloDefinition } from '../src/core/slo';
import { createLimiter, evaluateSlos, evaluateTrafficStop, type SloEvaluation } from '../src/core/slo-evaluator';
import type { IncidentService, SloObservation } from './incident-service';

export interface SloMonitorDeps {
  defs: readonly SloDefinition[];
  table: readonly AlertRow[];
  provider: InstantMetricsProvider;
  clock: Clock;
  incidents: IncidentService;
  concurrency: number;
  trafficStopAfterMs: number;
  trafficLookbackMs: number;
  log: { warn(obj: object, msg: string): void };
}

function observation(def: SloDefinition, e: SloEvaluation, trafficStopped: boolean | undefined): SloObservation {
  return {
    service: e.service,
    slo: e.slo,
    runbook: def.runbook ?? null,
    ...(trafficStopped !== undefined ? { trafficStopped } : {}),
    reading: {
      objective: e.objective,
      period: promDuration(e.windowMs),
      errorRatio: e.errorRatio,
      burnRate: e.burnRate,
      budgetRemaining: e.budgetRemaining,
      alerts: e.alerts,
      noData: e.noData,
      ...(e.error ? { error: e.error } : {}),
    },
  };
}

/**
 * Each tick evaluates every SLO against Prometheus at one instant, with a bounded number of
 * queries in flight, and hands the results to the incidents. A tick still running when the next
 * is due is not doubled: the later one is skipped.
 */
export function createSloMonitor(deps: SloMonitorDeps): { tick(): Promise<void> } {
  let running: Promise<void> | undefined;
  const evaluate = async (): Promise<void> => {
    const at = deps.clock();
    const evaluations = await evaluateSlos(deps.defs, deps.table, deps.provider, at, { concurrency: deps.concurrency });
    const limit = createLimiter(deps.concurrency);
    const stops = await Promise.all(
      deps.defs.map((def, i) =>
        evaluations[i]!.error
          ? undefined
          : limit(() => evaluateTrafficStop(def, deps.provider, at, deps.trafficStopAfterMs, deps.trafficLookbackMs)).then(
              (check) => check?.stopped,
              // The burn-rate queries just worked; a failed traffic query alone changes nothing.
              (error: unknown) => void deps.log.warn({ err: error, slo: def.name }, 'traffic check failed'),
            ),
      ),
    );
    deps.incidents.observe(deps.defs.map((def, i) => observation(def, evaluations[i]!, stops[i])));
  };
  return {
    tick() {
      running ??= evaluate().finally(() => (running = undefined));
      return running;
    },
  };
}
