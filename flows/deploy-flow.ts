import type { DeploymentStore, DeployOutcome, EffectSpec } from '../src/core/ports';
import type { Deployment } from '../src/core/types';
import { type FlowDefinition, type FlowStateRepository, type Transition, unchanged } from './flow';
import { deployCard, type PostMessage, type ThreadReply, type UpdateMessage } from './messages';
import { formatDuration } from '../src/core/format-duration';

export type DeployEvent =
  | { type: 'requested' }
  | { type: 'start' }
  | { type: 'finished'; outcome: DeployOutcome };

export const deployFlowId = (deploymentId: number): string => `deploy:${deploymentId}`;

const messageKey = (d: Deployment): string => deployFlowId(d.id);

/** Deploy flows keep their state in the deployments table. */
export function deployFlowStates(store: DeploymentStore): FlowStateRepository<Deployment> {
  return {
    load: (flowId) => store.get(Number(flowId.slice('deploy:'.length))),
    save: (d) => store.save(d),
  };
}

/** Shipmate itself did it: the deploy moved on because the deployer answered. */
function systemAudit(d: Deployment, action: string, detail: Record<string, unknown> = {}) {
  return [{ actor: 'system', source: 'system' as const, action, subject: `${d.service}/${d.environment}`, detail: { deploymentId: d.id, version: d.version, ...detail } }];
}

function post(d: Deployment): EffectSpec {
  const payload: PostMessage = { messageKey: messageKey(d), channel: d.channel, message: deployCard(d) };
  return { step: 'card.post', lane: 'slack', type: 'message.post', payload };
}

function update(d: Deployment): EffectSpec {
  const payload: UpdateMessage = { messageKey: messageKey(d), message: deployCard(d) };
  return { step: `card.${d.status}`, lane: 'slack', type: 'message.update', payload };
}

function reply(d: Deployment, text: string, preformatted?: string): EffectSpec {
  const payload: ThreadReply = { messageKey: messageKey(d), text, ...(preformatted ? { preformatted } : {}) };
  return { step: `reply.${d.status}`, lane: 'slack', type: 'message.reply', payload };
}

/**
 * One deploy of one version to one environment: queued -> deploying -> succeeded | failed.
 * Events that do not fit the current state (a replay after a restart, say) change nothing.
 */
export const deployFlow: FlowDefinition<Deployment, DeployEvent> = {
  kind: 'deploy',
  transition(d, event, now): Transition<Deployment> {
    switch (event.type) {
      case 'requested':
        return d.status === 'queued' ? { state: d, effects: [post(d)] } : unchanged(d);
      case 'start': {
        if (d.status !== 'queued') return unchanged(d);
        const next: Deployment = { ...d, status: 'deploying', startedAt: now };
        const deploy: EffectSpec = {
          step: 'deploy',
          lane: 'work',
          type: 'deploy',
          payload: { deploymentId: d.id, service: d.service, environment: d.environment, version: d.version, requestedBy: d.requestedBy },
        };
        return { state: next, effects: [update(next), deploy], audit: systemAudit(next, 'deploy.started') };
      }
      case 'finished': {
        if (d.status !== 'deploying') return unchanged(d);
        const took = formatDuration(now.getTime() - (d.startedAt ?? d.createdAt).getTime());
        const { outcome } = event;
        if (outcome.ok) {
          const next: Deployment = { ...d, status: 'succeeded', finishedAt: now, error: null };
          return {
            state: next,
            effects: [update(next), reply(next, `${d.service} ${d.version} is live in ${d.environment} (took ${took}). ${outcome.summary}`)],
            audit: systemAudit(next, 'deploy.succeeded'),
          };
        }
        const next: Deployment = { ...d, status: 'failed', finishedAt: now, error: outcome.error };
        return {
          state: next,
          effects: [update(next), reply(next, `Deploy failed after ${took}: ${outcome.error}`, outcome.outputTail)],
          audit: systemAudit(next, 'deploy.failed', { error: outcome.error }),
        };
      }
    }
  },
};
