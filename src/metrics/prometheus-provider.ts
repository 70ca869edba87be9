import axios, { type AxiosInstance } from 'axios';
import { BatchRefusedError, ExternalServiceError } from '../core/errors';
import {
  authHeaders,
  getText,
  type HttpAnswer,
  type HttpAuth,
  type InstantQuery,
  isRetryableStatus,
  type Measurement,
  type MetricsProvider,
  parseDecimal,
  parseJson,
  type QueryContext,
  queryFailed,
  retryAfterMs,
  type Series,
  snippet,
} from './metrics-provider';

/**
 * Prometheus or anything speaking its HTTP API (Thanos, Mimir, Cortex, VictoriaMetrics).
 */
export interface PrometheusProviderSpec {
  /**
   * Where /api/v1/query lives under, path prefix included: http://prometheus:9090,
   * http://mimir:8080/prometheus, http://vmselect:8481/select/0/prometheus.
   */
  url: string;
  auth?: HttpAuth;
  /** Sent with every query, e.g. X-Scope-OrgID for Mimir and Cortex tenants. */
  headers?: Record<string, string>;
  /** Per request; also sent as the `timeout` parameter so the server stops evaluating too. */
  timeoutMs: number;
  /** How messages name the backend: "Thanos", "Mimir". */
  name?: string;
}

export interface PrometheusProviderDeps {
  http?: AxiosInstance;
}

type Labels = Record<string, string>;

/**
 * Sample values travel as strings because JSON has no NaN or infinities. JavaScript's Number()
 * reads "+Inf" as NaN, so each special value is mapped by name; Go's float syntax allows the
 * case and sign variants.
 */
export function parsePrometheusValue(text: unknown): number {
  if (typeof text !== 'string') throw new Error(`a sample value is ${JSON.stringify(text)}, not a string`);
  const word = text.trim().toLowerCase();
  if (word === 'nan') return NaN;
  if (word === '+inf' || word === 'inf' || word === '+infinity' || word === 'infinity') return Infinity;
  if (word === '-inf' || word === '-infinity') return -Infinity;
  const value = parseDecimal(text);
  if (value === undefined) throw new Error(`a sample value is "${text}", not a number`);
  return value;
}

