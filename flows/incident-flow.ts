import type { Incident, IncidentSnapshot, Severity } from '../src/core/incident';
import type { EffectSpec } from '../src/core/ports';
import type { Source } from '../src/core/types';
import { type FlowDefinition, type FlowStateRepository, type Transition, unchanged } from './flow';
import { incidentCard, type PostMessage, type ThreadReply, type UpdateMessage } from './messages';

/**
 * One SLO incident of one service: firing -> resolved. Its message is posted once and edited in
 * place as the burn changes; what on-call does (acknowledge, roll back, pause releases) is
 * recorded on it and said in its thread.
 */

export type IncidentEvent =
  | { type: 'opened' }
  | { type: 'evaluated'; severity: Severity; snapshot: IncidentSnapshot }
  /** `why`: said instead of "burns below every threshold" when it resolves for another reason. */
  | { type: 'resolved'; snapshot?: IncidentSnapshot; why?: string }
  | { type: 'acknowledged'; by: string; source: Source }
  | { type: 'rollback-started'; by: string; source: Source; deploymentId: number; from: string; to: string }
  | { type: 'rollback-refused'; by: string; reason: string }
  /** The rollback deploy moved on: deploying, succeeded or failed. */
  | { type: 'rollback-progress'; deploymentId: number; status: string; detail?: string }
  | { type: 'releases-paused'; by: string; source: Source }
  | { type: 'flag-off'; by: string; source: Source; flag: string; changeId: number };

export const incidentFlowId = (id: number): string => `incident:${id}`;

export function incidentFlowStates(store: { get(id: number): Incident | undefined; save(i: Incident): void }): FlowStateRepository<Incident> {
  return { load: (flowId) => store.get(Number(flowId.slice('incident:'.length))), save: (i) => store.save(i) };
}

const key = (i: Incident) => incidentFlowId(i.id);
const SEVERITY_RANK: Record<Severity, number> = { ticket: 1, page: 2 };
const PROGRESS_RANK: Record<string, number> = { requested: 0, deploying: 1, succeeded: 2, failed: 2 };

function post(i: Incident): EffectSpec {
  const payload: PostMessage = { messageKey: key(i), channel: i.channel, message: incidentCard(i) };
  return { step: 'card.post', lane: 'slack', type: 'message.post', payload };
}

/** Each edit is its own effect: the revision names it. */
function edit(i: Incident): Transition<Incident> {
  const next = { ...i, revision: i.revision + 1 };
  const payload: UpdateMessage = { messageKey: key(next), message: incidentCard(next) };
  return { state: next, effects: [{ step: `card.r${next.revision}`, lane: 'slack', type: 'message.update', payload }] };
}

function reply(i: Incident, step: string, text: string, extra: Omit<ThreadReply, 'messageKey' | 'text'> = {}): EffectSpec {
  const payload: ThreadReply = { messageKey: key(i), text, ...extra };
  return { step: `reply.${step}`, lane: 'slack', type: 'message.reply', payload };
}

function audit(i: Incident, action: string, actor = 'system', detail: Record<string, unknown> = {}, source: Source = actor === 'system' ? 'system' : 'button') {
  return [{ actor, source, action, subject: `${i.service}/${i.environment}`, detail: { incidentId: i.id, slo: i.slo, ...detail } }];
}

/** Burn rates as people read them: "14.4×". */
const burnText = (s: IncidentSnapshot): string =>
  s.alerts.map((a) => `${a.longWindow}/${a.shortWindow} above ${a.factor}×`).join(', ') || 'no alert row fires';

