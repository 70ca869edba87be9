import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliProcess } from '../support/run-process';
import { type PrometheusServer, startPrometheus } from '../support/prometheus-server';

/**
 * `shipmate canary replay` as a real process against a real Prometheus holding the fixture data
 * (2024-03-01T12:00:00Z to 12:10:00Z): api 1.4.1 fails 3 of 153 requests, 1.4.2 3 of 33.
 */

let prometheus: PrometheusServer;
let dir: string;
let env: Record<string, string>;

const ERROR_RATIO =
  'sum(rate(shipmate_http_requests_total{service="{{service}}",version="{{version}}",code="500"}[{{window}}]))' +
  ' / sum(rate(shipmate_http_requests_total{service="{{service}}",version="{{version}}"}[{{window}}]))';
/** How much slower the canary's p99 is than the baseline's: the canary's climbs 10 ms every 15 s. */
const LATENCY_GAP = 'max(shipmate_latency_p99_seconds{version="{{version}}"}) - max(shipmate_latency_p99_seconds{version="{{baseline_version}}"})';

const config = (url: string) => `
defaults: { channel: C0123DEPLOY }
metrics:
  providers:
    prom: { type: prometheus, url: "${url}" }
analyses:
  errors:
    interval: 1m
    initialDelay: 1m
    count: 3
    metrics:
      - name: error-ratio
        provider: prom
        query: '${ERROR_RATIO}'
        successCondition: result < 0.05
  latency-gap:
    interval: 1m
    count: 5
    metrics:
      - name: p99-gap
        provider: prom
        query: '${LATENCY_GAP}'
        successCondition: result < 0.1
services:
  api:
    environments:
      prod:
        deploy: { type: command, command: /bin/true }
        strategy: canary
        steps: [{ weight: 10 }, { analysis: errors }, { weight: 100 }]
      staging:
        deploy: { type: command, command: /bin/true }
`;

beforeAll(async () => {
  prometheus = await startPrometheus();
  dir = mkdtempSync(join(tmpdir(), 'shipmate-replay-'));
  writeFileSync(join(dir, 'shipmate.yml'), config(prometheus.url));
  env = { SHIPMATE_CONFIG: join(dir, 'shipmate.yml') };
});

