import { Bits, Blocks, Elements, Md } from 'slack-block-builder';
import type { IncidentCard } from '../../flows/messages';
import { blocks, escapeMrkdwn, type RenderedMessage, slackDate } from './render';

export const ACTION_INCIDENT_ROLLBACK = 'incident_rollback';
export const ACTION_INCIDENT_PAUSE = 'incident_pause_releases';
export const ACTION_INCIDENT_ACK = 'incident_ack';
export const ACTION_INCIDENT_RUNBOOK = 'incident_runbook';
export const ACTION_INCIDENT_FLAG_OFF = 'incident_flag_off';

const WINDOWS = ['5m', '30m', '1h', '2h', '6h', '1d', '3d'];

/** Slack refuses a message whose section text passes 3000 characters or a button text 75: nothing of it would show. */
const SECTION_LIMIT = 2900;
const BUTTON_LIMIT = 75;
const MAX_CHANGES = 10;
const fit = (text: string, limit = SECTION_LIMIT): string => (text.length <= limit ? text : `${text.slice(0, limit - 1)}…`);

const burn = (rate: number | null | undefined): string => (rate === null || rate === undefined ? 'no data' : `${Number(rate.toPrecision(3))}×`);

function burnLine(card: IncidentCard): string {
  const rates = card.snapshot.burnRate;
  const shown = WINDOWS.filter((w) => Object.hasOwn(rates, w)).map((w) => `${w} ${burn(rates[w])}`);
  return shown.length ? `Burn rate: ${shown.join(' · ')}` : 'Burn rates: not known (alert from Alertmanager)';
}

function budgetLine(card: IncidentCard): string | undefined {
  const { budgetRemaining, objective, period } = card.snapshot;
  if (objective === null) return undefined;
  const left = budgetRemaining === null ? 'unknown' : budgetRemaining <= 0 ? '*exhausted*' : `${Math.round(budgetRemaining * 1000) / 10}% left`;
  return `Objective ${objective}% over ${period ?? '30d'} · error budget ${left}`;
}

function changesLine(card: IncidentCard): string {
  const { changes, flagChanges = [] } = card.snapshot;
  const deploys = changes.map((c) => `• deploy ${Md.codeInline(c.version)} ${c.status}${c.rollbackFrom ? ` (rollback from ${c.rollbackFrom})` : ''} by ${Md.user(c.by)} ${slackDate(c.at)}`);
  const flags = flagChanges.map((f) => `• flag ${Md.codeInline(f.flag)} ${escapeMrkdwn(f.what)} by ${Md.user(f.by)} ${slackDate(f.at)}`);
  if (deploys.length + flags.length === 0) return 'No deploys or flag changes of this service in the last 24 hours.';
  const all = [...deploys, ...flags];
  const shown = all.slice(0, MAX_CHANGES);
  const more = all.length > shown.length ? `\n…and ${all.length - shown.length} more` : '';
  return fit(`Changes in the last 24 hours:\n${shown.join('\n')}${more}`);
}

function statusLines(card: IncidentCard): string[] {
  const lines = [`Opened ${slackDate(card.openedAt)}`];
  if (card.acknowledgedBy) lines.push(`acknowledged by ${Md.user(card.acknowledgedBy)}`);
  if (card.rollback) {
    const by = card.rollback.by === 'system' ? 'Shipmate' : Md.user(card.rollback.by);
    lines.push(`rollback to ${Md.codeInline(card.rollback.to)} by ${by}: ${card.rollback.status} (deploy #${card.rollback.deploymentId})`);
  }
  if (card.releasesPausedBy) lines.push(`releases paused by ${Md.user(card.releasesPausedBy)}`);
  if (card.resolvedAt) lines.push(`resolved ${slackDate(card.resolvedAt)}`);
  return lines;
}

function buttons(card: IncidentCard) {
  const value = String(card.incidentId);
  const runbook = card.snapshot.runbook ? Elements.Button({ text: 'Runbook', actionId: ACTION_INCIDENT_RUNBOOK, url: card.snapshot.runbook }) : undefined;
  if (card.status !== 'firing') return runbook && Blocks.Actions().elements(runbook);
  const rb = card.snapshot.rollback;
  const rollback =
    rb && (!card.rollback || card.rollback.status === 'failed')
      ? Elements.Button({ text: fit(`Roll back ${card.service} to ${rb.to}`, BUTTON_LIMIT), actionId: ACTION_INCIDENT_ROLLBACK, value }).danger().confirm(
          Bits.ConfirmationDialog({ title: 'Roll back?', text: `Roll back ${Md.bold(card.service)} in ${card.environment} from ${Md.bold(rb.from)} to ${Md.bold(rb.to)}?`, confirm: 'Roll back', deny: 'Cancel' }).danger(),
        )
      : undefined;
  const pause = card.releasesPausedBy
    ? undefined
    : Elements.Button({ text: fit(`Pause releases of ${card.service}`, BUTTON_LIMIT), actionId: ACTION_INCIDENT_PAUSE, value }).confirm(
        Bits.ConfirmationDialog({ title: 'Pause releases?', text: `Lock ${Md.bold(card.service)} in ${card.environment}: new deploys are refused until someone unlocks it.`, confirm: 'Pause', deny: 'Cancel' }),
      );
  const ack = card.acknowledgedBy ? undefined : Elements.Button({ text: 'Acknowledge', actionId: ACTION_INCIDENT_ACK, value }).primary();
  // Slack allows 25 elements; two flags at most keep the row readable.
  const flagsOff = (card.snapshot.flags ?? [])
    .filter((f) => f.enabled !== false)
    .slice(0, 2)
    .map((f) =>
      Elements.Button({ text: fit(`Turn off ${f.key}`, BUTTON_LIMIT), actionId: `${ACTION_INCIDENT_FLAG_OFF}:${f.key}`, value: `${card.incidentId}:${f.key}` }).confirm(
        Bits.ConfirmationDialog({ title: 'Turn the flag off?', text: `Turn off ${Md.bold(f.key)} in ${card.environment} for everyone, now?`, confirm: 'Turn off', deny: 'Cancel' }).danger(),
      ),
    );
  return Blocks.Actions().elements(rollback, ...flagsOff, pause, ack, runbook);
}

export function renderIncidentCard(card: IncidentCard): RenderedMessage {
  const firing = card.status === 'firing';
  const headline = firing
    ? `${card.severity === 'page' ? ':rotating_light:' : ':warning:'} ${Md.bold(card.service)}: ${Md.codeInline(card.slo)} is burning error budget (${card.severity})`
    : `:white_check_mark: ${Md.bold(card.service)}: ${Md.codeInline(card.slo)} resolved`;
  const summary = card.snapshot.summary ? escapeMrkdwn(fit(card.snapshot.summary, 500)) : undefined;
  const budget = budgetLine(card);
  return {
    text: `${card.service} ${card.slo}: ${firing ? `burning (${card.severity})` : 'resolved'}`,
    blocks: blocks(
      Blocks.Section({ text: fit([headline, summary, burnLine(card), budget].filter(Boolean).join('\n')) }),
      Blocks.Section({ text: changesLine(card) }),
      Blocks.Context().elements(`Incident #${card.incidentId} · ${statusLines(card).join(' · ')}`),
      buttons(card),
    ),
  };
}
