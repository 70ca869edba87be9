import { z } from 'zod';
import type { ExternalAlert } from '../../flows/incident-service';
import { formatIssues } from '../core/config';
import { readBody, sameText, sendJson } from './http-body';
import type { OpsRoute } from './ops-routes';

const MAX_BODY = 1024 * 1024;

/** Alertmanager's webhook payload (version 4): https://prometheus.io/docs/alerting/latest/configuration/#webhook_config */
const payloadSchema = z.object({
  version: z.string().optional(),
  status: z.enum(['firing', 'resolved']).optional(),
  alerts: z.array(
    z.object({
      status: z.enum(['firing', 'resolved'], { error: 'status must be "firing" or "resolved"' }),
      labels: z.record(z.string(), z.string()),
      annotations: z.record(z.string(), z.string()).default({}),
    }),
    { error: 'alerts must be a list' },
  ),
});

/**
 * How Sloth, Pyrra and hand-written rules name things: the SLO in `sloth_slo` or `slo`, else the
 * alert's name; page severity in `sloth_severity`/`severity` (`page` or `critical`).
 */
export function toExternalAlert(alert: z.infer<typeof payloadSchema>['alerts'][number], serviceLabel: string): ExternalAlert | undefined {
  const { labels, annotations } = alert;
  const service = labels[serviceLabel];
  if (!service) return undefined;
  const severity = labels.sloth_severity ?? labels.severity ?? '';
  return {
    service,
    name: labels.sloth_slo ?? labels.slo ?? labels.alertname ?? 'alert',
    ...(labels.alertname ? { alert: labels.alertname } : {}),
    status: alert.status,
    severity: ['page', 'critical'].includes(severity.toLowerCase()) ? 'page' : 'ticket',
    summary: annotations.summary ?? annotations.description ?? labels.alertname ?? null,
    runbook: annotations.runbook_url ?? annotations.runbook ?? null,
  };
}

/**
 * POST /alerts/alertmanager with `Authorization: Bearer <alertmanager.token>`: alerts for known
 * services open, update and resolve incidents like Shipmate's own burn-rate alerts.
 */
export function createAlertmanagerRoute(deps: { token: string; serviceLabel: string; knownService: (name: string) => boolean; receive: (alerts: ExternalAlert[]) => void }): OpsRoute {
  return {
    path: '/alerts/alertmanager',
    method: ['POST'],
    handler: async (req, res) => {
      const auth = String(req.headers.authorization ?? '');
      if (!sameText(auth, `Bearer ${deps.token}`)) return sendJson(res, 401, { error: 'Authorization: Bearer <alertmanager.token from shipmate.yml> is missing or wrong' });
      const body = await readBody(req, MAX_BODY);
      if (body === undefined) return sendJson(res, 413, { error: `the body is larger than ${MAX_BODY} bytes` });
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        return sendJson(res, 400, { error: 'the body is not JSON' });
      }
      const parsed = payloadSchema.safeParse(json);
      if (!parsed.success) return sendJson(res, 400, { error: `not an Alertmanager webhook payload: ${formatIssues(parsed.error.issues).join('; ')}` });
      const mapped = parsed.data.alerts.map((a) => toExternalAlert(a, deps.serviceLabel));
      const accepted = mapped.filter((a): a is ExternalAlert => a !== undefined && deps.knownService(a.service));
      deps.receive(accepted);
      return sendJson(res, 200, { accepted: accepted.length, ignored: mapped.length - accepted.length, ...(accepted.length < mapped.length ? { hint: `alerts need a "${deps.serviceLabel}" label naming a service of shipmate.yml` } : {}) });
    },
  };
}
