import type { InstantMetricsProvider } from '../src/core/metrics';
import { DEFAULT_ALERT_TABLE, type SloDefinition } from '../src/core/slo';
import { evaluateSlos, type SloEvaluation } from '../src/core/slo-evaluator';
import { createPrometheusProvider } from '../src/metrics/prometheus-provider';
import { SLO_NOW, SLO_SCENARIOS, startSloPrometheus } from '../test/support/slo-prometheus';
import { childCpuSeconds } from './app-process';
import { type Row } from './report';

export const SLOS = 1_000;
const CONCURRENCY = 8;
const TARGET_MS = 5_000;
/** A tick that has not finished by then is abandoned: the benchmark stays bounded. */
const GIVE_UP_MS = 120_000;
const OBJECTIVES = [99, 99.5, 99.9, 99.95, 99.99];
const DAY_MS = 86_400_000;

/** `count` SLOs over the scenario services' series, with objectives and periods varied. */
export function sloDefinitions(count: number): SloDefinition[] {
  const services = Object.values(SLO_SCENARIOS).map((s) => s.service);
  return Array.from({ length: count }, (_, i): SloDefinition => {
    const service = services[i % services.length]!;
    const selector = `slo_http_requests_total{service="${service}"`;
    return {
      service,
      name: `requests-availability-${i}`,
      objective: OBJECTIVES[Math.floor(i / services.length) % OBJECTIVES.length]!,
      windowMs: (i % 3 === 0 ? 28 : 30) * DAY_MS,
      sli:
        i % 10 === 9
          ? { kind: 'raw', errorRatioQuery: `sum(rate(${selector},code=~"5.."}[{{.window}}])) / sum(rate(${selector}}[{{.window}}]))` }
          : { kind: 'events', errorQuery: `sum(rate(${selector},code=~"5.."}[{{.window}}]))`, totalQuery: `sum(rate(${selector}}[{{.window}}]))` },
    };
  });
}

/** The provider as evaluateSlos sees it, counting queries in flight. */
function counting(provider: InstantMetricsProvider) {
  const stats = { inFlight: 0, maxInFlight: 0, queries: 0 };
  const wrapped: InstantMetricsProvider = {
    async query(q) {
      stats.queries++;
      stats.maxInFlight = Math.max(stats.maxInFlight, ++stats.inFlight);
      try {
        return await provider.query(q);
      } finally {
        stats.inFlight--;
      }
    },
  };
  return { provider: wrapped, stats };
}

function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms)));
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** Benchmark 3: one evaluation of 1,000 SLOs (a query per burn window and one for the period) against a real Prometheus. */
export async function benchSloEvaluation(log: (line: string) => void): Promise<{ rows: Row[]; details: string[] }> {
  log('slo: loading four days of series into a real Prometheus');
  const setupStart = performance.now();
  const prometheus = await startSloPrometheus();
  const setupMs = performance.now() - setupStart;
  try {
    const defs = sloDefinitions(SLOS);
    const prom = createPrometheusProvider({ url: prometheus.url, timeoutMs: 10_000 });
    // One SLO first: the connection and Prometheus' caches are warm, as on every tick but the first.
    await evaluateSlos(defs.slice(0, 1), DEFAULT_ALERT_TABLE, prom, SLO_NOW, { concurrency: CONCURRENCY });
    const { provider, stats } = counting(prom);
    log(`slo: evaluating ${SLOS} SLOs at concurrency ${CONCURRENCY}`);
    const promCpu = childCpuSeconds('prometheus');
    const nodeCpu = process.cpuUsage();
    const start = performance.now();
    const results: SloEvaluation[] = await withDeadline(evaluateSlos(defs, DEFAULT_ALERT_TABLE, provider, SLO_NOW, { concurrency: CONCURRENCY }), GIVE_UP_MS, 'the evaluation');
    const wallMs = performance.now() - start;
    const nodeUsed = process.cpuUsage(nodeCpu);
    const promUsed = childCpuSeconds('prometheus') - promCpu;
    const failed = results.filter((r) => r.error !== undefined);
    const firing = (severity: string) => results.filter((r) => r.alerts.some((a) => a.severity === severity)).length;
    return {
      rows: [
        {
          benchmark: `Burn-rate evaluation, ${SLOS} SLOs, one tick`,
          figure: `${(wallMs / 1000).toFixed(2)} s, ${stats.queries} queries (${((stats.queries / wallMs) * 1000).toFixed(0)}/s)${failed.length ? `; ${failed.length} SLOs failed` : ''}`,
          target: `< ${TARGET_MS / 1000} s`,
          pass: wallMs < TARGET_MS && failed.length === 0,
        },
        { benchmark: 'Burn-rate evaluation, queries in flight', figure: `max ${stats.maxInFlight}`, target: `<= ${CONCURRENCY}`, pass: stats.maxInFlight <= CONCURRENCY },
      ],
      details: [
        `Prometheus loaded and ready in ${(setupMs / 1000).toFixed(1)} s (not part of the figure)`,
        `CPU during the tick: Prometheus ${promUsed.toFixed(1)} s, this Node process ${((nodeUsed.user + nodeUsed.system) / 1e6).toFixed(1)} s, over ${(wallMs / 1000).toFixed(1)} s of wall time`,
        `results: ${firing('page')} SLOs paging, ${firing('ticket')} ticketing, ${results.filter((r) => r.noData).length} without data, ${failed.length} failed${failed[0] ? ` (first: ${failed[0].error})` : ''}`,
      ],
    };
  } finally {
    await prometheus.stop();
  }
}