/** `http_requests_total{code="500", version="1.4.2"}`: how Prometheus users read a series. */
export function describeLabels(labels: Labels): string {
  const { __name__: name, ...rest } = labels;
  const pairs = Object.keys(rest)
    .sort()
    .map((key) => `${key}=${JSON.stringify(rest[key])}`);
  return `${name ?? ''}{${pairs.join(', ')}}`;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Thrown inside parsing, turned into an ExternalServiceError naming the query at the top. */
class Malformed extends Error {}

function sample(raw: unknown): { at: Date; value: number } {
  if (!Array.isArray(raw) || raw.length !== 2 || typeof raw[0] !== 'number') throw new Malformed(`a sample is ${JSON.stringify(raw)}, not [time, "value"]`);
  try {
    return { at: new Date(Math.round(raw[0] * 1000)), value: parsePrometheusValue(raw[1]) };
  } catch (error) {
    throw new Malformed((error as Error).message);
  }
}

function labelsOf(element: Record<string, unknown>): Labels {
  return isObject(element.metric) ? (element.metric as Labels) : {};
}

function elements(result: unknown): Record<string, unknown>[] {
  if (!Array.isArray(result) || !result.every(isObject)) throw new Malformed(`the result is ${snippet(JSON.stringify(result) ?? 'missing')}, not a list of series`);
  return result;
}

/** Native histograms answer `histogram(s)` instead of `value(s)`; a canary needs a number. */
function noHistograms(element: Record<string, unknown>): void {
  if ('histogram' in element || 'histograms' in element) {
    throw new Malformed(`the series ${describeLabels(labelsOf(element))} holds native histograms, not numbers; wrap it in histogram_quantile() or histogram_sum()`);
  }
}

function matrix(result: unknown): Series[] {
  return elements(result).map((element) => {
    noHistograms(element);
    if (!Array.isArray(element.values)) throw new Malformed(`the series ${describeLabels(labelsOf(element))} has no values`);
    return { labels: labelsOf(element), points: element.values.map(sample) };
  });
}

/** The one series an instant query may answer with; several are an error naming them all. */
function single<T>(series: T[], labels: (s: T) => Labels): T | undefined {
  if (series.length > 1) {
    throw new Malformed(`${series.length} series answered where one was expected: ${series.map((s) => describeLabels(labels(s))).join('; ')}. Aggregate them (sum, max, ...) or narrow the selector`);
  }
  return series[0];
}

function instant(resultType: unknown, result: unknown): Measurement {
  switch (resultType) {
    case 'scalar':
      return { kind: 'value', ...sample(result) };
    case 'vector': {
      const element = single(elements(result), labelsOf);
      if (!element) return { kind: 'no-data' };
      noHistograms(element);
      return { kind: 'value', ...sample(element.value) };
    }
    case 'matrix': {
      // A range selector in an instant query (`x[5m]`): its latest sample is the value.
      const series = single(matrix(result), (s) => s.labels);
      const last = series?.points[series.points.length - 1];
      return last ? { kind: 'value', ...last } : { kind: 'no-data' };
    }
    case 'string':
      throw new Malformed(`it answered the string ${JSON.stringify(Array.isArray(result) ? result[1] : result)}, not a number`);
    default:
      throw new Malformed(`it answered an unknown result type ${JSON.stringify(resultType)}`);
  }
}

/** The label that tells, in a union's answer, which query a series answers. */
const UNION_LABEL = 'shipmate_query';

/**
 * One PromQL expression answering every query at once, each query's series labelled with its index
 * (`label_replace` sets a label that did not exist; `or` keeps series whose labels differ). The
 * line breaks end a `#` comment a query may end in.
 */
function unionQuery(queries: readonly string[]): string {
  return queries.map((query, i) => `label_replace(\n${query}\n, "${UNION_LABEL}", "${i}", "", "")`).join(' or ');
}

/** A union's answer split back into one instant vector per query, without the union's label. */
function splitUnion(result: unknown, count: number): Record<string, unknown>[][] {
  const parts = Array.from({ length: count }, (): Record<string, unknown>[] => []);
  for (const element of elements(result)) {
    const { [UNION_LABEL]: index, ...metric } = labelsOf(element);
    const part = /^\d+$/.test(index ?? '') ? parts[Number(index)] : undefined;
    if (!part) throw new Malformed(`the series ${describeLabels(labelsOf(element))} answers no query of the union`);
    part.push({ ...element, metric });
  }
  return parts;
}

/**
 * Runs PromQL through GET /api/v1/query and /api/v1/query_range; `queryAll` sends its queries as
 * one union by POST, in one request, and says BatchRefusedError when they must be asked one by one. Errors (HTTP 4xx/5xx, a
 * `status: "error"` envelope with its errorType, timeouts, shapes it cannot read) throw
 * ExternalServiceError naming the query; 5xx, 429 and timeouts are marked retryable.
 */
export function createPrometheusProvider(spec: PrometheusProviderSpec, deps: PrometheusProviderDeps = {}): MetricsProvider {
  const http = deps.http ?? axios.create();
  const base = spec.url.replace(/\/+$/, '');
  const backend = `${spec.name ?? 'Prometheus'} at ${new URL(spec.url).host}`;
  const headers = { ...spec.headers, ...authHeaders(spec.auth) };
  const seconds = (date: Date) => (date.getTime() / 1000).toFixed(3);
  /** An instant query's parameters: the query, and its time when one is given (else the server's now). */
  const instantParams = (query: string, at: Date | undefined) => ({ query, ...(at ? { time: seconds(at) } : {}) });

  /** The `data` of a successful answer; anything else throws. */
  const call = async (
    path: string,
    params: Record<string, string>,
    context: QueryContext,
    options: { post?: boolean } = {},
  ): Promise<{ resultType?: unknown; result?: unknown }> => {
    // An instant answer is a few hundred bytes: compressing it costs Prometheus and us more CPU than
    // it saves on the wire (a tenth of a tick of 1,000 SLOs went to gzip). Range answers may be large.
    const encoding: Record<string, string> = path === '/api/v1/query' ? { 'accept-encoding': 'identity' } : {};
    const answer: HttpAnswer = await getText(
      http,
      {
        url: `${base}${path}`,
        params: { ...params, timeout: `${Math.max(1, Math.round(spec.timeoutMs))}ms` },
        headers: { ...encoding, ...headers },
        timeoutMs: spec.timeoutMs,
        ...options,
      },
      context,
    );
    const body = parseJson(answer.text);
    const envelope = isObject(body) ? body : undefined;
    const ok = answer.status >= 200 && answer.status < 300;
    if (!ok || envelope?.status === 'error') {
      // Prometheus explains itself as {"errorType", "error"}; a proxy in front may answer anything.
      const explained = envelope && typeof envelope.error === 'string' ? `${String(envelope.errorType ?? 'error')}: ${envelope.error}` : snippet(answer.text);
      const status = ok ? '' : `HTTP ${answer.status}`;
      const detail = [status, explained].filter(Boolean).join(' ');
      // errorType "timeout" and "unavailable" come with a 503, so the status decides retries.
      throw queryFailed(context, detail, !ok && isRetryableStatus(answer.status), { retryAfterMs: retryAfterMs(answer.headers), timedOut: envelope?.errorType === 'timeout' });
    }
    if (envelope?.status !== 'success' || !isObject(envelope.data)) {
      throw queryFailed(context, `the answer is not a Prometheus API response: ${snippet(answer.text) || '(empty)'}`, false);
    }
    return envelope.data;
  };

  const parsed = <T>(context: QueryContext, read: () => T): T => {
    try {
      return read();
    } catch (error) {
      if (error instanceof Malformed) throw queryFailed(context, error.message, false);
      throw error;
    }
  };

  const query = async ({ query, at }: InstantQuery): Promise<Measurement> => {
    const context = { backend, query };
    const data = await call('/api/v1/query', instantParams(query, at), context);
    return parsed(context, () => instant(data.resultType, data.result));
  };

  return {
    query,

    async queryAll({ queries, at }) {
      if (queries.length < 2) return Promise.all(queries.map((q) => query({ query: q, at })));
      // A transport failure is every query's; it is told with the first.
      const context = { backend, query: queries[0]! };
      let data: { resultType?: unknown; result?: unknown };
      try {
        data = await call('/api/v1/query', instantParams(unionQuery(queries), at), context, { post: true });
      } catch (error) {
        // A query the union cannot hold (a scalar, a range selector), one the server refuses, or all
        // of them together taking longer than a request may: asked one by one, each gets its own
        // deadline and an error names the query at fault.
        if (error instanceof ExternalServiceError && (!error.retryable || error.timedOut)) {
          throw new BatchRefusedError(error.userMessage, !error.retryable, { cause: error });
        }
        throw error;
      }
      const parts = parsed(context, () => {
        if (data.resultType !== 'vector') throw new Malformed(`a union of instant queries answered ${JSON.stringify(data.resultType)}, not a vector`);
        return splitUnion(data.result, queries.length);
      });
      return parts.map((part, i) => parsed({ backend, query: queries[i]! }, () => instant('vector', part)));
    },

    async queryRange({ query, from, to, stepMs }) {
      const context = { backend, query };
      const data = await call('/api/v1/query_range', { query, start: seconds(from), end: seconds(to), step: String(stepMs / 1000) }, context);
      return parsed(context, () => {
        if (data.resultType !== 'matrix') throw new Malformed(`a range query answered ${JSON.stringify(data.resultType)}, not a matrix`);
        return matrix(data.result);
      });
    },
  };
}
