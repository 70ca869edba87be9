import axios, { type AxiosInstance } from 'axios';
import type { Clock } from '../core/clock';
import { ConfigError } from '../core/errors';
import {
  getText,
  isRetryableStatus,
  type MetricsProvider,
  parseJson,
  type Point,
  type QueryContext,
  queryFailed,
  retryAfterMs,
  type Series,
  snippet,
} from './metrics-provider';

export interface DatadogProviderSpec {
  /** The Datadog site: datadoghq.com (default), datadoghq.eu, us3.datadoghq.com, ap1.datadoghq.com, ddog-gov.com... */
  site?: string;
  apiKey: string;
  appKey: string;
  timeoutMs: number;
  /** How far back an instant query looks for the latest point; default 5 minutes. */
  lookbackMs?: number;
  /** Replaces the site's API URL: a proxy, or a test server. */
  url?: string;
}

export interface DatadogProviderDeps {
  clock: Clock;
  http?: AxiosInstance;
}

const SITE = /^(?:[a-z0-9-]+\.)?(?:datadoghq\.com|datadoghq\.eu|ddog-gov\.com)$/;

/**
 * The API host of a Datadog site: datadoghq.eu -> https://api.datadoghq.eu. People paste the
 * address of the web app (app.datadoghq.eu), so that works too. Anything that is not a Datadog
 * domain is refused: the API and application keys would go wherever the typo points.
 */
export function datadogApiUrl(site: string): string {
  const host = site.trim().toLowerCase().replace(/^https?:\/\//, '').replace(/\/.*$/, '').replace(/^(?:app|api)\./, '');
  if (!SITE.test(host)) {
    throw new ConfigError(`"${site}" is not a Datadog site; use datadoghq.com, us3.datadoghq.com, us5.datadoghq.com, datadoghq.eu, ap1.datadoghq.com or ddog-gov.com`);
  }
  return `https://api.${host}`;
}

/** The parts of GET /api/v1/query's answer (MetricsQueryResponse) this provider reads. */
interface DatadogSeries {
  expression?: string;
  scope?: string;
  tag_set?: string[];
  pointlist?: [number, number | null][];
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** "version:1.4.2" -> { version: "1.4.2" }; a bare tag keeps an empty value. */
function labelsOf(series: DatadogSeries): Record<string, string> {
  const tags = series.tag_set?.length ? series.tag_set : (series.scope ?? '').split(',').filter((tag) => tag && tag !== '*');
  const labels: Record<string, string> = {};
  for (const tag of tags) {
    const at = tag.indexOf(':');
    if (at < 0) labels[tag] = '';
    else labels[tag.slice(0, at)] = tag.slice(at + 1);
  }
  return labels;
}

/** Datadog leaves a point null where it has no data (often the newest, still filling). */
function points(series: DatadogSeries): Point[] {
  return (series.pointlist ?? []).flatMap(([at, value]) => (typeof value === 'number' ? [{ at: new Date(Math.round(at)), value }] : []));
}

/**
 * Reads metrics through Datadog's query API (GET /api/v1/query with DD-API-KEY and
 * DD-APPLICATION-KEY). An instant value is the last non-null point of the one series in the
 * lookback window; several series are an error naming them. Datadog picks its own resolution,
 * so range queries ignore stepMs: put `.rollup()` in the query to choose it.
 */
export function createDatadogProvider(spec: DatadogProviderSpec, deps: DatadogProviderDeps): MetricsProvider {
  const http = deps.http ?? axios.create();
  const site = spec.site ?? 'datadoghq.com';
  const base = (spec.url ?? datadogApiUrl(site)).replace(/\/+$/, '');
  const backend = `Datadog (${spec.url ? new URL(spec.url).host : site})`;
  const headers = { 'dd-api-key': spec.apiKey, 'dd-application-key': spec.appKey };
  const lookbackMs = spec.lookbackMs ?? 5 * 60_000;

  const fetchSeries = async (query: string, from: Date, to: Date): Promise<DatadogSeries[]> => {
    const context: QueryContext = { backend, query };
    const answer = await getText(
      http,
      {
        url: `${base}/api/v1/query`,
        params: { query, from: String(Math.floor(from.getTime() / 1000)), to: String(Math.ceil(to.getTime() / 1000)) },
        headers,
        timeoutMs: spec.timeoutMs,
      },
      context,
    );
    const body = parseJson(answer.text);
    const envelope = isObject(body) ? body : undefined;
    const ok = answer.status >= 200 && answer.status < 300;
    if (!ok || envelope?.status === 'error') {
      // Refusals come as {"errors": [...]}; a failed query as {"status": "error", "error": "..."}.
      const errors = Array.isArray(envelope?.errors) ? envelope.errors.map(String) : typeof envelope?.error === 'string' ? [envelope.error] : [];
      const detail = [ok ? '' : `HTTP ${answer.status}`, errors.join('; ') || snippet(answer.text)].filter(Boolean).join(' ');
      throw queryFailed(context, detail, !ok && isRetryableStatus(answer.status), { retryAfterMs: retryAfterMs(answer.headers) });
    }
    if (!envelope || !Array.isArray(envelope.series) || !envelope.series.every(isObject)) {
      throw queryFailed(context, `the answer has no series list: ${snippet(answer.text) || '(empty)'}`, false);
    }
    const series = envelope.series as DatadogSeries[];
    for (const s of series) {
      const wellFormed = (s.pointlist ?? []).every((p) => Array.isArray(p) && typeof p[0] === 'number' && (typeof p[1] === 'number' || p[1] === null));
      if (!wellFormed) throw queryFailed(context, `the series ${s.expression ?? s.scope ?? ''} has points that are not [time, number]`, false);
    }
    return series;
  };

  return {
    async query({ query, at }) {
      const to = at ?? deps.clock();
      const series = await fetchSeries(query, new Date(to.getTime() - lookbackMs), to);
      if (series.length > 1) {
        const names = series.map((s) => s.expression ?? s.scope ?? JSON.stringify(s.tag_set ?? [])).join('; ');
        throw queryFailed({ backend, query }, `${series.length} series answered where one was expected: ${names}. Aggregate them or narrow the scope`, false);
      }
      const last = series[0] ? points(series[0]).at(-1) : undefined;
      return last ? { kind: 'value', value: last.value, at: last.at } : { kind: 'no-data' };
    },

    async queryRange({ query, from, to }): Promise<Series[]> {
      const series = await fetchSeries(query, from, to);
      return series.map((s) => ({ labels: labelsOf(s), points: points(s) }));
    },
  };
}
