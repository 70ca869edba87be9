import { formatDuration } from '../src/core/format-duration';
import type { DeploymentStore, DeployOutcome, EffectSpec } from '../src/core/ports';
import type { Deployment, Source } from '../src/core/types';
import type { FlowStateRepository, Transition } from './flow';
import { deployCard, type PostMessage, type ThreadReply, type UpdateMessage } from './messages';

/** The effects a deploy flow (and the canary it may run) emits, and how a deploy ends. */

export const deployFlowId = (deploymentId: number): string => `deploy:${deploymentId}`;

const messageKey = (d: Deployment): string => deployFlowId(d.id);
const target = (d: Deployment): string => `${d.service}/${d.environment}`;

/** Deploy flows keep their state in the deployments table. */
export function deployFlowStates(store: DeploymentStore): FlowStateRepository<Deployment> {
  return {
    load: (flowId) => store.get(Number(flowId.slice('deploy:'.length))),
    save: (d) => store.save(d),
  };
}

export function audit(d: Deployment, action: string, actor = 'system', detail: Record<string, unknown> = {}, source?: Source) {
  const from = source ?? (actor === 'system' ? ('system' as const) : ('button' as const));
  return [{ actor, source: from, action, subject: target(d), detail: { deploymentId: d.id, version: d.version, ...detail } }];
}

export function post(d: Deployment): EffectSpec {
  const payload: PostMessage = { messageKey: messageKey(d), channel: d.channel, message: deployCard(d) };
  return { step: 'card.post', lane: 'slack', type: 'message.post', payload };
}

/** `step` must be unique within the flow: one update per status, plus one per approval. */
export function update(d: Deployment, step = `card.${d.status}`): EffectSpec {
  const payload: UpdateMessage = { messageKey: messageKey(d), message: deployCard(d) };
  return { step, lane: 'slack', type: 'message.update', payload };
}

export function reply(d: Deployment, step: string, text: string, extra: Omit<ThreadReply, 'messageKey' | 'text'> = {}): EffectSpec {
  const payload: ThreadReply = { messageKey: messageKey(d), text, ...extra };
  return { step: `reply.${step}`, lane: 'slack', type: 'message.reply', payload };
}

/** A deploy that was deploying is over: the card, a thread reply and an audit row say how. */
export function finishDeploy(d: Deployment, outcome: DeployOutcome, now: Date, previousGood: string | null, extra: EffectSpec[] = []): Transition<Deployment> {
  const took = formatDuration(now.getTime() - (d.startedAt ?? d.createdAt).getTime());
  if (outcome.ok) {
    const next: Deployment = { ...d, status: 'succeeded', finishedAt: now, error: null, previousGood };
    return {
      state: next,
      effects: [update(next), reply(next, 'succeeded', `${d.service} ${d.version} is live in ${d.environment} (took ${took}). ${outcome.summary}`), ...extra],
      audit: audit(next, 'deploy.succeeded'),
    };
  }
  const next: Deployment = { ...d, status: 'failed', finishedAt: now, error: outcome.error, previousGood };
  return {
    state: next,
    effects: [update(next), reply(next, 'failed', `Deploy failed after ${took}: ${outcome.error}`, outcome.outputTail ? { preformatted: outcome.outputTail } : {}), ...extra],
    audit: audit(next, 'deploy.failed', 'system', { error: outcome.error }),
  };
}
