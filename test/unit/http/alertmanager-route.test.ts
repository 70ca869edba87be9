import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ExternalAlert } from '../../../flows/incident-service';
import { createAlertmanagerRoute, toExternalAlert } from '../../../src/http/alertmanager-route';
import { opsRequestListener } from '../../../src/http/ops-routes';

type Alert = Parameters<typeof toExternalAlert>[0];
const alert = (labels: Record<string, string>, annotations: Record<string, string> = {}, status: Alert['status'] = 'firing'): Alert => ({ status, labels, annotations });

describe('toExternalAlert', () => {
  it.each<[string, Record<string, string>, Partial<ExternalAlert>]>([
    ['the SLO from sloth_slo first', { service: 'api', sloth_slo: 'availability', slo: 'other', alertname: 'ApiBurn' }, { name: 'availability' }],
    ['then from slo', { service: 'api', slo: 'latency', alertname: 'ApiBurn' }, { name: 'latency' }],
    ['then the alert’s name', { service: 'api', alertname: 'ApiDown' }, { name: 'ApiDown' }],
    ['and "alert" without any', { service: 'api' }, { name: 'alert' }],
    ['page from sloth_severity page', { service: 'api', sloth_severity: 'page' }, { severity: 'page' }],
    ['page from severity critical, in any case', { service: 'api', severity: 'CRITICAL' }, { severity: 'page' }],
    ['page from severity page', { service: 'api', severity: 'page' }, { severity: 'page' }],
    ['sloth_severity before severity', { service: 'api', sloth_severity: 'ticket', severity: 'critical' }, { severity: 'ticket' }],
    ['ticket from a warning', { service: 'api', severity: 'warning' }, { severity: 'ticket' }],
    ['ticket without a severity', { service: 'api' }, { severity: 'ticket' }],
  ])('labels: %s', (_name, labels, expected) => {
    expect(toExternalAlert(alert(labels), 'service')).toMatchObject({ service: 'api', status: 'firing', ...expected });
  });

  it.each<[string, Record<string, string>, Record<string, string>, Pick<ExternalAlert, 'summary' | 'runbook'>]>([
    ['summary and runbook_url', { alertname: 'ApiDown' }, { summary: 'api is down', description: 'long text', runbook_url: 'https://r.example.com/a', runbook: 'https://r.example.com/b' }, { summary: 'api is down', runbook: 'https://r.example.com/a' }],
    ['description and runbook', { alertname: 'ApiDown' }, { description: 'long text', runbook: 'https://r.example.com/b' }, { summary: 'long text', runbook: 'https://r.example.com/b' }],
    ['the alert’s name for a summary', { alertname: 'ApiDown' }, {}, { summary: 'ApiDown', runbook: null }],
    ['nothing at all', {}, {}, { summary: null, runbook: null }],
  ])('annotations: %s', (_name, labels, annotations, expected) => {
    expect(toExternalAlert(alert({ service: 'api', ...labels }, annotations), 'service')).toMatchObject(expected);
  });

  it('keeps the status', () => {
    expect(toExternalAlert(alert({ service: 'api' }, {}, 'resolved'), 'service')!.status).toBe('resolved');
  });

  it('an alert without the service label (or an empty one) maps to nothing', () => {
    expect(toExternalAlert(alert({ app: 'api', alertname: 'ApiDown' }), 'service')).toBeUndefined();
    expect(toExternalAlert(alert({ service: '', alertname: 'ApiDown' }), 'service')).toBeUndefined();
  });

  it('reads the service from the configured label', () => {
    expect(toExternalAlert(alert({ app: 'web', service: 'api', alertname: 'WebDown' }), 'app')).toEqual({
      service: 'web',
      name: 'WebDown',
      alert: 'WebDown',
      status: 'firing',
      severity: 'ticket',
      summary: 'WebDown',
      runbook: null,
    });
  });
});

