import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver, SocketModeReceiver } from '@slack/bolt';
import type { WebClientOptions } from '@slack/web-api';
import type { ScheduledTask } from 'node-cron';
import { deployFlow, deployFlowStates } from '../flows/deploy-flow';
import { createDeployPolicies } from '../flows/deploy-policies';
import { buildHomeModel } from '../flows/home-model';
import { DeployService } from '../flows/deploy-service';
import { LockService } from '../flows/lock-service';
import { createReleaseFlow, releaseFlowStates } from '../flows/release-flow';
import { ReleaseService } from '../flows/release-service';
import { TrainService } from '../flows/train-service';
import { canaryFlagHandler, canaryFlagUndoHandler, canaryMeasureHandler, canaryWeightHandler } from '../flows/canary-effects';
import { flagChangeFlow, flagChangeFlowStates } from '../flows/flag-change-flow';
import { FlagService } from '../flows/flag-service';
import { incidentFlow, incidentFlowStates } from '../flows/incident-flow';
import { IncidentService } from '../flows/incident-service';
import { createSloMonitor } from '../flows/slo-monitor';
import { type EffectHandler, EffectWorker } from '../flows/effect-worker';
import { FlowRunner } from '../flows/flow-runner';
import type { Settings } from './config/settings';
import { type Clock, systemClock } from './core/clock';
import { StorageUnavailableError } from './core/errors';
import { alertTableOf, channelFor, findService, flagChannelFor, incidentChannelFor, type ShipmateConfig, sloDefinitions } from './core/config';
import { secretsOf } from './core/config-secrets';
import { createRedactor, type Redactor } from './core/redact';
import { createFlagBackends } from './flags/flag-backends';
import { createOfrepRoutes } from './http/ofrep-routes';
import { guardButtons } from './slack/button-guard';
import { type ButtonSigner, createButtonSigner } from './slack/button-signing';
import { describeChange } from './slack/flag-view';
import { registerFlagListeners } from './slack/flag-listeners';
import { createSqliteFlagChangeStore, createSqliteFlagStore } from './store/sqlite-flag-store';
import { createDeployerRegistry } from './deployers/deployer-registry';
import { createProcessLauncher } from './deployers/process-launcher';
import { createGitHubCommitChecks } from './github/github-commit-checks';
import { createMetricsProviders } from './metrics/metrics-registry';
import { createAlertmanagerRoute } from './http/alertmanager-route';
import { createCallbackRoute, createDeployCallbacks } from './http/deploy-callbacks';
import { createOpsRoutes, opsRequestListener } from './http/ops-routes';
import { scheduleReconciler, scheduleSloEvaluation } from './scheduler/reconciler';
import { createSlackDirectory } from './slack/slack-directory';
import { registerIncidentListeners } from './slack/incident-listeners';
import { registerListeners } from './slack/slack-listeners';
import { createListenerRouter } from './slack/listener-router';
import { createSlackMessenger } from './slack/slack-messenger';
import { undiciFetch } from './slack/undici-fetch';
import { redactingFetch } from './slack/redacting-fetch';
import { verifySlackRequests } from './slack/request-verification';
import { type Db, migrate, openDatabase, sqliteUnitOfWork } from './store/database';
import { asStorageFault } from './store/storage-faults';
import { createSqliteAuditLog } from './store/sqlite-audit-log';
import { createSqliteDeploymentStore } from './store/sqlite-deployment-store';
import { createSqliteIncidentStore, createSqliteSloStateStore } from './store/sqlite-incident-store';
import { createSqliteEffectQueue, createSqliteFlowEventLog } from './store/sqlite-effect-queue';
import { appKey } from './store/sqlite-app-keys';
import { createSqliteLockStore } from './store/sqlite-lock-store';
import { createSqliteReleaseStore } from './store/sqlite-release-store';
import { createSqliteTrainStore } from './store/sqlite-train-store';
import { createSqliteMessageStore } from './store/sqlite-message-store';
import { createLogger, type Logger, redactLines, slackLogger } from './telemetry/logger';
import { createMetrics } from './telemetry/metrics';

