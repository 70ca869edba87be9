import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A stored series: what Datadog would return for a query before it cuts the time window. */
export interface StoredSeries {
  metric: string;
  /** The series' scope, e.g. "env:prod,version:1.4.2". */
  scope: string;
  /** Set for group-by queries: the tags that tell the series apart. */
  tagSet?: string[];
  /** [milliseconds since the epoch, value or null]. */
  points: [number, number | null][];
  /** Seconds between points. */
  interval?: number;
}

export interface DatadogRequest {
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
}

/**
 * Datadog's GET /api/v1/query ("Query timeseries points"), answering with the documented
 * MetricsQueryResponse: status "ok", res_type "time_series", and series with pointlist,
 * scope, expression and tag_set, cut to the requested from/to (seconds). It checks
 * DD-API-KEY and DD-APPLICATION-KEY (403 {"errors": ["Forbidden"]} otherwise) and the required
 * parameters (400 {"errors": [...]}).
 */
export class FakeDatadog {
  readonly requests: DatadogRequest[] = [];
  /** Series by query string; a query not listed matches nothing (an empty series list). */
  readonly series = new Map<string, StoredSeries[]>();
  /** Answer the next request with this instead. */
  override: { status: number; body: unknown; headers?: Record<string, string> } | undefined;
  private server: Server | undefined;
  url = '';

  constructor(
    private readonly apiKey: string,
    private readonly appKey: string,
  ) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://datadog');
      const query = Object.fromEntries(url.searchParams);
      this.requests.push({ path: url.pathname, query, headers: req.headers });
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) =>
        res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));

      if (this.override) {
        const { status, body, headers } = this.override;
        this.override = undefined;
        return send(status, body, headers);
      }
      if (req.headers['dd-api-key'] !== this.apiKey || req.headers['dd-application-key'] !== this.appKey) return send(403, { errors: ['Forbidden'] });
      if (req.method !== 'GET' || url.pathname !== '/api/v1/query') return send(404, { errors: ['Not found'] });
      for (const name of ['from', 'to', 'query']) {
        if (!query[name]) return send(400, { errors: [`Missing required parameter: ${name}`] });
      }
      const q = query.query!;
      if ((q.match(/\{/g) ?? []).length !== (q.match(/\}/g) ?? []).length) {
        return send(400, { errors: [`Error parsing query: unable to parse ${q}: Rule 'scope_expr' didn't match`] });
      }
      const from = Number(query.from) * 1000;
      const to = Number(query.to) * 1000;
      const series = (this.series.get(q) ?? [])
        .map((s) => ({ ...s, points: s.points.filter(([t]) => t >= from && t <= to) }))
        .filter((s) => s.points.length > 0)
        .map((s, index) => ({
          metric: s.metric,
          display_name: s.metric,
          unit: null,
          pointlist: s.points,
          start: s.points[0]![0],
          end: s.points[s.points.length - 1]![0],
          interval: s.interval ?? 60,
          length: s.points.length,
          aggr: 'avg',
          scope: s.scope,
          expression: `avg:${s.metric}{${s.scope}}`,
          tag_set: s.tagSet ?? [],
          query_index: index,
          attributes: {},
        }));
      return send(200, {
        status: 'ok',
        res_type: 'time_series',
        resp_version: 1,
        query: q,
        from_date: from,
        to_date: to,
        series,
        values: [],
        times: [],
        message: '',
        group_by: [],
      });
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }
}
