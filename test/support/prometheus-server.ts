import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * A real Prometheus (the `prometheus` and `promtool` binaries of Debian's `prometheus` package)
 * on 127.0.0.1, serving fixed data at fixed past times. Query it with explicit `time`/`start`/
 * `end`: nothing depends on the clock.
 */

/** The data: one sample every 15 s for 10 minutes from 2024-03-01T12:00:00Z. */
export const DATA_START_S = Date.UTC(2024, 2, 1, 12, 0, 0) / 1000;
export const STEP_S = 15;
export const STEPS = 40;
/** Sample i is at DATA_START + i * 15 s. */
export const sampleTime = (i: number): Date => new Date((DATA_START_S + i * STEP_S) * 1000);

/** p99 latency in seconds: the baseline holds 0.25, the canary climbs 10 ms a step from 0.2. */
export const baselineLatency = (_i: number): number => 0.25;
export const canaryLatency = (i: number): number => (200 + 10 * i) / 1000;

/** Counters of requests by service, version and status code, growing by `perStep` every 15 s. */
export const REQUEST_RATES = [
  { service: 'api', env: 'prod', version: '1.4.1', track: 'baseline', code: '200', perStep: 150 },
  { service: 'api', env: 'prod', version: '1.4.1', track: 'baseline', code: '500', perStep: 3 },
  { service: 'api', env: 'prod', version: '1.4.2', track: 'canary', code: '200', perStep: 30 },
  { service: 'api', env: 'prod', version: '1.4.2', track: 'canary', code: '500', perStep: 3 },
  // No traffic at all: an error ratio of 0/0, NaN.
  { service: 'idle', env: 'prod', version: '1.4.2', track: 'canary', code: '200', perStep: 0 },
  { service: 'idle', env: 'prod', version: '1.4.2', track: 'canary', code: '500', perStep: 0 },
  // Only failures: failures over successes is x/0, +Inf.
  { service: 'broken', env: 'prod', version: '1.4.2', track: 'canary', code: '200', perStep: 0 },
  { service: 'broken', env: 'prod', version: '1.4.2', track: 'canary', code: '500', perStep: 15 },
] as const;

const labelText = (labels: Record<string, string>) =>
  `{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}}`;

/** The data as OpenMetrics text, the input of `promtool tsdb create-blocks-from openmetrics`. */
export function openMetricsText(): string {
  const lines: string[] = [];
  const range = Array.from({ length: STEPS + 1 }, (_, i) => i);
  const at = (i: number) => DATA_START_S + i * STEP_S;

  lines.push('# HELP shipmate_http_requests HTTP requests served.', '# TYPE shipmate_http_requests counter');
  for (const { perStep, ...labels } of REQUEST_RATES) {
    for (const i of range) lines.push(`shipmate_http_requests_total${labelText(labels)} ${perStep * i} ${at(i)}`);
  }
  lines.push('# HELP shipmate_latency_p99_seconds p99 request latency.', '# TYPE shipmate_latency_p99_seconds gauge');
  const latency = [
    { labels: { service: 'api', env: 'prod', version: '1.4.1', track: 'baseline' }, value: baselineLatency },
    { labels: { service: 'api', env: 'prod', version: '1.4.2', track: 'canary' }, value: canaryLatency },
  ];
  for (const { labels, value } of latency) {
    for (const i of range) lines.push(`shipmate_latency_p99_seconds${labelText(labels)} ${value(i)} ${at(i)}`);
  }
  lines.push('# EOF', '');
  return lines.join('\n');
}

const run = promisify(execFile);

async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  probe.close();
  await once(probe, 'close');
  return port;
}

async function ensureBinaries(): Promise<void> {
  for (const binary of ['prometheus', 'promtool']) {
    try {
      await run(binary, ['--version'], { timeout: 5_000 });
    } catch {
      throw new Error(`\`${binary}\` is not on PATH: install Debian's package (apt-get install -y --no-install-recommends prometheus)`);
    }
  }
}

export interface PrometheusServer {
  /** http://127.0.0.1:<port> */
  url: string;
  stop(): Promise<void>;
}