describe('POST /alerts/alertmanager', () => {
  const TOKEN = 'am-0123456789abcdef';
  const received: ExternalAlert[][] = [];
  let server: Server;
  let url: string;

  beforeAll(async () => {
    const route = createAlertmanagerRoute({ token: TOKEN, serviceLabel: 'service', knownService: (name) => ['api', 'web'].includes(name), receive: (alerts) => void received.push(alerts) });
    server = createServer(opsRequestListener([route]));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts/alertmanager`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => void received.splice(0));

  /** A webhook payload shaped like Alertmanager's (version 4), with the fields it always sends. */
  const payload = (alerts: Alert[]) => ({
    version: '4',
    groupKey: '{}:{alertname="ApiBurn"}',
    truncatedAlerts: 0,
    status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    receiver: 'shipmate',
    groupLabels: { alertname: 'ApiBurn' },
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager.example.com:9093',
    alerts: alerts.map((a) => ({ ...a, startsAt: '2026-11-23T10:00:00Z', endsAt: '0001-01-01T00:00:00Z', generatorURL: 'http://prometheus.example.com/graph', fingerprint: 'c4b1c1e1f0a1b2c3' })),
  });

  async function post(body: string | object, authorization: string | null = `Bearer ${TOKEN}`) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization !== null ? { authorization } : {}) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  const firing = payload([alert({ service: 'api', sloth_slo: 'availability', sloth_severity: 'page' }, { summary: 'api burns its budget' })]);

  it.each<[string, string | null]>([
    ['no Authorization header', null],
    ['a wrong token of the same length', `Bearer ${'x'.repeat(TOKEN.length)}`],
    ['a wrong token of another length', 'Bearer nope'],
    ['the token without Bearer', TOKEN],
    ['the token with another scheme', `Basic ${TOKEN}`],
  ])('401 with %s, and nothing is received', async (_name, authorization) => {
    const res = await post(firing, authorization);
    expect(res).toEqual({ status: 401, body: { error: 'Authorization: Bearer <alertmanager.token from shipmate.yml> is missing or wrong' } });
    expect(received).toEqual([]);
  });

  it('400 for a body that is not JSON', async () => {
    expect(await post('alerts: [firing]')).toEqual({ status: 400, body: { error: 'the body is not JSON' } });
    expect(received).toEqual([]);
  });

  it.each<[string, object, string]>([
    ['without an alerts list', { version: '4', status: 'firing' }, 'alerts must be a list'],
    ['with alerts that are not a list', { alerts: { service: 'api' } }, 'alerts must be a list'],
    ['with an alert of an unknown status', payload([alert({ service: 'api' }, {}, 'pending' as Alert['status'])]), 'status must be "firing" or "resolved"'],
  ])('400 for a payload %s', async (_name, body, problem) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/^not an Alertmanager webhook payload: /);
    expect(res.body.error).toContain(problem);
    expect(received).toEqual([]);
  });

  it('413 for a body over 1 MiB', async () => {
    const big = JSON.stringify({ ...firing, padding: 'x'.repeat(1024 * 1024) });
    expect(await post(big)).toEqual({ status: 413, body: { error: 'the body is larger than 1048576 bytes' } });
    expect(received).toEqual([]);
  });

  it('a body of exactly 1 MiB is read', async () => {
    const text = JSON.stringify(firing);
    const exact = `${text}${' '.repeat(1024 * 1024 - Buffer.byteLength(text))}`;
    expect((await post(exact)).status).toBe(200);
  });

  it('200: hands over the alerts of known services and counts the rest as ignored, with a hint', async () => {
    const res = await post(
      payload([
        alert({ service: 'api', sloth_slo: 'availability', sloth_severity: 'page' }, { summary: 'api burns its budget', runbook_url: 'https://runbooks.example.com/api' }),
        alert({ service: 'web', alertname: 'WebDown', severity: 'warning' }, {}, 'resolved'),
        alert({ service: 'ghost', alertname: 'GhostDown' }),
        alert({ job: 'node', alertname: 'NodeDown' }),
      ]),
    );
    expect(res).toEqual({ status: 200, body: { accepted: 2, ignored: 2, hint: 'alerts need a "service" label naming a service of shipmate.yml' } });
    expect(received).toEqual([
      [
        { service: 'api', name: 'availability', status: 'firing', severity: 'page', summary: 'api burns its budget', runbook: 'https://runbooks.example.com/api' },
        { service: 'web', name: 'WebDown', alert: 'WebDown', status: 'resolved', severity: 'ticket', summary: 'WebDown', runbook: null },
      ],
    ]);
  });

  it('200 without a hint when every alert is for a known service', async () => {
    expect(await post(firing)).toEqual({ status: 200, body: { accepted: 1, ignored: 0 } });
    expect(received).toHaveLength(1);
  });

  it('only POST: other methods are told so', async () => {
    const res = await fetch(url);
    expect(res.status).toBe(405);
    expect(await res.json()).toEqual({ error: 'use POST' });
  });
});
