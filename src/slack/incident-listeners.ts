import type { BlockAction, ButtonAction } from '@slack/bolt';
import type { Reply } from '../../commands/reply';
import { sloCommand, type SloCommandDeps } from '../../commands/slo-command';
import type { DeployService } from '../../flows/deploy-service';
import type { IncidentService } from '../../flows/incident-service';
import { type ShipmateConfig, channelFor, findService } from '../core/config';
import type { MessageStore } from '../store/sqlite-message-store';
import type { Logger } from '../telemetry/logger';
import type { Metrics } from '../telemetry/metrics';
import { ACTION_INCIDENT_ACK, ACTION_INCIDENT_FLAG_OFF, ACTION_INCIDENT_PAUSE, ACTION_INCIDENT_ROLLBACK, ACTION_INCIDENT_RUNBOOK } from './incident-view';
import { renderReply } from './render';
import { answer } from './slack-listeners';
import type { ListenerRouter } from './listener-router';

export interface IncidentListenerDeps extends SloCommandDeps {
  config: ShipmateConfig;
  incidentService: IncidentService;
  deployService: DeployService;
  messages: MessageStore;
  log: Logger;
  metrics: Metrics;
}

const MENTION_ROLLBACK = /^\s*(?:<@[A-Z0-9]+>\s*)*rollback\s+([a-z0-9][a-z0-9._-]*)(?:\s+([a-z0-9][a-z0-9._-]*))?\s*$/i;

/** `/slo`, the incident message's buttons, and `@shipmate rollback <service>` in an incident thread. */
export function registerIncidentListeners(router: ListenerRouter, deps: IncidentListenerDeps): void {
  router.command('/slo', async ({ command, ack }) => {
    const reply = await answer(deps, 'slo', () => sloCommand.run(deps, sloCommand.parse(command.text)));
    await ack({ response_type: 'ephemeral', ...renderReply(reply) });
  });

  const button = (actionId: string, work: (body: BlockAction, incidentId: number) => Promise<Reply | string> | string) =>
    router.action<BlockAction<ButtonAction>>(actionId, async ({ ack, body, action, respond }) => {
      await ack();
      const reply = await answer(deps, actionId, () => work(body, Number(action.value)));
      await respond({ response_type: 'ephemeral', replace_original: false, ...renderReply(reply) });
    });
  const actor = (body: BlockAction) => ({ userId: body.user.id, source: 'button' as const });
  button(ACTION_INCIDENT_ACK, (body, id) => deps.incidentService.acknowledge(id, actor(body)));
  button(ACTION_INCIDENT_ROLLBACK, (body, id) => deps.incidentService.rollback(id, actor(body), body.trigger_id));
  button(ACTION_INCIDENT_PAUSE, (body, id) => deps.incidentService.pauseReleases(id, actor(body)));
  // One button per flag (action IDs must be unique in a message); the value names incident and flag, and is checked.
  router.action<BlockAction<ButtonAction>>(new RegExp(`^${ACTION_INCIDENT_FLAG_OFF}:`), async ({ ack, body, action, respond }) => {
    await ack();
    const [id = '', flag = ''] = action.value?.split(':') ?? [];
    const reply = await answer(deps, ACTION_INCIDENT_FLAG_OFF, () => deps.incidentService.turnOffFlag(Number(id), flag, actor(body), body.trigger_id));
    await respond({ response_type: 'ephemeral', replace_original: false, ...renderReply(reply) });
  });
  // A link button: Slack opens the runbook and still tells the app, which only has to ack.
  router.action(ACTION_INCIDENT_RUNBOOK, async ({ ack }) => ack());

  router.event('app_mention', async ({ event, client }) => {
    const match = MENTION_ROLLBACK.exec(event.text);
    const thread = event.thread_ts ?? event.ts;
    const say = (text: string) => client.chat.postMessage({ channel: event.channel, thread_ts: thread, text });
    if (!match) {
      await say('I understand `@shipmate rollback <service> [environment]`; slash commands do the rest (`/deploy help`, `/slo help`).');
      return;
    }
    const [, service = '', environment] = match;
    const user = event.user ?? 'unknown';
    const key = event.thread_ts ? deps.messages.keyAt(event.channel, event.thread_ts) : undefined;
    const incidentId = key?.startsWith('incident:') ? Number(key.slice('incident:'.length)) : undefined;
    const reply = await answer(deps, 'mention_rollback', async () => {
      if (!findService(deps.config, service)) return { kind: 'error', text: `There is no service "${service}" in shipmate.yml.` };
      const incident = incidentId !== undefined ? deps.incidentService.find(incidentId) : undefined;
      // In its incident's thread the rollback is that incident's: it reports there.
      if (incident && incident.service === service && (!environment || environment === incident.environment)) {
        return deps.incidentService.rollback(incident.id, { userId: user, source: 'slash_command' }, `mention:${event.ts}`);
      }
      const env = environment ?? deps.config.slo.environment;
      const result = await deps.deployService.rollback({ service, environment: env, channel: channelFor(deps.config, service, env), requestKey: `mention:${event.ts}` }, { userId: user, source: 'slash_command' });
      const d = result.deployment;
      if (result.abortedCanary) return `${service} ${d.version} was a canary in ${env} (deploy #${d.id}); ${result.duplicate ? 'it is already being rolled back' : `rolling it back to ${d.canary?.baselineVersion ?? 'the baseline'}`}.`;
      return result.duplicate ? `A rollback of ${service} in ${env} is already under way (deploy #${d.id}).` : `Rolling back ${service} in ${env} to ${d.version} (deploy #${d.id}).`;
    });
    // Incident rollbacks report in the thread themselves; a refusal or another thread gets the answer here.
    if (incidentId === undefined || reply.kind === 'error') await say(renderReply(reply).text);
  });
}