afterAll(async () => {
  await prometheus?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const FROM = '2024-03-01T12:00:00Z';
const TO = '2024-03-01T12:10:00Z';
const replay = (...args: string[]) => runCliProcess(['canary', 'replay', ...args], env);
const replayProd = (version: string, ...more: string[]) => replay('--service', 'api', '--env', 'prod', '--from', FROM, '--to', TO, '--version', version, '--json', ...more);

interface Report {
  service: string;
  environment: string;
  version: string;
  baselineVersion: string | null;
  from: string;
  to: string;
  analyses: { name: string; phase: string; reason?: string; measurements: { at: string; results: { check: string; outcome: string; detail: string }[] }[] }[];
}
const parse = (stdout: string): Report => JSON.parse(stdout) as Report;

describe('canary replay against a real Prometheus', () => {
  it('passes the baseline version: count measurements, the first after initialDelay, one interval apart', async () => {
    const { code, stdout, stderr } = await replayProd('1.4.1');

    expect(stderr).toBe('');
    expect(code).toBe(0);
    const report = parse(stdout);
    expect(report).toMatchObject({ service: 'api', environment: 'prod', version: '1.4.1', baselineVersion: null, from: '2024-03-01T12:00:00.000Z', to: '2024-03-01T12:10:00.000Z' });
    expect(report.analyses).toHaveLength(1);
    const [errors] = report.analyses;
    expect(errors).toMatchObject({ name: 'errors', phase: 'successful' });
    expect(errors!.reason).toBeUndefined();
    expect(errors!.measurements.map((m) => m.at)).toEqual(['2024-03-01T12:01:00.000Z', '2024-03-01T12:02:00.000Z', '2024-03-01T12:03:00.000Z']);
    for (const m of errors!.measurements) {
      expect(m.results).toEqual([{ check: 'error-ratio', outcome: 'successful', detail: '0.01961 (result < 0.05)' }]); // 3 of 153
    }
  });

  it('fails the canary version at its first measurement, naming the metric', async () => {
    const { code, stdout } = await replayProd('1.4.2');

    expect(code).toBe(1);
    const [errors] = parse(stdout).analyses;
    expect(errors).toMatchObject({ name: 'errors', phase: 'failed', reason: 'error-ratio failed 1 of 1 measurements (failureLimit 0)' });
    expect(errors!.measurements).toEqual([
      { at: '2024-03-01T12:01:00.000Z', results: [{ check: 'error-ratio', outcome: 'failed', detail: '0.09091 (not result < 0.05)' }] }, // 3 of 33
    ]);
  });

  it('calls a version without series inconclusive', async () => {
    const { code, stdout } = await replayProd('9.9.9');

    expect(code).toBe(1);
    const [errors] = parse(stdout).analyses;
    expect(errors).toMatchObject({ phase: 'inconclusive', reason: 'error-ratio was inconclusive 1 of 1 measurements (inconclusiveLimit 0)' });
    expect(errors!.measurements[0]!.results[0]).toMatchObject({ outcome: 'inconclusive', detail: 'no data' });
  });

  it('leaves an analysis running when --to comes before it concludes', async () => {
    const { code, stdout } = await replay('--service', 'api', '--env', 'prod', '--from', FROM, '--to', '2024-03-01T12:02:00Z', '--version', '1.4.1', '--json');

    expect(code).toBe(1);
    const [errors] = parse(stdout).analyses;
    expect(errors!.phase).toBe('running');
    expect(errors!.reason).toContain('2 of 3');
    expect(errors!.measurements.map((m) => m.at)).toEqual(['2024-03-01T12:01:00.000Z', '2024-03-01T12:02:00.000Z']);
  });

  it('replays a named analysis on a target that is not a canary, each measurement at its own time', async () => {
    const { code, stdout } = await replay('--service', 'api', '--env', 'staging', '--analysis', 'latency-gap', '--from', FROM, '--to', TO, '--version', '1.4.2', '--baseline', '1.4.1', '--json');

    expect(code).toBe(1);
    const report = parse(stdout);
    expect(report.baselineVersion).toBe('1.4.1');
    const [gap] = report.analyses;
    expect(gap).toMatchObject({ name: 'latency-gap', phase: 'failed', reason: 'p99-gap failed 1 of 5 measurements (failureLimit 0)' });
    // The gap is -0.05 s at 12:00 and grows 0.04 s a minute: over 0.1 s by the fifth measurement.
    expect(gap!.measurements.map((m) => [m.at.slice(11, 16), m.results[0]!.detail])).toEqual([
      ['12:00', '-0.05 (result < 0.1)'],
      ['12:01', '-0.01 (result < 0.1)'],
      ['12:02', '0.03 (result < 0.1)'],
      ['12:03', '0.07 (result < 0.1)'],
      ['12:04', '0.11 (not result < 0.1)'],
    ]);
  });

  it('prints each measurement and a verdict without --json', async () => {
    const { code, stdout } = await replay('--service', 'api', '--env', 'prod', '--from', FROM, '--to', TO, '--version', '1.4.1');

    expect(code).toBe(0);
    expect(stdout).toContain('Replaying api 1.4.1 in prod from 2024-03-01T12:00:00.000Z to 2024-03-01T12:10:00.000Z:');
    expect(stdout).toContain('2024-03-01T12:03:00.000Z Analysis errors, measurement 3:\n✓ error-ratio: successful, 0.01961 (result < 0.05) [3/3]');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('Analysis errors: successful.');
  });

  describe('bad input exits 2 with one line saying what would be right', () => {
    const target = ['--from', FROM, '--to', TO, '--version', '1.4.2'];
    it.each([
      [['--service', 'nope', '--env', 'prod', ...target], 'shipmate: unknown service "nope" for --service; use one of: api'],
      [['--service', 'api', '--env', 'qa', ...target], 'shipmate: api has no environment "qa" for --env; use one of: prod, staging'],
      [['--service', 'api', '--env', 'prod', '--analysis', 'nope', ...target], 'shipmate: unknown analysis "nope" for --analysis; use one of: errors, latency-gap'],
      [['--service', 'api', '--env', 'staging', ...target], 'shipmate: api in staging is not a canary (strategy: all-at-once), so it has no analysis steps; name one with --analysis <name>; use one of: errors, latency-gap'],
      [['--service', 'api', '--env', 'staging', '--analysis', 'latency-gap', ...target], 'shipmate: analysis latency-gap: metric p99-gap uses {{baseline_version}}; pass the baseline with --baseline <version>'],
      [['--service', 'api', '--env', 'prod', '--from', 'yesterday', '--to', TO, '--version', '1.4.2'], 'shipmate: --from "yesterday" is not an RFC 3339 time; write e.g. 2024-03-01T12:05:00Z'],
      [['--service', 'api', '--env', 'prod', '--from', '2024-03-01T12:00:00', '--to', TO, '--version', '1.4.2'], 'shipmate: --from "2024-03-01T12:00:00" is not an RFC 3339 time; write e.g. 2024-03-01T12:05:00Z'],
      [['--service', 'api', '--env', 'prod', '--from', FROM, '--to', '2024-02-30T12:00:00Z', '--version', '1.4.2'], 'shipmate: --to "2024-02-30T12:00:00Z" is not an RFC 3339 time; write e.g. 2024-03-01T12:05:00Z'],
      [['--service', 'api', '--env', 'prod', '--from', TO, '--to', FROM, '--version', '1.4.2'], `shipmate: --from ${TO} is not before --to ${FROM}; give a --from earlier than --to`],
      [['--service', 'api', '--env', 'prod', '--from', FROM, '--to', TO, '--version', '1.4.2"} or vector(0)'], /^shipmate: analysis errors: version "1\.4\.2\\"} or vector\(0\)" cannot go into a metrics query/],
    ])('%j', async (args, message) => {
      const { code, stdout, stderr } = await replay(...args, '--json');
      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr.trimEnd().split('\n')).toHaveLength(1);
      if (typeof message === 'string') expect(stderr.trimEnd()).toBe(message);
      else expect(stderr.trimEnd()).toMatch(message);
    });

    it('names a missing option', async () => {
      const { code, stderr } = await replay('--service', 'api', '--env', 'prod', '--from', FROM, '--to', TO);
      expect(code).toBe(2);
      expect(stderr.trim()).toBe("error: required option '--version <version>' not specified");
    });
  });
});
