import type { BlockAction, ButtonAction } from '@slack/bolt';
import { flagCommand, type FlagCommandDeps } from '../../commands/flag-command';
import type { Reply } from '../../commands/reply';
import type { FlagService } from '../../flows/flag-service';
import type { Logger } from '../telemetry/logger';
import type { Metrics } from '../telemetry/metrics';
import { ACTION_APPROVE_FLAG, ACTION_REJECT_FLAG, ACTION_UNDO_FLAG } from './flag-view';
import { INPUT_REJECT_REASON, rejectModal, renderReply } from './render';
import { answer } from './slack-listeners';
import type { ListenerRouter } from './listener-router';

export const VIEW_REJECT_FLAG = 'flag_reject_reason';

export interface FlagListenerDeps extends FlagCommandDeps {
  flagService: FlagService;
  log: Logger;
  metrics: Metrics;
}

/** `/flag`, and the Approve, Reject and Undo buttons of flag change messages. */
export function registerFlagListeners(router: ListenerRouter, deps: FlagListenerDeps): void {
  router.command('/flag', async ({ command, ack }) => {
    const reply = await answer(deps, 'flag', () =>
      flagCommand.run(deps, flagCommand.parse(command.text), { actor: { userId: command.user_id, source: 'slash_command' }, requestKey: command.trigger_id }),
    );
    await ack({ response_type: 'ephemeral', ...renderReply(reply) });
  });

  const button = (actionId: string, work: (body: BlockAction, changeId: number) => Promise<Reply | string> | Reply | string) =>
    router.action<BlockAction<ButtonAction>>(actionId, async ({ ack, body, action, respond }) => {
      await ack();
      const reply = await answer(deps, actionId, () => work(body, Number(action.value)));
      await respond({ response_type: 'ephemeral', replace_original: false, ...renderReply(reply) });
    });
  button(ACTION_APPROVE_FLAG, (body, id) => deps.flagService.approve(id, body.user.id));
  button(ACTION_UNDO_FLAG, async (body, id) => {
    const { change, duplicate } = await deps.flagService.undo(id, { userId: body.user.id, source: 'button' }, `undo:${id}`);
    return duplicate ? `Flag change #${id} was already undone (change #${change.id}).` : `Undoing flag change #${id} (change #${change.id}).`;
  });

  router.action<BlockAction<ButtonAction>>(ACTION_REJECT_FLAG, async ({ ack, body, action, client }) => {
    await ack();
    await client.views.open({ trigger_id: body.trigger_id, view: rejectModal(Number(action.value), { callbackId: VIEW_REJECT_FLAG, noun: 'flag change' }) });
  });
  router.view(VIEW_REJECT_FLAG, async ({ ack, view, body, client }) => {
    const reason = view.state.values[INPUT_REJECT_REASON]?.[INPUT_REJECT_REASON]?.value?.trim() ?? '';
    if (reason.length < 3) {
      await ack({ response_action: 'errors', errors: { [INPUT_REJECT_REASON]: 'Say in a few words why, so the requester can act on it.' } });
      return;
    }
    await ack();
    const reply = await answer(deps, 'flag_reject', () => deps.flagService.reject(Number(view.private_metadata), body.user.id, reason));
    await client.chat.postMessage({ channel: body.user.id, ...renderReply(reply) });
  });
}