export interface ShipmateOptions {
  settings: Settings;
  config: ShipmateConfig;
  /** The environment command deployers inherit. */
  baseEnv: Readonly<Record<string, string | undefined>>;
  clock?: Clock;
  /**
   * What Slack's request timestamps are checked against. Slack stamps them in real time, so this
   * stays the system clock when `clock` is a simulated one (tests skipping through days).
   */
  slackClock?: Clock;
  /** Made by createLogger: its lines get the config's secrets redacted. */
  log?: Logger;
  /** Extra Web API client options, e.g. no retries in tests. */
  clientOptions?: WebClientOptions;
  /** First wait between retries of a deployer's transient failures (tests make it short). */
  retryDelayMs?: number;
  /** How long a slash command may work before it is acked and answered later (default 2 s). */
  ackWithinMs?: number;
  /** How long a Reject click may check whether it can reject before its reason form opens anyway (default 1 s). */
  rejectCheckWithinMs?: number;
  /** Cron expression of the reconciler tick; `false` turns it off (tests tick by hand). */
  reconcileEvery?: string | false;
}

export interface Shipmate {
  app: App;
  db: Db;
  worker: EffectWorker;
  /** Signs button values as Slack will send them back. */
  signer: ButtonSigner;
  /** Starts receiving from Slack and serving /healthz, /readyz and /metrics; resolves with the HTTP port. */
  start(): Promise<number>;
  stop(): Promise<void>;
  /** What the reconciler does on each tick. */
  tick(): void;
  /** One evaluation of every SLO (what the SLO job does each minute). */
  evaluateSlos(): Promise<void>;
}

