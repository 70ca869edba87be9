import type {
  AllMiddlewareArgs,
  App,
  BlockAction,
  SlackAction,
  SlackActionMiddlewareArgs,
  SlackCommandMiddlewareArgs,
  SlackEventMiddlewareArgs,
  SlackViewMiddlewareArgs,
} from '@slack/bolt';

type Listener<Args> = (args: Args & AllMiddlewareArgs) => Promise<void>;

/**
 * Where Shipmate's listeners register: by slash command, button action ID, form callback ID and
 * event type, as they would with `app.command` and the like.
 */
export interface ListenerRouter {
  command(name: string, listener: Listener<SlackCommandMiddlewareArgs>): void;
  /** Block actions by action ID; a RegExp serves a family of IDs (one button per flag). */
  action<A extends SlackAction = BlockAction>(actionId: string | RegExp, listener: Listener<SlackActionMiddlewareArgs<A>>): void;
  /** Form submissions (view_submission) by callback ID. */
  view(callbackId: string, listener: Listener<SlackViewMiddlewareArgs>): void;
  event<E extends string>(type: E, listener: Listener<SlackEventMiddlewareArgs<E>>): void;
}

/**
 * One Bolt listener per kind of request, each finding its handler in a table. Bolt runs every
 * request through the matchers of every listener registered, so with a listener per command,
 * button and form the matching cost a fifth of Shipmate's CPU per request under load. What no
 * handler claims is left unacknowledged, as Bolt leaves a request that no listener matches.
 */
export function createListenerRouter(app: App): ListenerRouter {
  const commands = new Map<string, Listener<SlackCommandMiddlewareArgs>>();
  const actions = new Map<string, Listener<SlackActionMiddlewareArgs>>();
  const actionFamilies: [RegExp, Listener<SlackActionMiddlewareArgs>][] = [];
  const views = new Map<string, Listener<SlackViewMiddlewareArgs>>();
  const events = new Map<string, Listener<SlackEventMiddlewareArgs>>();

  const once = <K, V>(table: Map<K, V>, key: K, value: V, what: string) => {
    if (table.has(key)) throw new Error(`${what} ${String(key)} has a listener already`);
    table.set(key, value);
  };

  app.command(/.*/, async (args) => commands.get(args.command.command)?.(args));
  app.action({ type: 'block_actions', action_id: /.*/ }, async (args) => {
    const id = (args.action as { action_id: string }).action_id;
    const listener = actions.get(id) ?? actionFamilies.find(([pattern]) => pattern.test(id))?.[1];
    await listener?.(args);
  });
  app.view({ type: 'view_submission', callback_id: /.*/ }, async (args) => views.get(args.view.callback_id)?.(args));
  app.event(/.*/, async (args) => events.get(args.event.type)?.(args));

  return {
    command: (name, listener) => once(commands, name, listener, 'the command'),
    action: (actionId, listener) => {
      const general = listener as unknown as Listener<SlackActionMiddlewareArgs>;
      if (typeof actionId === 'string') once(actions, actionId, general, 'the action');
      else actionFamilies.push([actionId, general]);
    },
    view: (callbackId, listener) => once(views, callbackId, listener, 'the form'),
    event: (type, listener) => once(events, type, listener as unknown as Listener<SlackEventMiddlewareArgs>, 'the event'),
  };
}
