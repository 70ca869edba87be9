import type { AllMiddlewareArgs, App, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { deployCommand, type DeployCommandDeps } from '../../commands/deploy-command';
import { createRelease, parseCreate, releaseCommand, type ReleaseCommandDeps } from '../../commands/release-command';
import type { Reply } from '../../commands/reply';
import { flagCommand } from '../../commands/flag-command';
import { sloCommand } from '../../commands/slo-command';
import type { HomeModel } from '../../flows/home-model';
import { AppError, Refusal } from '../core/errors';
import { parseWhen } from '../core/schedule';
import type { Logger } from '../telemetry/logger';
import type { Metrics } from '../telemetry/metrics';
import type { ButtonSigner } from './button-signing';
import { renderHome } from './home-view';
import {
  ACTION_ABORT_RELEASE,
  ACTION_APPROVE_DEPLOY,
  ACTION_PAUSE_RELEASE,
  ACTION_ROLLBACK_RELEASE,
  ACTION_RESUME_RELEASE,
  ACTION_REJECT_DEPLOY,
  ACTION_REREQUEST_DEPLOY,
  ACTION_RETRY_DEPLOY,
  ACTION_ROLLBACK_DEPLOY,
  ACTION_PROMOTE_CANARY,
  ACTION_ROLLBACK_CANARY,
  INPUT_REJECT_REASON,
  rejectModal,
  releaseModal,
  renderReply,
  VIEW_REJECT_DEPLOY,
  VIEW_RELEASE_FORM,
} from './render';
import type { ListenerRouter } from './listener-router';

export interface ListenerDeps extends DeployCommandDeps, ReleaseCommandDeps {
  log: Logger;
  metrics: Metrics;
  /** What a person's App Home shows. */
  home: (userId: string) => Promise<HomeModel>;
  /** Signs App Home's buttons as the messenger signs messages'. */
  signer: ButtonSigner;
  /**
   * How long a slash command may work before it is acked with "working on it" and answered later
   * through response_url. Slack gives 3 s; pre-flight checks on GitHub can take longer.
   */
  ackWithinMs?: number;
  /**
   * How long a Reject click may spend finding out whether it can reject before the reason form
   * opens anyway (its submission decides then). The form needs the click's trigger_id, which Slack
   * honours for 3 s, and an approver group's members may have to be asked of Slack.
   */
  rejectCheckWithinMs?: number;
}

/**
 * Runs a command and turns any failure into a reply, so every listener answers with something a
 * person can read. Only unexpected errors are logged as errors: bad input is not a fault.
 */
export async function answer(deps: Pick<ListenerDeps, 'metrics' | 'log'>, command: string, work: () => Promise<Reply | string> | Reply | string): Promise<Reply> {
  const stop = deps.metrics.commandDuration.startTimer({ command });
  try {
    const result = await work();
    stop({ outcome: 'ok' });
    return typeof result === 'string' ? { kind: 'text', text: result } : result;
  } catch (error) {
    if (error instanceof AppError) {
      stop({ outcome: error.code });
      const usage = [deployCommand, releaseCommand, sloCommand, flagCommand].find((c) => c.isUsageError(error))?.usage;
      return { kind: 'error', text: error.userMessage, ...(usage ? { usage } : {}) };
    }
    stop({ outcome: 'error' });
    deps.log.error({ err: error, command }, 'command failed');
    return { kind: 'error', text: "Something went wrong on our side; nothing was changed. The error is in Shipmate's log." };
  }
}

const deploymentIdOf = (action: ButtonAction): number => Number(action.value);

/** The promise's value if it settles within `ms`, otherwise undefined; the timer does not outlive it. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

type CommandAck = (reply: { response_type: 'ephemeral'; text: string; blocks?: unknown[] }) => Promise<void>;
type CommandRespond = (reply: { response_type: 'ephemeral'; replace_original: boolean; text: string; blocks?: unknown[] }) => Promise<unknown>;

/**
 * Acks with the reply when it is ready within the budget; otherwise acks at once with a note and
 * sends the reply through response_url when it is, so Slack never times the command out.
 */
async function replyInTime(deps: ListenerDeps, work: Promise<Reply>, ack: CommandAck, respond: CommandRespond): Promise<void> {
  const early = await within(work, deps.ackWithinMs ?? 2_000);
  if (early) return ack({ response_type: 'ephemeral', ...renderReply(early) });
  await ack({ response_type: 'ephemeral', text: ':hourglass_flowing_sand: Checking… the answer follows in a moment.' });
  await respond({ response_type: 'ephemeral', replace_original: true, ...renderReply(await work) });
}

export function registerListeners(router: ListenerRouter, deps: ListenerDeps): void {
  router.command('/deploy', async ({ command, ack, respond }) => {
    const work = answer(deps, 'deploy', () =>
      deployCommand.run(deps, deployCommand.parse(command.text), {
        actor: { userId: command.user_id, source: 'slash_command' },
        requestKey: command.trigger_id,
      }),
    );
    await replyInTime(deps, work, ack as CommandAck, respond as CommandRespond);
  });

  router.command('/release', async ({ command, ack, client, respond }) => {
    let input;
    try {
      input = releaseCommand.parse(command.text);
    } catch (error) {
      await ack({ response_type: 'ephemeral', ...renderReply(await answer(deps, 'release', () => Promise.reject(error))) });
      return;
    }
    if (input.action === 'form') {
      await ack();
      const environments = [...new Set(Object.values(deps.config.services).flatMap((s) => Object.keys(s.environments)))];
      await client.views.open({ trigger_id: command.trigger_id, view: releaseModal(environments, command.channel_id) });
      return;
    }
    const run = input;
    const work = answer(deps, 'release', () =>
      releaseCommand.run(deps, run, {
        actor: { userId: command.user_id, source: 'slash_command' },
        requestKey: command.trigger_id,
        channel: command.channel_id,
      }),
    );
    await replyInTime(deps, work, ack as CommandAck, respond as CommandRespond);
  });

  router.view(VIEW_RELEASE_FORM, async ({ ack, view, body, client }) => {
    const field = (id: string) => {
      const v = view.state.values[id]?.[id];
      return (v?.selected_option?.value ?? v?.value ?? '').trim();
    };
    // Check each field where it is typed, so the form shows the error beside it.
    const errors: Record<string, string> = {};
    const when = field('when');
    if (when) {
      try {
        parseWhen(when, deps.now(), deps.config.timezone);
      } catch (error) {
        errors.when = error instanceof AppError ? error.userMessage.slice(0, 150) : String(error);
      }
    }
    let input;
    try {
      input = parseCreate([field('name'), ...field('services').split(/[\s,]+/).filter(Boolean), 'to', field('environment'), ...(when ? ['at', when] : [])], field('notes') || undefined);
    } catch (error) {
      errors.services = error instanceof AppError ? error.userMessage.slice(0, 150) : String(error);
    }
    if (Object.keys(errors).length > 0 || !input || input.action !== 'create') {
      await ack({ response_action: 'errors', errors });
      return;
    }
    await ack();
    const created = input;
    const reply = await answer(deps, 'release', () =>
      createRelease(deps, created, { actor: { userId: body.user.id, source: 'slash_command' }, requestKey: `view:${view.id}`, channel: view.private_metadata }),
    );
    await client.chat.postMessage({ channel: body.user.id, ...renderReply(reply) });
  });

  const publishHome = async (client: App['client'], userId: string) =>
    client.views.publish({ user_id: userId, view: deps.signer.signBlocks(renderHome(await deps.home(userId))) });

  router.event('app_home_opened', async ({ event, client }) => {
    if (event.tab === 'home') await publishHome(client, event.user);
  });

  /**
   * Tells the clicker alone: through response_url on a message, by direct message from App Home
   * (which has none), and App Home is refreshed.
   */
  const tellClicker = async ({ body, respond, client }: SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs, reply: Reply) => {
    const rendered = renderReply(reply);
    if (body.view?.type === 'home') {
      await client.chat.postMessage({ channel: body.user.id, ...rendered });
      await publishHome(client, body.user.id);
    } else {
      await respond({ response_type: 'ephemeral', replace_original: false, ...rendered });
    }
  };

  /** Buttons ack at once; the answer goes to the clicker alone. */
  const button = (actionId: string, work: (body: BlockAction, action: ButtonAction) => Promise<Reply | string> | string) =>
    router.action<BlockAction<ButtonAction>>(actionId, async (args) => {
      await args.ack();
      await tellClicker(args, await answer(deps, actionId, () => work(args.body, args.action)));
    });

  const redeploy = (source: 'button') => async (body: BlockAction, action: ButtonAction) => {
    const earlier = deps.deployments.get(deploymentIdOf(action));
    if (!earlier) return { kind: 'error' as const, text: "That deploy is no longer in Shipmate's database." };
    return deployCommand.run(
      deps,
      { action: 'deploy', service: earlier.service, version: earlier.version, environment: earlier.environment, queue: false },
      { actor: { userId: body.user.id, source }, requestKey: body.trigger_id },
    );
  };
  button(ACTION_RETRY_DEPLOY, redeploy('button'));
  button(ACTION_REREQUEST_DEPLOY, redeploy('button'));
  button(ACTION_APPROVE_DEPLOY, (body, action) => deps.deployService.approve(deploymentIdOf(action), body.user.id));
  button(ACTION_ROLLBACK_DEPLOY, async (body, action) => {
    const d = deps.deployments.get(deploymentIdOf(action));
    if (!d) return { kind: 'error' as const, text: "That deploy is no longer in Shipmate's database." };
    // The button names the version it leads to; go there, not wherever "previous" points by now.
    return deployCommand.run(
      deps,
      { action: 'rollback', service: d.service, environment: d.environment, ...(d.previousGood ? { to: d.previousGood } : {}) },
      { actor: { userId: body.user.id, source: 'button' }, requestKey: body.trigger_id },
    );
  });
  button(ACTION_PROMOTE_CANARY, (body, action) => deps.deployService.decideCanary(deploymentIdOf(action), 'promote', { userId: body.user.id, source: 'button' }));
  button(ACTION_ROLLBACK_CANARY, (body, action) => deps.deployService.decideCanary(deploymentIdOf(action), 'rollback', { userId: body.user.id, source: 'button' }));
  button(ACTION_ROLLBACK_RELEASE, async (body, action) =>
    (await deps.releaseService.rollbackRequested(Number(action.value), { userId: body.user.id, source: 'button' })).join('\n'),
  );
  for (const [actionId, control] of [[ACTION_PAUSE_RELEASE, 'pause'], [ACTION_RESUME_RELEASE, 'resume'], [ACTION_ABORT_RELEASE, 'abort']] as const) {
    button(actionId, (body, action) => {
      const r = deps.releaseService.control(Number(action.value), control, { userId: body.user.id, source: 'button' });
      return `Release ${r.name} is ${r.status}.`;
    });
  }

  // Reject asks why first: a modal, opened with the click's trigger_id while it is still valid. A
  // click that could not reject (the deploy is over, or the clicker is no approver) says so instead.
  // When that takes too long to tell, or cannot be told (Slack does not list an approver group), the
  // form opens all the same: the submission checks again, and refuses or rejects.
  router.action<BlockAction<ButtonAction>>(ACTION_REJECT_DEPLOY, async (args) => {
    await args.ack();
    const id = deploymentIdOf(args.action);
    const check = deps.deployService.cannotReject(id, args.body.user.id).then(
      (why) => ({ why }),
      (error: unknown) => ({ error }),
    );
    const withinMs = deps.rejectCheckWithinMs ?? 1_000;
    const verdict = await within(check, withinMs);
    if (!verdict || ('error' in verdict && !(verdict.error instanceof Refusal))) {
      const why = verdict ? 'could not tell' : `did not tell within ${withinMs} ms`;
      deps.log.warn({ err: verdict && 'error' in verdict ? verdict.error : undefined, deploymentId: id }, `${why} whether a Reject click can reject; the reason form decides`);
    } else if ('error' in verdict || verdict.why !== undefined) {
      await tellClicker(args, await answer(deps, ACTION_REJECT_DEPLOY, () => ('error' in verdict ? Promise.reject(verdict.error) : verdict.why!)));
      return;
    }
    await args.client.views.open({ trigger_id: args.body.trigger_id, view: rejectModal(id) });
  });

  router.view(VIEW_REJECT_DEPLOY, async ({ ack, view, body, client }) => {
    const reason = view.state.values[INPUT_REJECT_REASON]?.[INPUT_REJECT_REASON]?.value?.trim() ?? '';
    if (reason.length < 3) {
      await ack({ response_action: 'errors', errors: { [INPUT_REJECT_REASON]: 'Say in a few words why, so the requester can act on it.' } });
      return;
    }
    await ack();
    const reply = await answer(deps, 'deploy_reject', () => deps.deployService.reject(Number(view.private_metadata), body.user.id, reason));
    // A modal has no response_url; tell the person directly.
    await client.chat.postMessage({ channel: body.user.id, ...renderReply(reply) });
  });
}