/** Wires every part together. The only place that chooses implementations. */
export function createShipmate(options: ShipmateOptions): Shipmate {
  const { settings, config } = options;
  const clock = options.clock ?? systemClock;
  const log = options.log ?? createLogger({ level: settings.LOG_LEVEL });
  const metrics = createMetrics();
  // Every secret this process holds, taken out of what leaves it: log lines, audit rows, effect
  // results (and so flow state and Slack messages), and whatever is sent to Slack.
  const redactor = createRedactor([...secretsOf(config), ...[settings.SLACK_BOT_TOKEN, settings.SLACK_APP_TOKEN, settings.SLACK_SIGNING_SECRET].filter((s) => s !== undefined)]);
  redactLines(log, redactor.text);

  const db = openDatabase(settings.SHIPMATE_DB);
  const applied = migrate(db, undefined, clock());
  if (applied.length > 0) log.info({ migrations: applied.map((m) => `${m.version}_${m.name}`) }, 'applied migrations');

  // Reported here, once per refused transaction; the person who asked gets the error's own message.
  const uow = sqliteUnitOfWork(db, { clock, onFault: (fault) => log.error({ err: fault.cause, code: fault.storeCode }, 'the database refused a write') });
  const deployments = createSqliteDeploymentStore(db);
  const audit = createSqliteAuditLog(db, { redactor });
  const queue = createSqliteEffectQueue(db);
  const messages = createSqliteMessageStore(db);
  const locks = createSqliteLockStore(db);
  const releases = createSqliteReleaseStore(db);
  const incidents = createSqliteIncidentStore(db);
  const sloStates = createSqliteSloStateStore(db);
  const metricsProviders = createMetricsProviders(config, { clock });
  const flags = createSqliteFlagStore(db);
  const flagChanges = createSqliteFlagChangeStore(db);
  const flagBackends = createFlagBackends(config, { clock, ...(options.retryDelayMs !== undefined ? { retryDelayMs: options.retryDelayMs } : {}) });

  let worker: EffectWorker | undefined;
  const runner = new FlowRunner({
    uow,
    queue,
    events: createSqliteFlowEventLog(db),
    audit,
    clock,
    flows: [
      { definition: deployFlow, states: deployFlowStates(deployments) },
      { definition: createReleaseFlow({ autoRollback: config.releases.autoRollback }), states: releaseFlowStates(releases) },
      { definition: incidentFlow, states: incidentFlowStates(incidents) },
      { definition: flagChangeFlow, states: flagChangeFlowStates(flagChanges) },
    ],
    onEffectsQueued: () => worker?.kick(),
  });
  const boltLogger = slackLogger(log);
  const clientOptions: WebClientOptions = {
    ...(settings.SLACK_API_URL ? { slackApiUrl: settings.SLACK_API_URL } : {}),
    // The outbox retries with backoff itself: a 429, a 5xx or a stalled call comes back to it at
    // once instead of holding every other message behind the client's own half-hour of retries.
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
    timeout: 10_000,
    ...options.clientOptions,
    fetch: redactingFetch(redactor, options.clientOptions?.fetch ?? undiciFetch()),
  };
  /** HTTP mode: ready once serving. Socket Mode: ready while the socket is connected. */
  let slackReady = false;
  const callbacks = createDeployCallbacks(db, clock);
  const deployers = createDeployerRegistry(config, {
    clock,
    baseEnv: options.baseEnv,
    launcher: createProcessLauncher(),
    github: config.github,
    callbacks,
    ...(options.retryDelayMs !== undefined ? { retryDelayMs: options.retryDelayMs } : {}),
  });
  const routes = [
    ...createOpsRoutes({
      registry: metrics.registry,
      checks: [
        { name: 'database', check: () => db.prepare('SELECT 1').pluck().get() === 1 && (uow.writeProblem() ?? true) },
        { name: 'slack', check: () => slackReady },
      ],
    }),
    createCallbackRoute({
      inbox: { record: (key, report) => callbacks.record(key, { ...report, detail: redactor.text(report.detail) }) },
      clock,
      // Keys are `deploy:<id>:deploy`: the deploy tells which target's secret signs its callbacks.
      secretFor: (key) => {
        const id = /^deploy:(\d+):/.exec(key)?.[1];
        const d = id ? deployments.get(Number(id)) : undefined;
        return d ? deployers.webhookSecretOf(d.service, d.environment) : undefined;
      },
    }),
  ];
  const ofrepKeys = Object.fromEntries(
    Object.entries(config.flags.environments).flatMap(([env, f]) => (f.ofrepKey && f.backend.type === 'builtin' ? [[env, f.ofrepKey]] : [])),
  );
  if (Object.keys(ofrepKeys).length > 0) routes.push(...createOfrepRoutes({ flags, keys: ofrepKeys }));
  let incidentService: IncidentService | undefined;
  if (config.alertmanager) {
    routes.push(
      createAlertmanagerRoute({
        token: config.alertmanager.token,
        serviceLabel: config.alertmanager.serviceLabel,
        knownService: (name) => Boolean(findService(config, name)),
        receive: (alerts) => incidentService!.alertmanager(alerts),
      }),
    );
  }
  let socket: SocketModeReceiver | undefined;
  if (settings.mode === 'socket') {
    // The Socket Mode client writes its own retry policy into the options it is given: a copy keeps it out of ours.
    socket = new SocketModeReceiver({ appToken: settings.SLACK_APP_TOKEN!, logger: boltLogger, installerOptions: { clientOptions: { ...clientOptions } } });
    socket.client.on('connected', () => (slackReady = true));
    for (const state of ['disconnected', 'reconnecting']) socket.client.on(state, () => (slackReady = false));
  }
  // Bolt does not catch a custom route's failure; an aborted request must not take the process down.
  const guardedRoutes = routes.map((route) => ({
    ...route,
    handler: (req: Parameters<typeof route.handler>[0], res: Parameters<typeof route.handler>[1]) =>
      route.handler(req, res).catch((error: unknown) => {
        log.warn({ err: error, path: route.path }, 'request failed');
        // A database that refuses writes now may take them soon: deployers and Alertmanager retry a 503.
        const fault = error instanceof StorageUnavailableError ? error : asStorageFault(error);
        if (!res.headersSent) res.writeHead(fault ? 503 : 500, { 'content-type': 'application/json', ...(fault ? { 'retry-after': '5' } : {}) });
        res.end(JSON.stringify({ error: fault ? fault.userMessage : 'internal error' }));
      }),
  }));
  let receiver: SocketModeReceiver | HTTPReceiver | undefined = socket;
  if (!receiver) {
    // Shipmate checks the signatures itself, by its clock and in both directions.
    const http = new HTTPReceiver({ signingSecret: settings.SLACK_SIGNING_SECRET!, signatureVerification: false, endpoints: '/slack/events', customRoutes: guardedRoutes, logger: boltLogger });
    verifySlackRequests(http, { signingSecret: settings.SLACK_SIGNING_SECRET!, clock: options.slackClock ?? systemClock, endpoint: '/slack/events', log, outgoing: redactor.text });
    receiver = http;
  }
  // No conversation store: nothing reads context.conversation, and it is middleware on every request.
  const app = new App({ token: settings.SLACK_BOT_TOKEN, receiver, logger: boltLogger, clientOptions, convoStore: false });
  app.error(async (error) => {
    log.error({ err: error }, 'unhandled error in a Slack listener');
  });
  const signer = createButtonSigner(appKey(db, 'button-signing', clock()));
  guardButtons(app, { signer, audit, uow, clock, log });

  const policies = createDeployPolicies(config, createSlackDirectory(app.client, clock), {
    budgetExhausted: (service, environment) =>
      config.slo.breakGlassWhenExhausted && environment === config.slo.environment ? incidentService!.exhausted(service) : [],
  });
  const deployService = new DeployService({
    store: deployments,
    locks,
    audit,
    uow,
    runner,
    clock,
    policies,
    checks: createGitHubCommitChecks({ apiUrl: config.github.apiUrl, timeoutMs: config.github.timeout, ...(config.github.token ? { token: config.github.token } : {}) }),
    onOutcome: ({ service, environment }, ok) => metrics.deploys.inc({ service, environment, outcome: ok ? 'succeeded' : 'failed' }),
  });
  const lockService = new LockService({ locks, store: deployments, audit, uow, clock, deployService });
  const releaseService = new ReleaseService({
    releases,
    audit,
    uow,
    runner,
    clock,
    deployService,
    dependsOn: (service) => findService(config, service)?.dependsOn ?? [],
    channelFor: (service, environment) => channelFor(config, service, environment),
    missedGraceMs: config.releases.missedGrace,
    deployments,
  });
  const flagService = new FlagService({
    flags,
    changes: flagChanges,
    audit,
    uow,
    runner,
    clock,
    policies: {
      environments: () => Object.keys(config.flags.environments),
      backend: (environment) => flagBackends.get(environment),
      approval: (environment) => (Object.hasOwn(config.flags.environments, environment) ? config.flags.environments[environment]!.approval : undefined),
      groupMembers: (group) => policies.groupMembers(group),
      channel: (_flag, environment) => flagChannelFor(config, environment),
      mayAct: (action, environment, userId) => policies.mayAct!(action, environment, userId),
    },
  });
  const flagsOfService = (service: string) => findService(config, service)?.flags ?? [];
  const slos = sloDefinitions(config);
  incidentService = new IncidentService({
    incidents,
    sloStates,
    deployments,
    queue,
    uow,
    runner,
    clock,
    deployService,
    lockService,
    environment: config.slo.environment,
    configuredSlos: slos.map((d) => ({ service: d.service, slo: d.name })),
    incidentChannel: (service) => incidentChannelFor(config, service),
    deployChannel: (service, environment) => channelFor(config, service, environment),
    flagsOf: (service, environment) =>
      flagsOfService(service).map((key) => {
        const builtin = flagBackends.get(environment) === 'builtin' ? flags.get(key, environment) : undefined;
        return { key, enabled: builtin ? builtin.enabled : null };
      }),
    flagChangesOf: (service, environment, since) =>
      flagChanges
        .appliedSince(since, flagsOfService(service))
        .filter((c) => c.environment === environment)
        .map((c) => ({ changeId: c.id, flag: c.flag, what: describeChange(c.change), by: c.requestedBy, at: c.appliedAt!.toISOString() })),
    turnOffFlag: async (flag, environment, actor, reason, requestKey) => {
      const { change, duplicate } = await flagService.requestAs({ flag, environment, change: { kind: 'disable' }, requestKey, skipApproval: true, reason }, actor);
      return { changeId: change.id, duplicate };
    },
    onQueued: () => worker?.kick(),
  });
  const sloProvider = config.slo.provider ? metricsProviders.get(config.slo.provider)?.provider : undefined;
  const sloMonitor =
    sloProvider && slos.length > 0
      ? createSloMonitor({
          defs: slos,
          table: alertTableOf(config),
          provider: sloProvider,
          clock,
          incidents: incidentService,
          concurrency: config.slo.maxConcurrentQueries,
          trafficStopAfterMs: config.slo.trafficStopAfter,
          trafficLookbackMs: config.slo.trafficLookback,
          log: log.child({ component: 'slo' }),
        })
      : undefined;
  const trainService = new TrainService({ config, trains: createSqliteTrainStore(db), queue, audit, uow, clock, releaseService, onQueued: () => worker?.kick() });
  const home = (userId: string) => buildHomeModel(userId, clock(), { config, store: deployments, locks, releases, policies });
  // Last of the global middleware: it does not hand on the requests it routes.
  const router = createListenerRouter(app);
  registerListeners(router, { config, deployments, locks, uow, audit, deployService, lockService, releases, releaseService, trainService, now: clock, home, signer, log, metrics,
    ...(options.ackWithinMs !== undefined ? { ackWithinMs: options.ackWithinMs } : {}),
    ...(options.rejectCheckWithinMs !== undefined ? { rejectCheckWithinMs: options.rejectCheckWithinMs } : {}) });
  registerFlagListeners(router, { config, flags, flagService, now: clock, log, metrics });
  registerIncidentListeners(router, { config, sloStates, incidents, incidentService, deployService, messages, log, metrics });

  worker = new EffectWorker({
    queue,
    uow,
    runner,
    clock,
    log: log.child({ component: 'effects' }),
    handlers: redactEffects(redactor, {
      ...createSlackMessenger({ client: app.client, messages, clock, metrics, signer }),
      deploy: deployService.deployHandler(deployers),
      'canary.weight': canaryWeightHandler(deployers),
      'canary.measure': canaryMeasureHandler({ providers: metricsProviders, clock }),
      'flag.apply': flagService.applyHandler(),
      'canary.flag': canaryFlagHandler(flagService),
      'canary.flag-undo': canaryFlagUndoHandler(flagService, log.child({ component: 'canary' })),
      'release.wave': releaseService.waveHandler(),
      'release.rollback': releaseService.rollbackHandler(),
      // A timer's payload is the event it delivers to its flow when due.
      timer: async (effect) => effect.payload as { type: string },
    }),
  });
  const tick = (): void => {
    // A database that refuses writes fails this tick's step, not the others or the timer; the next tick tries again.
    for (const step of [() => deployService.resume(), () => trainService.runDue()]) {
      try {
        step();
      } catch (error) {
        if (!(error instanceof StorageUnavailableError)) log.error({ err: error }, 'a reconciler step failed');
      }
    }
    worker!.kick();
  };

  let opsServer: Server | undefined;
  let cronTask: ScheduledTask | undefined;
  let sloTask: ScheduledTask | undefined;
  const evaluateSlos = async (): Promise<void> => {
    await sloMonitor?.tick();
    worker!.kick();
  };

  return {
    app,
    db,
    worker,
    signer,
    tick,
    evaluateSlos,
    async start() {
      let port: number;
      if (settings.mode === 'http') {
        const server = await app.start(settings.PORT);
        port = (server.address() as AddressInfo).port;
      } else {
        opsServer = createServer(opsRequestListener(guardedRoutes));
        await new Promise<void>((resolve) => opsServer!.listen(settings.PORT, resolve));
        port = (opsServer.address() as AddressInfo).port;
        await app.start();
      }
      if (settings.mode === 'http') slackReady = true;
      incidentService!.resolveRemoved();
      tick();
      if (options.reconcileEvery !== false) cronTask = scheduleReconciler(tick, options.reconcileEvery);
      if (options.reconcileEvery !== false && sloMonitor) sloTask = scheduleSloEvaluation(evaluateSlos, config.slo.evaluateEvery, log);
      log.info({ mode: settings.mode, port }, `Shipmate is running (${settings.mode === 'socket' ? 'Socket Mode' : 'HTTP'}); health checks on port ${port}`);
      return port;
    },
    async stop() {
      slackReady = false;
      await cronTask?.stop();
      await sloTask?.stop();
      // Bolt does not wait for the socket's close handshake; we do, so nothing is left half-open.
      const socketClosed = socket && new Promise((resolve) => socket!.client.once('disconnected', resolve));
      await app.stop();
      await socketClosed;
      if (opsServer) await new Promise<void>((resolve) => opsServer!.close(() => resolve()));
      await worker!.stop();
      // Commands still running are stopped; their deploys run again, same key, after the next start.
      deployers.stop();
      db.close();
    },
  };
}

/**
 * Effects report what targets and backends answered (a 500 page echoing a header, a script's
 * output, a 401 quoting the token): the secrets in a result or an error go before the flow
 * stores it, posts it or audits it.
 */
function redactEffects(redactor: Redactor, handlers: Record<string, EffectHandler>): Record<string, EffectHandler> {
  return Object.fromEntries(
    Object.entries(handlers).map(([type, handle]): [string, EffectHandler] => [
      type,
      async (effect) => {
        try {
          return redactor.value(await handle(effect));
        } catch (error) {
          if (error instanceof Error) error.message = redactor.text(error.message);
          throw error;
        }
      },
    ]),
  );
}
