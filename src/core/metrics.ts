/**
 * The metrics port: what canary analysis asks of a metrics backend (Prometheus and compatibles,
 * Datadog, any JSON endpoint). Adapters live in src/metrics; nothing here knows HTTP.
 *
 * A provider answers or throws ExternalServiceError (src/core/errors) with a message naming the
 * query. A thrown error is not a measurement: the caller counts consecutive errors and decides
 * when to give up. Providers do not retry on their own, so that count stays honest.
 */

/**
 * One number for one moment, or the backend's word that it has none (an empty result, which
 * is normal for a canary that has not taken traffic yet). NaN, Infinity and -Infinity are values:
 * a ratio of zero requests is NaN, a ratio over zero requests is Infinity; judging them is policy.
 */
export type Measurement =
  | {
      kind: 'value';
      value: number;
      /** The sample's time as the backend reports it: Prometheus' evaluation time, Datadog's last point. Web endpoints leave it out. */
      at?: Date;
    }
  | { kind: 'no-data' };

export interface Point {
  at: Date;
  value: number;
}

/** One time series of a range query, with the labels (Prometheus) or tags (Datadog) naming it. */
export interface Series {
  labels: Readonly<Record<string, string>>;
  points: Point[];
}

export interface InstantQuery {
  query: string;
  /** Evaluation time; the backend's "now" when absent. */
  at?: Date;
}

export interface RangeQuery {
  query: string;
  from: Date;
  to: Date;
  /** Resolution. Backends that choose their own (Datadog) ignore it. */
  stepMs: number;
}

/**
 * Reads one value. Exactly one series must answer: several series are an error naming their
 * labels, never a silent pick, because picking one would judge the wrong thing.
 */
export interface InstantMetricsProvider {
  query(q: InstantQuery): Promise<Measurement>;
  /**
   * Optional: several instant queries at one instant in as few requests as the backend allows (a
   * tick asks eight windows of every SLO). Answers in the order asked, each as `query` would.
   * Rejects with BatchRefusedError (src/core/errors) when they must be asked one by one, and with
   * the error of the query at fault when one answered what `query` would refuse.
   */
  queryAll?(q: { queries: readonly string[]; at?: Date }): Promise<Measurement[]>;
}

/** A backend that also keeps history. Range queries return every series, none when empty. */
export interface MetricsProvider extends InstantMetricsProvider {
  queryRange(q: RangeQuery): Promise<Series[]>;
}
