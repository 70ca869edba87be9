import axios, { type AxiosInstance } from 'axios';
import { JSONPath } from 'jsonpath-plus';
import { ConfigError } from '../core/errors';
import {
  authHeaders,
  getText,
  type HttpAuth,
  type InstantMetricsProvider,
  isRetryableStatus,
  parseDecimal,
  parseJson,
  type QueryContext,
  queryFailed,
  retryAfterMs,
  snippet,
} from './metrics-provider';

export interface WebProviderSpec {
  /** Where the number is in the JSON answer: `$.data.errorRate`, `$.results[?(@.name=='p99')].value`. */
  jsonPath: string;
  headers?: Record<string, string>;
  auth?: HttpAuth;
  timeoutMs: number;
}

export interface WebProviderDeps {
  http?: AxiosInstance;
}

const brief = (value: unknown): string => snippet(JSON.stringify(value) ?? String(value)).slice(0, 80);

/**
 * A metric from any HTTP endpoint that answers JSON. The query is the URL (fill its template with
 * `encode: encodeURIComponent`); the JSONPath picks the value. A number, or a string holding
 * one, is a value; nothing at the path, or null, is no data; anything else is an error, and so
 * are several matches. It reads the endpoint's present, so `at` is not used, and it has no
 * range queries.
 */
export function createWebProvider(spec: WebProviderSpec, deps: WebProviderDeps = {}): InstantMetricsProvider {
  if (!spec.jsonPath.trim().startsWith('$')) throw new ConfigError(`The JSONPath "${spec.jsonPath}" must start at the document root, with $`);
  const http = deps.http ?? axios.create();
  const headers = { ...spec.headers, ...authHeaders(spec.auth) };

  return {
    async query({ query }) {
      let url: URL;
      try {
        url = new URL(query);
      } catch {
        throw queryFailed({ backend: 'The web metric', query }, 'the query is not a URL', false);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw queryFailed({ backend: 'The web metric', query }, 'the URL is not http or https', false);
      const context: QueryContext = { backend: `The web metric at ${url.host}`, query };

      const answer = await getText(http, { url: query, params: {}, headers, timeoutMs: spec.timeoutMs }, context);
      if (answer.status < 200 || answer.status >= 300) {
        throw queryFailed(context, `HTTP ${answer.status} ${snippet(answer.text)}`.trim(), isRetryableStatus(answer.status), { retryAfterMs: retryAfterMs(answer.headers) });
      }
      const body = parseJson(answer.text);
      if (body === undefined) throw queryFailed(context, `the answer is not JSON: ${snippet(answer.text) || '(empty)'}`, false);

      let matches: unknown[];
      try {
        // 'safe' evaluates filters without eval or vm: the path is config, not code.
        matches = JSONPath({ path: spec.jsonPath, json: body as object, wrap: true, eval: 'safe' }) as unknown[];
      } catch (error) {
        throw queryFailed(context, `the JSONPath ${spec.jsonPath} could not be evaluated: ${(error as Error).message}`, false);
      }
      if (matches.length > 1) {
        throw queryFailed(context, `the JSONPath ${spec.jsonPath} matched ${matches.length} values where one was expected: ${matches.slice(0, 5).map(brief).join(', ')}`, false);
      }
      const [picked] = matches;
      if (picked === undefined || picked === null) return { kind: 'no-data' };
      const value = typeof picked === 'number' ? picked : typeof picked === 'string' ? parseDecimal(picked) : undefined;
      if (value === undefined) throw queryFailed(context, `the JSONPath ${spec.jsonPath} picked ${brief(picked)}, which is not a number`, false);
      return { kind: 'value', value };
    },
  };
}