/**
 * Writes the data (OpenMetrics text; the canary data by default) into TSDB blocks with promtool, starts prometheus on a free port with that
 * storage, and resolves once /-/ready answers 200. Polling is bounded (10 s) and gives up early
 * when the process exits; a port taken between probing and binding is retried with another.
 */
export async function startPrometheus(data: string = openMetricsText()): Promise<PrometheusServer> {
  await ensureBinaries();
  const dir = await mkdtemp(join(tmpdir(), 'shipmate-prometheus-'));
  const storage = join(dir, 'data');
  try {
    await writeFile(join(dir, 'data.om'), data);
    await run('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', join(dir, 'data.om'), storage], { timeout: 60_000 });
    await writeFile(join(dir, 'prometheus.yml'), 'global:\n  evaluation_interval: 1h\n'); // nothing to scrape
    for (let attempt = 1; ; attempt++) {
      try {
        return await launch(dir, storage);
      } catch (error) {
        if (attempt >= 3 || !/address already in use/.test(String(error))) throw error;
      }
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function launch(dir: string, storage: string): Promise<PrometheusServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${storage}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // Retention counts back from the newest block, so 2024 data survives; be explicit anyway.
      '--storage.tsdb.retention.time=100y',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = once(child, 'exit').then(([code]) => code as number | null);

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 10_000;
  let gone: number | null | undefined;
  void exited.then((code) => (gone = code));
  while (Date.now() < deadline) {
    if (gone !== undefined || child.exitCode !== null) {
      throw new Error(`prometheus exited (${gone ?? child.exitCode}) before it was ready:\n${output}`);
    }
    if (await isReady(url)) return { url, stop };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await stop();
  throw new Error(`prometheus was not ready within 10 s:\n${output}`);
}

function isReady(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpRequest(`${url}/-/ready`, { timeout: 1_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

export interface GatewayRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The body as it arrived (a form POST's query), once the request has ended. */
  body: string;
}

/**
 * A small gateway in front of Prometheus, shaped like Mimir's or an auth proxy: it serves the API
 * under a path prefix, records what arrives, refuses requests without the expected
 * Authorization and X-Scope-OrgID headers, and can stall or fail on demand.
 */
export class PrometheusGateway {
  readonly requests: GatewayRequest[] = [];
  /** When set, requests must carry exactly this Authorization header. */
  authorization: string | undefined;
  /** When set, requests must carry exactly this X-Scope-OrgID header. */
  tenant: string | undefined;
  /** Hold requests without answering (to make clients time out). */
  stall = false;
  /** Answer every request with this instead of forwarding it. */
  failWith: { status: number; body: string } | undefined;
  private server: Server | undefined;
  private base = '';

  constructor(
    private readonly upstream: string,
    readonly prefix = '/prometheus',
  ) {}

  get url(): string {
    return `${this.base}${this.prefix}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const path = req.url ?? '/';
      const recorded: GatewayRequest = { method: req.method ?? '', path, headers: req.headers, body: '' };
      this.requests.push(recorded);
      req.on('data', (chunk: Buffer) => (recorded.body += chunk.toString()));
      if (this.stall) return; // the socket stays open until the client gives up or stop()
      if (this.failWith) {
        res.writeHead(this.failWith.status, { 'content-type': 'text/html' }).end(this.failWith.body);
        return;
      }
      const refused =
        (this.authorization !== undefined && req.headers.authorization !== this.authorization) ||
        (this.tenant !== undefined && req.headers['x-scope-orgid'] !== this.tenant);
      if (refused) {
        res.writeHead(401, { 'content-type': 'text/plain' }).end('unauthorized\n');
        return;
      }
      if (!path.startsWith(`${this.prefix}/`)) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n');
        return;
      }
      const forward = httpRequest(`${this.upstream}${path.slice(this.prefix.length)}`, { method: req.method, headers: { accept: 'application/json', ...(req.headers['content-type'] ? { 'content-type': req.headers['content-type'] } : {}) } }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, { 'content-type': answer.headers['content-type'] ?? 'application/json' });
        answer.pipe(res);
      });
      forward.on('error', () => res.writeHead(502).end());
      req.pipe(forward);
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  reset(): void {
    this.requests.length = 0;
    this.authorization = undefined;
    this.tenant = undefined;
    this.stall = false;
    this.failWith = undefined;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }
}
