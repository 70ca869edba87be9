import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_ALERT_TABLE, definitionsFromSloth, type SloDefinition, slothSpecSchema } from '../../src/core/slo';
import type { InstantMetricsProvider } from '../../src/core/metrics';
import { evaluateSlos, evaluateTrafficStop } from '../../src/core/slo-evaluator';
import { createPrometheusProvider } from '../../src/metrics/prometheus-provider';
import { parseAllDocuments } from 'yaml';
import type { PrometheusServer } from '../support/prometheus-server';
import { runCliProcess } from '../support/run-process';
import { DATA_MINUTES, OBJECTIVE, SLO_NOW, SLO_SCENARIOS, type SloScenario, slothSpecText, startSloPrometheus } from '../support/slo-prometheus';

const WINDOW_MINUTES = { '5m': 5, '30m': 30, '1h': 60, '2h': 120, '6h': 360, '1d': 1440, '3d': 4320 } as const;
type Window = keyof typeof WINDOW_MINUTES;
const WINDOWS = Object.keys(WINDOW_MINUTES) as Window[];
const BUDGET = 0.001; // 99.9%

/**
 * What a window of `minutes` ending at SLO_NOW should measure, from the scenario's parameters:
 * the minutes it covers that have samples, errors at the baseline ratio except where a burn overlaps.
 */
function expectedRatio(s: SloScenario, minutes: number): number | null {
  const first = s.lastMinute ?? 0;
  const last = Math.min(minutes, DATA_MINUTES);
  const covered = Math.max(0, last - first);
  if (covered === 0 || s.requestsPerMinute === 0) return null;
  let errorMinutes = s.baselineRatio * covered;
  for (const b of s.burns) {
    const overlap = Math.max(0, Math.min(b.toMinute, last) - Math.max(b.fromMinute, first));
    errorMinutes += (b.errorRatio - s.baselineRatio) * overlap;
  }
  return errorMinutes / covered;
}

interface Evaluated {
  service: string;
  slo: string;
  objective: number;
  window: string;
  errorRatio: Record<Window, number | null>;
  burnRate: Record<Window, number | null>;
  budgetRemaining: number | null;
  alerts: { severity: string; longWindow: string; shortWindow: string; factor: number }[];
  noData: boolean;
  error?: string;
}

async function unusedPort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  probe.close();
  await once(probe, 'close');
  return port;
}

