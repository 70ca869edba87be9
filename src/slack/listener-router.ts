import type {
  AllMiddlewareArgs,
  AnyMiddlewareArgs,
  App,
  BlockAction,
  SlackAction,
  SlackActionMiddlewareArgs,
  SlackCommandMiddlewareArgs,
  SlackEventMiddlewareArgs,
  SlackViewMiddlewareArgs,
} from '@slack/bolt';

type Listener<Args> = (args: Args & AllMiddlewareArgs) => Promise<void>;
/** A listener as the router calls it: with the arguments of a request of its own kind. */
type Route = Listener<AnyMiddlewareArgs>;
/** What the router reads of a request's arguments: Bolt sets the one of its kind. */
interface KindArgs {
  body: { type?: string };
  command?: { command: string };
  action?: { action_id: string };
  view?: { callback_id: string };
  event?: { type: string };
}

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
 * Routes every request through one global middleware that finds its handler in a table by command,
 * action ID, form callback ID or event type. Bolt runs each request through the matchers of every
 * listener registered: with a listener per command, button and form that was a fifth of Shipmate's
 * CPU per request under load, and even one listener per kind of request (four chains of matchers,
 * each a few promises and copies of the arguments) cost more than the routing itself. A global
 * middleware gets the same arguments a listener does (`command`, `action`, `ack`, `respond`, ...).
 * What no handler claims goes on to Bolt's own listeners (there are none), which leave it
 * unacknowledged, as Bolt leaves a request that no listener matches.
 */
export function createListenerRouter(app: App): ListenerRouter {
  // Each table holds its kind's listeners; the middleware below gives each only its own kind.
  const commands = new Map<string, Route>();
  const actions = new Map<string, Route>();
  const actionFamilies: [RegExp, Route][] = [];
  const views = new Map<string, Route>();
  const events = new Map<string, Route>();

  const once = <K, V>(table: Map<K, V>, key: K, value: V, what: string) => {
    if (table.has(key)) throw new Error(`${what} ${String(key)} has a listener already`);
    table.set(key, value);
  };

  // The kind of request by the argument Bolt set for it, as its own onlyCommands, onlyActions,
  // onlyViewActions and onlyEvents tell them apart.
  const routeOf = (args: KindArgs): Route | undefined => {
    if (args.command) return commands.get(args.command.command);
    if (args.action && args.body.type === 'block_actions') {
      const id = args.action.action_id;
      return actions.get(id) ?? actionFamilies.find(([pattern]) => pattern.test(id))?.[1];
    }
    if (args.view && args.body.type === 'view_submission') return views.get(args.view.callback_id);
    if (args.event) return events.get(args.event.type);
    return undefined;
  };
  // Registered after every other global middleware (the button guard), since it does not hand on
  // what it routes: a middleware added later would never see those requests.
  app.use(async (args) => {
    const route = routeOf(args as KindArgs);
    if (!route) return args.next();
    await route(args);
  });

  return {
    command: (name, listener) => once(commands, name, listener as Route, 'the command'),
    action: (actionId, listener) => {
      if (typeof actionId === 'string') once(actions, actionId, listener as Route, 'the action');
      else actionFamilies.push([actionId, listener as Route]);
    },
    view: (callbackId, listener) => once(views, callbackId, listener as Route, 'the form'),
    event: (type, listener) => once(events, type, listener as Route, 'the event'),
  };
}