export const incidentFlow: FlowDefinition<Incident, IncidentEvent> = {
  kind: 'incident',
  transition(i, event, now): Transition<Incident> {
    const firing = i.status === 'firing';
    switch (event.type) {
      case 'opened':
        if (!firing || i.revision > 0) return unchanged(i);
        return { state: i, effects: [post(i)], audit: audit(i, 'incident.opened', 'system', { severity: i.severity, alerts: i.snapshot.alerts }) };
      case 'evaluated': {
        if (!firing) return unchanged(i);
        const escalated = SEVERITY_RANK[event.severity] > SEVERITY_RANK[i.severity];
        // The message shows what fires now; only a worse severity is worth a notification.
        const edited = edit({ ...i, severity: event.severity, snapshot: event.snapshot });
        if (!escalated) return edited;
        const said = reply(edited.state, `escalated.r${edited.state.revision}`, `Escalated to ${event.severity}: ${burnText(event.snapshot)}.`, { broadcast: true });
        return { ...edited, effects: [...edited.effects, said], audit: audit(i, 'incident.escalated', 'system', { severity: event.severity }) };
      }
      case 'resolved': {
        if (!firing) return unchanged(i);
        const edited = edit({ ...i, status: 'resolved', resolvedAt: now, snapshot: event.snapshot ?? i.snapshot });
        const took = Math.round((now.getTime() - i.openedAt.getTime()) / 60_000);
        const said = reply(edited.state, 'resolved', `Resolved after ${took} min: ${event.why ?? `${i.slo} burns below every alert threshold again`}.`, { broadcast: true });
        return { ...edited, effects: [...edited.effects, said], audit: audit(i, 'incident.resolved') };
      }
      case 'acknowledged': {
        if (!firing || i.acknowledgedBy) return unchanged(i);
        const edited = edit({ ...i, acknowledgedBy: event.by });
        return { ...edited, effects: [...edited.effects, reply(edited.state, 'acknowledged', `<@${event.by}> acknowledged.`)], audit: audit(i, 'incident.acknowledged', event.by, {}, event.source) };
      }
      case 'rollback-started': {
        if (!firing || i.rollback?.deploymentId === event.deploymentId) return unchanged(i);
        const edited = edit({ ...i, rollback: { deploymentId: event.deploymentId, by: event.by, from: event.from, to: event.to, status: 'requested' } });
        const who = event.by === 'system' ? 'Shipmate' : `<@${event.by}>`;
        const said = reply(edited.state, `rollback.${event.deploymentId}`, `${who} is rolling back ${i.service} in ${i.environment} from ${event.from} to ${event.to} (deploy #${event.deploymentId}).`);
        return { ...edited, effects: [...edited.effects, said], audit: audit(i, 'incident.rollback', event.by, { deploymentId: event.deploymentId, from: event.from, to: event.to }, event.source) };
      }
      case 'rollback-refused':
        if (!firing) return unchanged(i);
        return { state: i, effects: [reply(i, `rollback-refused.${now.getTime()}`, `<@${event.by}>: no rollback. ${event.reason}`)] };
      case 'rollback-progress': {
        const rb = i.rollback;
        // Listeners see a deploy's states in the order its transitions finish, not always as they happened.
        if (!rb || rb.deploymentId !== event.deploymentId || PROGRESS_RANK[event.status] === undefined || PROGRESS_RANK[event.status]! <= (PROGRESS_RANK[rb.status] ?? -1)) return unchanged(i);
        const edited = edit({ ...i, rollback: { ...rb, status: event.status } });
        const words: Record<string, string> = {
          deploying: `Rollback deploy #${rb.deploymentId} is running: ${rb.from} → ${rb.to}.`,
          succeeded: `Rollback done: ${i.service} runs ${rb.to} in ${i.environment} again.`,
          failed: `Rollback deploy #${rb.deploymentId} failed${event.detail ? `: ${event.detail}` : ''}.`,
        };
        const text = words[event.status];
        return text ? { ...edited, effects: [...edited.effects, reply(edited.state, `rollback.${rb.deploymentId}.${event.status}`, text)] } : edited;
      }
      case 'flag-off': {
        if (!firing) return unchanged(i);
        const said = reply(i, `flag-off.${event.changeId}`, `<@${event.by}> is turning off ${event.flag} in ${i.environment} (flag change #${event.changeId}).`);
        return { state: i, effects: [said], audit: audit(i, 'incident.flag-off', event.by, { flag: event.flag, changeId: event.changeId }, event.source) };
      }
      case 'releases-paused': {
        if (!firing || i.releasesPausedBy) return unchanged(i);
        const edited = edit({ ...i, releasesPausedBy: event.by });
        const said = reply(edited.state, 'releases-paused', `<@${event.by}> paused releases of ${i.service} in ${i.environment}: \`/deploy unlock ${i.environment} ${i.service}\` lifts it.`);
        return { ...edited, effects: [...edited.effects, said], audit: audit(i, 'incident.releases-paused', event.by, {}, event.source) };
      }
    }
  },
};
