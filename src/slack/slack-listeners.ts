import type { App } from '@slack/bolt';
import { deployCommand, type DeployCommandDeps } from '../../commands/deploy-command';
import type { Reply } from '../../commands/reply';
import { AppError } from '../core/errors';
import type { Logger } from '../telemetry/logger';
import type { Metrics } from '../telemetry/metrics';
import { ACTION_RETRY_DEPLOY, renderReply } from './render';

export interface ListenerDeps extends DeployCommandDeps {
  log: Logger;
  metrics: Metrics;
}

/**
 * Runs a command and turns any failure into a reply, so every listener acks with something a
 * person can read. Only unexpected errors are logged as errors: bad input is not a fault.
 */
function answer(deps: ListenerDeps, command: string, work: () => Reply): Reply {
  const stop = deps.metrics.commandDuration.startTimer({ command });
  try {
    const reply = work();
    stop({ outcome: 'ok' });
    return reply;
  } catch (error) {
    if (error instanceof AppError) {
      stop({ outcome: error.code });
      const usage = deployCommand.isUsageError(error) ? deployCommand.usage : undefined;
      return { kind: 'error', text: error.userMessage, ...(usage ? { usage } : {}) };
    }
    stop({ outcome: 'error' });
    deps.log.error({ err: error, command }, 'command failed');
    return { kind: 'error', text: 'Something went wrong on our side; nothing was started. The error is in Shipmate\'s log.' };
  }
}

export function registerListeners(app: App, deps: ListenerDeps): void {
  app.command('/deploy', async ({ command, ack }) => {
    const reply = answer(deps, 'deploy', () =>
      deployCommand.run(deps, deployCommand.parse(command.text), {
        actor: { userId: command.user_id, source: 'slash_command' },
        requestKey: command.trigger_id,
      }),
    );
    await ack({ response_type: 'ephemeral', ...renderReply(reply) });
  });

  app.action({ type: 'block_actions', action_id: ACTION_RETRY_DEPLOY }, async ({ ack, body, action, respond }) => {
    await ack();
    const reply = answer(deps, 'deploy_retry', () => {
      const earlier = deps.deployments.get(Number((action as { value?: string }).value));
      if (!earlier) return { kind: 'error', text: 'That deploy is no longer in Shipmate\'s database.' };
      return deployCommand.run(
        deps,
        { action: 'deploy', service: earlier.service, version: earlier.version, environment: earlier.environment },
        { actor: { userId: body.user.id, source: 'button' }, requestKey: body.trigger_id },
      );
    });
    await respond({ response_type: 'ephemeral', replace_original: false, ...renderReply(reply) });
  });
}
