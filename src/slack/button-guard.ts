import type { AnyMiddlewareArgs, App, BlockAction } from '@slack/bolt';
import type { Clock } from '../core/clock';
import { StorageUnavailableError } from '../core/errors';
import type { AuditLog, UnitOfWork } from '../core/ports';
import type { Logger } from '../telemetry/logger';
import type { ButtonSigner } from './button-signing';

export const TAMPERED_BUTTON_TEXT =
  'That button was changed after Shipmate posted it, so Shipmate did nothing. Use the buttons on Shipmate’s own message, or the slash command (`/deploy help`).';

type ActionArgs = AnyMiddlewareArgs & { ack?: () => Promise<void>; respond?: (message: Record<string, unknown>) => Promise<unknown> };

/**
 * Checks every button click before any listener sees it: a value whose signature does not match is
 * refused, audited and answered; a genuine one reaches the listeners as Shipmate posted it, unsigned.
 */
export function guardButtons(app: App, deps: { signer: ButtonSigner; audit: AuditLog; uow: UnitOfWork; clock: Clock; log: Logger }): void {
  app.use(async (args) => {
    const { body, next, ack, respond, client } = args as ActionArgs & { next: () => Promise<void>; client: App['client'] };
    if ((body as { type?: string }).type !== 'block_actions') return next();
    const actions = (body as BlockAction).actions as { type: string; action_id: string; value?: string }[];
    const buttons = actions.filter((a) => a.type === 'button' && a.value !== undefined);
    const genuine = buttons.map((a) => deps.signer.verify(a.action_id, a.value!));
    const tampered = buttons.filter((_a, i) => genuine[i] === undefined);
    if (tampered.length === 0) {
      buttons.forEach((a, i) => (a.value = genuine[i]));
      return next();
    }
    await ack?.();
    const user = (body as BlockAction).user.id;
    try {
      deps.uow.transaction(() => {
        for (const a of tampered) {
          deps.audit.record({ at: deps.clock(), actor: user, source: 'button', action: 'button.rejected', subject: a.action_id, detail: { value: a.value!.slice(0, 200) } });
        }
      });
    } catch (error) {
      // The store has logged it; the click changed nothing either way, and the clicker must hear so.
      if (!(error instanceof StorageUnavailableError)) throw error;
    }
    deps.log.warn({ user, actions: tampered.map((a) => a.action_id) }, 'refused a button click whose value does not match its signature');
    if (respond && (body as BlockAction).response_url) await respond({ response_type: 'ephemeral', replace_original: false, text: TAMPERED_BUTTON_TEXT });
    else await client.chat.postMessage({ channel: user, text: TAMPERED_BUTTON_TEXT });
  });
}
