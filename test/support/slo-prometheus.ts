import { type PrometheusServer, startPrometheus } from './prometheus-server';

/**
 * A real Prometheus holding four days of request counters for SLO tests, one sample a minute,
 * ending at SLO_NOW. Every scenario is written as error ratios per minute, so tests can work out
 * what any window should measure from these parameters alone.
 *
 * Minutes are counted back from SLO_NOW: "minute m" is the minute that ends m minutes before
 * SLO_NOW, so a window of w minutes at SLO_NOW covers minutes 0 to w - 1.
 */
export const SLO_NOW = new Date('2024-06-10T12:00:00Z');
export const DATA_MINUTES = 4 * 1440;
export const OBJECTIVE = 99.9;

export interface Burn {
  /** The burn covers minutes fromMinute to toMinute - 1 (counted back from SLO_NOW). */
  fromMinute: number;
  toMinute: number;
  errorRatio: number;
}

export interface SloScenario {
  service: string;
  requestsPerMinute: number;
  baselineRatio: number;
  burns: Burn[];
  /** The process restarted: the sample ending this minute holds only this minute's requests. */
  restartMinute?: number;
  /** The series ends here: no samples for the minutes after, as when a service stops. */
  lastMinute?: number;
}

const RPM = 10_000;
export const SLO_SCENARIOS = {
  /** 5% errors in the last hour (burn 50): both page rows fire. */
  fast: { service: 'fast', requestsPerMinute: RPM, baselineRatio: 0.0002, burns: [{ fromMinute: 0, toMinute: 60, errorRatio: 0.05 }] },
  /** 0.2% errors for four days (burn 2): above 1, below 3 and 6, so the 3d/6h ticket only. */
  slow: { service: 'slow', requestsPerMinute: RPM, baselineRatio: 0.002, burns: [] },
  /** 10% errors from 2h to 45 min ago: the long page windows still burn, the short ones no longer. */
  recovered: { service: 'recovered', requestsPerMinute: RPM, baselineRatio: 0.0002, burns: [{ fromMinute: 45, toMinute: 120, errorRatio: 0.1 }] },
  /** Counters at 0 all along: 0/0, no data. */
  idle: { service: 'idle', requestsPerMinute: 0, baselineRatio: 0, burns: [] },
  /** 0.05% errors throughout, and a restart 3 hours ago sets both counters back to 0. */
  reset: { service: 'reset', requestsPerMinute: RPM, baselineRatio: 0.0005, burns: [], restartMinute: 180 },
  /** Served until 30 minutes ago, then nothing. */
  stopped: { service: 'stopped', requestsPerMinute: RPM, baselineRatio: 0.0002, burns: [], lastMinute: 30 },
} satisfies Record<string, SloScenario>;

/** Errors in one minute; scenarios are chosen so that this is a whole number. */
function errorsIn(scenario: SloScenario, minute: number): number {
  const ratio = scenario.burns.find((b) => minute >= b.fromMinute && minute < b.toMinute)?.errorRatio ?? scenario.baselineRatio;
  const errors = Math.round(scenario.requestsPerMinute * ratio);
  if (Math.abs(errors - scenario.requestsPerMinute * ratio) > 1e-9) throw new Error(`${scenario.service}: ${ratio} of ${scenario.requestsPerMinute} is not a whole number of errors`);
  return errors;
}

/** The data as OpenMetrics text for `promtool tsdb create-blocks-from openmetrics`. */
export function sloOpenMetricsText(scenarios: readonly SloScenario[] = Object.values(SLO_SCENARIOS)): string {
  const nowS = SLO_NOW.getTime() / 1000;
  const lines = ['# HELP slo_http_requests HTTP requests served.', '# TYPE slo_http_requests counter'];
  for (const scenario of scenarios) {
    const series = { '200': [] as string[], '500': [] as string[] };
    let ok = 0;
    let errors = 0;
    // The sample `minute` minutes before SLO_NOW closes the minute before it (minute + 1 ... minute).
    for (let minute = DATA_MINUTES; minute >= (scenario.lastMinute ?? 0); minute--) {
      if (minute < DATA_MINUTES) {
        if (minute === scenario.restartMinute) ok = errors = 0;
        const e = errorsIn(scenario, minute);
        errors += e;
        ok += scenario.requestsPerMinute - e;
      }
      const at = nowS - minute * 60;
      series['200'].push(`slo_http_requests_total{service="${scenario.service}",code="200"} ${ok} ${at}`);
      series['500'].push(`slo_http_requests_total{service="${scenario.service}",code="500"} ${errors} ${at}`);
    }
    lines.push(...series['200'], ...series['500']);
  }
  lines.push('# EOF', '');
  return lines.join('\n');
}

const SERVICE_SLO = (service: string, window = '{{.window}}') => `version: "prometheus/v1"
service: "${service}"
labels:
  team: checkout
slos:
  - name: requests-availability
    objective: ${OBJECTIVE}
    description: "Requests answered without a 5xx."
    sli:
      events:
        error_query: sum(rate(slo_http_requests_total{service="${service}",code=~"5.."}[${window}]))
        total_query: sum(rate(slo_http_requests_total{service="${service}"}[${window}]))
    alerting:
      name: ${service[0]!.toUpperCase()}${service.slice(1)}AvailabilityAlert
      annotations:
        runbook: https://runbooks.example.com/${service}
      page_alert:
        labels:
          severity: critical
      ticket_alert:
        labels:
          severity: warning
`;

/**
 * A Sloth file with one document per scenario service, each with a requests-availability SLO;
 * `slow` also has the same SLI written as a raw ratio, and `reset` spells the placeholder with
 * spaces (`{{ .window }}`), as Go templates allow.
 */
export function slothSpecText(): string {
  const documents = Object.values(SLO_SCENARIOS).map((s) => SERVICE_SLO(s.service, s.service === 'reset' ? '{{ .window }}' : '{{.window}}') + (s.service === 'slow' ? RAW_SLOW : ''));
  return documents.join('---\n');
}

const RAW_SLOW = `  - name: requests-availability-raw
    objective: ${OBJECTIVE}
    sli:
      raw:
        error_ratio_query: |
          sum(rate(slo_http_requests_total{service="slow",code=~"5.."}[{{.window}}]))
          /
          sum(rate(slo_http_requests_total{service="slow"}[{{.window}}]))
`;

/** Loads the SLO data into a fresh Prometheus, the same way the canary data is loaded. */
export function startSloPrometheus(): Promise<PrometheusServer> {
  return startPrometheus(sloOpenMetricsText());
}