describe('shipmate slo eval against a real Prometheus', () => {
  let prometheus: PrometheusServer;
  let dir: string;
  let spec: string;
  let slos: Evaluated[];
  const find = (service: string, slo = 'requests-availability') => slos.find((s) => s.service === service && s.slo === slo)!;

  beforeAll(async () => {
    prometheus = await startSloPrometheus();
    dir = mkdtempSync(join(tmpdir(), 'shipmate-slo-'));
    spec = join(dir, 'slos.yml');
    writeFileSync(spec, slothSpecText());
    const { code, stdout, stderr } = await runCliProcess(['slo', 'eval', '--sloth', spec, '--prometheus', prometheus.url, '--at', SLO_NOW.toISOString(), '--json'], {});
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const output = JSON.parse(stdout) as { at: string; slos: Evaluated[] };
    expect(output.at).toBe(SLO_NOW.toISOString());
    slos = output.slos;
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('evaluates every SLO of every document, in order', () => {
    expect(slos.map((s) => `${s.service}/${s.slo}`)).toEqual([
      'fast/requests-availability',
      'slow/requests-availability',
      'slow/requests-availability-raw',
      'recovered/requests-availability',
      'idle/requests-availability',
      'reset/requests-availability',
      'stopped/requests-availability',
    ]);
    expect(slos.every((s) => s.objective === OBJECTIVE && s.window === '30d')).toBe(true);
  });

  it.each(['fast', 'slow', 'recovered', 'reset', 'stopped'] as const)('%s: every window measures the error ratio the data was written with', (service) => {
    const result = find(service);
    for (const w of WINDOWS) {
      const expected = expectedRatio(SLO_SCENARIOS[service], WINDOW_MINUTES[w]);
      if (expected === null) {
        expect([w, result.errorRatio[w]]).toEqual([w, null]);
      } else {
        expect([w, result.errorRatio[w]! / expected]).toEqual([w, expect.closeTo(1, 9)]);
        expect([w, result.burnRate[w]! / (expected / BUDGET)]).toEqual([w, expect.closeTo(1, 9)]);
      }
    }
    expect(result.budgetRemaining).toBeCloseTo(1 - expectedRatio(SLO_SCENARIOS[service], 30 * 1440)! / BUDGET, 9);
  });

  it('fast burn: both page rows fire (burn 50 over 1h and 5m, 8.5 over 6h), no ticket', () => {
    expect(find('fast').burnRate['6h']).toBeCloseTo(8.5, 9);
    expect(find('fast').alerts).toEqual([
      { severity: 'page', longWindow: '1h', shortWindow: '5m', factor: 14.4 },
      { severity: 'page', longWindow: '6h', shortWindow: '30m', factor: 6 },
    ]);
  });

  it('slow burn: the 3d/6h ticket only, burning at 2 everywhere; a raw ratio SLI measures the same', () => {
    const slow = find('slow');
    expect(Object.values(slow.burnRate).every((b) => b! > 1 && b! < 3)).toBe(true);
    expect(slow.alerts).toEqual([{ severity: 'ticket', longWindow: '3d', shortWindow: '6h', factor: 1 }]);
    const raw = find('slow', 'requests-availability-raw');
    for (const w of WINDOWS) expect(raw.errorRatio[w]).toBeCloseTo(slow.errorRatio[w]!, 12);
    expect(raw.alerts).toEqual(slow.alerts);
  });

  it('recovered: the long page windows still burn past their factors, the short ones do not, so nothing pages', () => {
    const recovered = find('recovered');
    expect(recovered.burnRate['1h']).toBeGreaterThan(14.4); // 25.15
    expect(recovered.burnRate['5m']).toBeLessThan(14.4); // 0.2
    expect(recovered.burnRate['6h']).toBeGreaterThan(6); // 20.99
    expect(recovered.burnRate['30m']).toBeLessThan(6); // 0.2
    expect(recovered.alerts).toEqual([
      { severity: 'ticket', longWindow: '1d', shortWindow: '2h', factor: 3 },
      { severity: 'ticket', longWindow: '3d', shortWindow: '6h', factor: 1 },
    ]);
  });

  it('idle: no traffic is no data in every window, and nothing fires', () => {
    const idle = find('idle');
    expect(idle).toMatchObject({ noData: true, budgetRemaining: null, alerts: [] });
    expect(Object.values(idle.errorRatio)).toEqual(WINDOWS.map(() => null));
    expect(Object.values(idle.burnRate)).toEqual(WINDOWS.map(() => null));
  });

  it('reset: a restart 3h ago does not show as a spike; windows across it measure 0.05% like the rest', () => {
    const reset = find('reset');
    for (const w of ['6h', '1d', '3d'] as const) expect(reset.burnRate[w]).toBeCloseTo(0.5, 9);
    expect(reset.alerts).toEqual([]);
  });

  it('evaluates an SLO whose ratio cannot be part of a union (a scalar) one query at a time, to the same numbers', async () => {
    const defs = parseAllDocuments(slothSpecText()).flatMap((doc) => definitionsFromSloth(slothSpecSchema.parse((doc as { toJS(): unknown }).toJS())));
    const fast = defs.find((d) => d.service === 'fast')!;
    if (fast.sli.kind !== 'events') throw new Error('the fast scenario has an events SLI');
    const asScalar: SloDefinition = { ...fast, name: 'as-scalar', sli: { kind: 'raw', errorRatioQuery: `scalar((${fast.sli.errorQuery}) / (${fast.sli.totalQuery}))` } };
    const prom = createPrometheusProvider({ url: prometheus.url, timeoutMs: 10_000 });
    const asked = { together: 0, alone: 0 };
    const provider: InstantMetricsProvider = {
      query: (q) => (asked.alone++, prom.query(q)),
      queryAll: (q) => (asked.together++, prom.queryAll!(q)),
    };

    const [union, oneByOne] = await evaluateSlos([fast, asScalar], DEFAULT_ALERT_TABLE, provider, SLO_NOW);

    expect(asked).toEqual({ together: 2, alone: 8 }); // the scalar's union was refused, then its 8 asked alone
    expect(oneByOne!.error).toBeUndefined();
    expect(oneByOne!.errorRatio).toEqual(union!.errorRatio);
    expect(oneByOne!.budgetRemaining).toBe(union!.budgetRemaining);
    expect(union!.errorRatio['5m']).toBeCloseTo(0.05, 12);
  });

  it('stopped: windows after the last sample have no data; the traffic check says it stopped', async () => {
    const stopped = find('stopped');
    expect(stopped.errorRatio['5m']).toBeNull();
    expect(stopped.errorRatio['30m']).toBeNull(); // one sample, at its very start: no rate
    expect(stopped.errorRatio['1h']).toBeCloseTo(0.0002, 12);

    const defs = parseAllDocuments(slothSpecText()).flatMap((doc) => definitionsFromSloth(slothSpecSchema.parse((doc as { toJS(): unknown }).toJS())));
    const provider = createPrometheusProvider({ url: prometheus.url, timeoutMs: 10_000 });
    const check = (service: string) => evaluateTrafficStop(defs.find((d) => d.service === service)!, provider, SLO_NOW, 15 * 60_000, 24 * 60 * 60_000);
    expect(await check('stopped')).toEqual({ stopped: true, totalNow: null, totalBefore: expect.any(Number) });
    expect((await check('stopped'))!.totalBefore).toBeGreaterThan(0);
    expect(await check('fast')).toEqual({ stopped: false, totalNow: expect.closeTo(10_000 / 60, 6), totalBefore: expect.closeTo(10_000 / 60, 6) });
    expect(await check('idle')).toEqual({ stopped: false, totalNow: 0, totalBefore: 0 }); // never had traffic
  });

  it('prints a table without --json', async () => {
    const { code, stdout } = await runCliProcess(['slo', 'eval', '--sloth', spec, '--prometheus', prometheus.url, '--at', '2024-06-10T14:00:00+02:00'], {});
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`SLO burn rates at 2024-06-10T12:00:00.000Z from ${prometheus.url} (30d SLO period; burn rate = error ratio / error budget, "-" = no data)`);
    expect(lines[2]).toMatch(/^service\s+slo\s+objective\s+5m\s+30m\s+1h\s+2h\s+6h\s+1d\s+3d\s+budget left\s+alerts$/);
    expect(lines.find((l) => l.startsWith('fast '))).toMatch(/^fast\s+requests-availability\s+99\.9%\s+50\s+50\s+50\s+25\.1\s+8\.5\s+2\.2[78]\s+0\.892\s+28\.1%\s+page 1h\/5m >14\.4, page 6h\/30m >6$/);
    expect(lines.find((l) => l.startsWith('idle '))).toMatch(/^idle\s+requests-availability\s+99\.9%(\s+-){8}\s+no data$/);
  });

  it('exits 1 naming the query when the backend is down, and still prints every SLO', async () => {
    const down = `http://127.0.0.1:${await unusedPort()}`;
    const { code, stdout, stderr } = await runCliProcess(['slo', 'eval', '--sloth', spec, '--prometheus', down, '--at', SLO_NOW.toISOString(), '--json'], {});
    expect(code).toBe(1);
    const output = JSON.parse(stdout) as { slos: Evaluated[] };
    expect(output.slos).toHaveLength(7);
    for (const slo of output.slos) {
      expect(slo.error).toMatch(/^Prometheus at 127\.0\.0\.1:\d+ query `.*slo_http_requests_total.*` failed: could not reach 127\.0\.0\.1:\d+: ECONNREFUSED/s); // a raw query may span lines
      expect(slo).toMatchObject({ alerts: [], budgetRemaining: null, noData: false });
    }
    const lines = stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(7);
    expect(lines[0]).toMatch(/^shipmate: fast\/requests-availability: Prometheus at .* failed: could not reach/);
  });

  it('without --sloth evaluates the SLOs of shipmate.yml against its slo.provider', async () => {
    const spec = join(dir, 'fast.sloth.yml');
    writeFileSync(spec, slothSpecText().split('---\n').find((d) => d.includes('service: "fast"'))!);
    const config = join(dir, 'shipmate.yml');
    writeFileSync(config, [
      'defaults: { channel: C0DEPLOYS }',
      `metrics: { providers: { prom: { type: prometheus, url: "${prometheus.url}" } } }`,
      'slo: { provider: prom }',
      'services:',
      '  fast:',
      `    sloth: ${spec}`,
      '    environments: { prod: { deploy: { type: command, command: /bin/true } } }',
      '',
    ].join('\n'));
    const { code, stdout } = await runCliProcess(['slo', 'eval', '--at', SLO_NOW.toISOString(), '--json'], { SHIPMATE_CONFIG: config });
    expect(code).toBe(0);
    const [fast] = (JSON.parse(stdout) as { slos: { service: string; slo: string; alerts: { severity: string }[] }[] }).slos;
    expect(fast).toMatchObject({ service: 'fast', slo: 'requests-availability' });
    expect(fast!.alerts.map((a) => a.severity)).toEqual(['page', 'page']);

    writeFileSync(config, 'defaults: { channel: C0DEPLOYS }\nservices:\n  api:\n    environments: { prod: { deploy: { type: command, command: /bin/true } } }\n');
    const none = await runCliProcess(['slo', 'eval', '--prometheus', 'http://127.0.0.1:9'], { SHIPMATE_CONFIG: config });
    expect(none.code).toBe(2);
    expect(none.stderr.trim()).toMatch(/^shipmate: slo eval needs SLOs: pass --sloth <spec\.yml>/);
  });

});

describe('shipmate slo eval with bad input', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'shipmate-slo-input-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // Nothing listens here: bad input must be refused before any query.
  const NOWHERE = 'http://127.0.0.1:9';

  it('lists every problem of every document by path, and exits 2', async () => {
    const file = join(dir, 'bad.yml');
    writeFileSync(
      file,
      [
        'version: "prometheus/v1"',
        'service: api',
        'slos:',
        '  - name: availability',
        '    objective: 99.9',
        '    sli:',
        '      events:',
        '        error_query: sum(rate(http_requests_total{code=~"5.."}[5m]))',
        '        total_query: sum(rate(http_requests_total[{{.window}}]))',
        '---',
        'version: "prometheus/v2"',
        'service: web',
        'slos:',
        '  - name: latency',
        '    objective: 100',
        '    sli: {}',
        '',
      ].join('\n'),
    );
    const { code, stdout, stderr } = await runCliProcess(['slo', 'eval', '--sloth', file, '--prometheus', NOWHERE], {});
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trimEnd().split('\n')).toEqual([
      `shipmate: Sloth spec ${file}: 4 problems`,
      '  document 1: slos.0.sli.events.error_query: the query `sum(rate(http_requests_total{code=~"5.."}[5m]))` has no {{.window}}; write its range as [{{.window}}], like sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))',
      '  document 2: version: version must be "prometheus/v1" (Sloth\'s raw Prometheus spec)',
      '  document 2: slos.0.objective: objective is a percent above 0 and below 100, like 99.9 (100 leaves no error budget to burn)',
      '  document 2: slos.0.sli: set exactly one of events (error_query and total_query) or raw (error_ratio_query)',
    ]);
  });

  it.each([
    [['--sloth', 'missing.yml'], /^shipmate: cannot read Sloth spec missing\.yml: no such file$/],
    [['--sloth', 'SPEC', '--at', 'yesterday'], /^shipmate: --at "yesterday" is not an RFC 3339 time; write e\.g\. 2024-06-10T12:00:00Z$/],
    [['--sloth', 'SPEC', '--window', '30'], /^shipmate: --window "30" is not a duration/],
    [['--sloth', 'SPEC', '--prometheus', 'localhost:9090'], /^shipmate: --prometheus "localhost:9090" is not an http\(s\) URL/],
  ])('%j exits 2 with one line saying what is wrong', async (args, message) => {
    const good = join(dir, 'good.yml');
    writeFileSync(good, slothSpecText());
    const argv = args.map((a) => (a === 'SPEC' ? good : a));
    const { code, stdout, stderr } = await runCliProcess(['slo', 'eval', ...(argv.includes('--prometheus') ? [] : ['--prometheus', NOWHERE]), ...argv], {}, dir);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr.trim()).toMatch(message);
  });

  it('reads a YAML syntax error as a problem with its line', async () => {
    const file = join(dir, 'broken.yml');
    writeFileSync(file, 'version: "prometheus/v1"\nservice: api\nslos:\n  - name: [unclosed\n');
    const { code, stderr } = await runCliProcess(['slo', 'eval', '--sloth', file, '--prometheus', NOWHERE], {});
    expect(code).toBe(2);
    expect(stderr).toMatch(/^shipmate: Sloth spec .*broken\.yml: \d+ problems?\n {2}line \d+: /);
  });
});
