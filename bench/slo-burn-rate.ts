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
/** Prometheus' compactor runs a minute after start; the blocks settle a few seconds later. */
const COMPACTION_WITHIN_MS = 180_000;
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

/** The provider as evaluateSlos sees it, counting queries, requests and requests in flight. */
function counting(provider: InstantMetricsProvider) {
  const stats = { inFlight: 0, maxInFlight: 0, queries: 0, requests: 0 };
  const request = async <T>(queries: number, send: () => Promise<T>): Promise<T> => {
    stats.queries += queries;
    stats.requests++;
    stats.maxInFlight = Math.max(stats.maxInFlight, ++stats.inFlight);
    try {
      return await send();
    } finally {
      stats.inFlight--;
    }
  };
  const wrapped: InstantMetricsProvider = {
    query: (q) => request(1, () => provider.query(q)),
    ...(provider.queryAll && { queryAll: (q) => request(q.queries.length, () => provider.queryAll!(q)) }),
  };
  return { provider: wrapped, stats };
}

/** The sum of a metric's samples in Prometheus' own text exposition; NaN when it is missing. */
async function selfMetric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const values = [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].map((m) => Number(m[1]));
  return values.length ? values.reduce((a, b) => a + b, 0) : NaN;
}

/**
 * Waits for Prometheus to compact the two-hour blocks promtool wrote into the larger blocks any
 * Prometheus running for more than a few hours holds (its compactor starts a minute after start).
 * Resolves with the number of blocks then, or undefined when it had not compacted within `withinMs`.
 */
async function compacted(url: string, withinMs: number): Promise<number | undefined> {
  const deadline = Date.now() + withinMs;
  let last = NaN;
  let steady = 0;
  while (Date.now() < deadline) {
    const [compactions, blocks] = await Promise.all([selfMetric(url, 'prometheus_tsdb_compactions_total'), selfMetric(url, 'prometheus_tsdb_blocks_loaded')]);
    steady = compactions > 0 && blocks === last ? steady + 1 : 0;
    if (steady >= 3) return blocks;
    last = blocks;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  return undefined;
}

function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms)));
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

interface Tick {
  wallMs: number;
  stats: ReturnType<typeof counting>['stats'];
  results: SloEvaluation[];
  promCpu: number;
  nodeCpu: number;
}

/** One tick over every SLO, with the queries it sent and the CPU it took on either side. */
async function tick(prom: InstantMetricsProvider, defs: SloDefinition[]): Promise<Tick> {
  const { provider, stats } = counting(prom);
  const promCpu = childCpuSeconds('prometheus');
  const nodeCpu = process.cpuUsage();
  const start = performance.now();
  const results = await withDeadline(evaluateSlos(defs, DEFAULT_ALERT_TABLE, provider, SLO_NOW, { concurrency: CONCURRENCY }), GIVE_UP_MS, 'the evaluation');
  const wallMs = performance.now() - start;
  const nodeUsed = process.cpuUsage(nodeCpu);
  return { wallMs, stats, results, promCpu: childCpuSeconds('prometheus') - promCpu, nodeCpu: (nodeUsed.user + nodeUsed.system) / 1e6 };
}

const figure = (t: Tick) => {
  const failed = t.results.filter((r) => r.error !== undefined).length;
  return `${(t.wallMs / 1000).toFixed(2)} s, ${t.stats.queries} queries in ${t.stats.requests} requests${failed ? `; ${failed} SLOs failed` : ''}`;
};
const cpu = (t: Tick) => `Prometheus ${t.promCpu.toFixed(1)} s, this Node process ${t.nodeCpu.toFixed(1)} s, over ${(t.wallMs / 1000).toFixed(1)} s of wall time`;

/**
 * Benchmark 3: one evaluation of 1,000 SLOs (a query per burn window and one for the period, an
 * SLO's eight in one request) against a real Prometheus: first as promtool wrote the data (two-hour
 * blocks, as only a Prometheus started minutes ago has them), then once Prometheus has compacted it,
 * as every Prometheus running for more than a few hours holds it. The target is the second.
 */
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
    const blocksBefore = await selfMetric(prometheus.url, 'prometheus_tsdb_blocks_loaded');
    log(`slo: evaluating ${SLOS} SLOs at concurrency ${CONCURRENCY}, ${blocksBefore} two-hour blocks`);
    const fresh = await tick(prom, defs);
    log('slo: waiting for Prometheus to compact its blocks (its compactor starts a minute after start)');
    const blocks = await compacted(prometheus.url, COMPACTION_WITHIN_MS);
    log(`slo: evaluating ${SLOS} SLOs at concurrency ${CONCURRENCY}, ${blocks ?? 'uncompacted'} blocks`);
    const settled = await tick(prom, defs);
    const failed = settled.results.filter((r) => r.error !== undefined);
    const firing = (severity: string) => settled.results.filter((r) => r.alerts.some((a) => a.severity === severity)).length;
    const sameAnswers = JSON.stringify(fresh.results) === JSON.stringify(settled.results);
    return {
      rows: [
        {
          benchmark: `Burn-rate evaluation, ${SLOS} SLOs, one tick`,
          figure: figure(settled) + (blocks === undefined ? `; not compacted within ${COMPACTION_WITHIN_MS / 1000} s` : ''),
          target: `< ${TARGET_MS / 1000} s`,
          pass: settled.wallMs < TARGET_MS && failed.length === 0 && blocks !== undefined,
        },
        {
          benchmark: 'Burn-rate evaluation, requests in flight',
          figure: `max ${Math.max(settled.stats.maxInFlight, fresh.stats.maxInFlight)}`,
          target: `<= ${CONCURRENCY}`,
          pass: Math.max(settled.stats.maxInFlight, fresh.stats.maxInFlight) <= CONCURRENCY,
        },
        { benchmark: 'Same tick, blocks as promtool wrote them', figure: figure(fresh), target: 'reference' },
      ],
      details: [
        `Prometheus loaded and ready in ${(setupMs / 1000).toFixed(1)} s (not part of the figure)`,
        `CPU during the tick on compacted blocks: ${cpu(settled)}`,
        `CPU during the tick on ${blocksBefore} two-hour blocks: ${cpu(fresh)}`,
        `results: ${firing('page')} SLOs paging, ${firing('ticket')} ticketing, ${settled.results.filter((r) => r.noData).length} without data, ${failed.length} failed${failed[0] ? ` (first: ${failed[0].error})` : ''}; ` +
          `${sameAnswers ? 'the same' : 'NOT the same'} on either layout`,
      ],
    };
  } finally {
    await prometheus.stop();
  }
}
