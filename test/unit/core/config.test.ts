import { channelFor, parseShipmateConfig, type ShipmateConfig } from '../../../src/core/config';

const SECRET = '0123456789abcdef0123';
const webhook = (overrides: Record<string, unknown> = {}) => ({
  type: 'webhook',
  url: 'https://deployer.example.com/hooks/api',
  secret: SECRET,
  ...overrides,
});
const command = (overrides: Record<string, unknown> = {}) => ({ type: 'command', command: './deploy.sh', ...overrides });

/** One service `api` with one environment `prod` deployed by `deploy`. */
const withDeploy = (deploy: unknown) => ({
  services: { api: { channel: 'C0123ABCD', environments: { prod: { deploy } } } },
});

function problemsOf(raw: unknown, env: Record<string, string | undefined> = {}): string[] {
  const result = parseShipmateConfig(raw, env);
  if (result.ok) throw new Error(`expected problems, got a valid config: ${JSON.stringify(result.config)}`);
  return result.problems;
}

function configOf(raw: unknown, env: Record<string, string | undefined> = {}): ShipmateConfig {
  const result = parseShipmateConfig(raw, env);
  if (!result.ok) throw new Error(`expected a valid config, got:\n${result.problems.join('\n')}`);
  return result.config;
}

describe('parseShipmateConfig', () => {
  describe('a valid config', () => {
    it('fills in the defaults: both deploy types, time zone, freezes, break glass, dependencies', () => {
      const config = configOf({
        defaults: { channel: '#deploys' },
        services: {
          api: {
            description: 'Public REST API',
            environments: { staging: { deploy: webhook() }, prod: { deploy: command({ args: ['--wait'] }) } },
          },
        },
      });

      expect(config).toEqual({
        defaults: { channel: '#deploys' },
        timezone: 'UTC',
        freezeWindows: [],
        breakGlass: { users: [], groups: [] },
        access: {},
        releases: { missedGrace: 15 * 60_000, autoRollback: false },
        trains: [],
        github: { apiUrl: 'https://api.github.com', timeout: 10_000 },
        metrics: { providers: {} },
        analyses: {},
        flags: { environments: {} },
        slo: { environment: 'prod', evaluateEvery: '* * * * *', maxConcurrentQueries: 8, trafficStopAfter: 15 * 60_000, trafficLookback: 86_400_000, breakGlassWhenExhausted: true },
        services: {
          api: {
            description: 'Public REST API',
            dependsOn: [],
            flags: [],
            slos: [],
            tagPrefix: 'v',
            environments: {
              staging: {
                deploy: {
                  type: 'webhook',
                  url: 'https://deployer.example.com/hooks/api',
                  secret: SECRET,
                  headers: {},
                  timeout: 30_000,
                  retries: 3,
                  completion: 'sync',
                  pollInterval: 5_000,
                },
                requireGreenChecks: false,
                strategy: 'all-at-once',
              },
              prod: {
                deploy: { type: 'command', command: './deploy.sh', args: ['--wait'], env: {}, timeout: 600_000, outputTailLines: 20 },
                requireGreenChecks: false,
                strategy: 'all-at-once',
              },
            },
          },
        },
      });
    });

    it('turns durations into milliseconds', () => {
      const timeoutOf = (timeout: string) => {
        const deploy = configOf(withDeploy(webhook({ timeout }))).services.api!.environments.prod!.deploy;
        return deploy.timeout;
      };
      expect(timeoutOf('30s')).toBe(30_000);
      expect(timeoutOf('5m')).toBe(300_000);
      expect(timeoutOf('1.5h')).toBe(5_400_000);
      expect(timeoutOf('300ms')).toBe(300);
      // The `ms` library reads words too; "a number and a unit" is what the message asks for.
      expect(timeoutOf('5 minutes')).toBe(300_000);
    });

    it('accepts channel IDs and #names', () => {
      for (const channel of ['C0123ABCD', 'G0123ABCD', 'D0123ABCD', '#deploys', '#team-api.prod_x']) {
        expect(configOf({ defaults: { channel }, services: { api: { environments: { prod: { deploy: webhook() } } } } }).defaults.channel).toBe(channel);
      }
    });
  });

  describe('problems name the path and say what is wrong', () => {
    it('an invalid webhook URL', () => {
      expect(problemsOf(withDeploy(webhook({ url: 'not a url' })))).toEqual([
        'services.api.environments.prod.deploy.url: Invalid URL',
      ]);
    });

    it('a webhook URL that is not http(s)', () => {
      expect(problemsOf(withDeploy(webhook({ url: 'ftp://deployer.example.com/hook' })))).toEqual([
        'services.api.environments.prod.deploy.url: Invalid URL',
      ]);
    });

    it('an unknown deploy type', () => {
      expect(problemsOf(withDeploy({ type: 'ftp', url: 'https://x.example.com' }))).toEqual([
        'services.api.environments.prod.deploy.type: type must be one of: webhook, command, github-actions, argocd, kubernetes, argo-rollouts',
      ]);
    });

    it('a deploy with no type at all', () => {
      expect(problemsOf(withDeploy({ url: 'https://x.example.com' }))).toEqual([
        'services.api.environments.prod.deploy.type: type must be one of: webhook, command, github-actions, argocd, kubernetes, argo-rollouts',
      ]);
    });

    it('an unknown key in a deploy (objects are strict)', () => {
      expect(problemsOf(withDeploy(webhook({ retry: 3 })))).toEqual([
        'services.api.environments.prod.deploy: Unrecognized key: "retry"',
      ]);
    });

    it('unknown keys at every level', () => {
      const problems = problemsOf({
        defualts: { channel: '#deploys' },
        services: { api: { channel: 'C0123ABCD', owner: 'me', environments: { prod: { deploy: webhook(), region: 'eu' } } } },
      });
      expect(problems).toEqual(
        expect.arrayContaining([
          'Unrecognized key: "defualts"',
          'services.api: Unrecognized key: "owner"',
          'services.api.environments.prod: Unrecognized key: "region"',
        ]),
      );
    });

    it.each(['soon', 'five minutes', '0s', '-5m'])('a timeout that is not a duration: %j', (timeout) => {
      expect(problemsOf(withDeploy(webhook({ timeout })))).toEqual([
        `services.api.environments.prod.deploy.timeout: "${timeout}" is not a duration: use a number and a unit, like 30s, 5m or 1h`,
      ]);
    });

    it('an empty timeout', () => {
      expect(problemsOf(withDeploy(webhook({ timeout: '' })))).toEqual([
        'services.api.environments.prod.deploy.timeout: "" is not a duration: use a number and a unit, like 30s, 5m or 1h',
      ]);
    });

    it('a timeout from an unset variable', () => {
      const problems = problemsOf(withDeploy(webhook({ timeout: '${DEPLOY_TIMEOUT}' })), {});
      expect(problems[0]).toBe('services.api.environments.prod.deploy.timeout: environment variable DEPLOY_TIMEOUT is not set');
    });

    it('a timeout given as a bare YAML number', () => {
      expect(problemsOf(withDeploy(command({ timeout: 30 })))).toEqual([
        expect.stringMatching(/^services\.api\.environments\.prod\.deploy\.timeout: .*expected string/),
      ]);
    });

    it('a quoted timeout without a unit', () => {
      expect(problemsOf(withDeploy(webhook({ timeout: '30' })))).toEqual([
        'services.api.environments.prod.deploy.timeout: "30" is not a duration: use a number and a unit, like 30s, 5m or 1h',
      ]);
    });

    it('a webhook secret shorter than 16 characters', () => {
      expect(problemsOf(withDeploy(webhook({ secret: 'short-secret' })))).toEqual([
        'services.api.environments.prod.deploy.secret: must be at least 16 characters so the signature cannot be guessed',
      ]);
    });

    it('a command deploy without a command', () => {
      expect(problemsOf(withDeploy({ type: 'command', command: '' }))).toEqual([
        'services.api.environments.prod.deploy.command: name the executable to run',
      ]);
    });

    it('outputTailLines out of range', () => {
      expect(problemsOf(withDeploy(command({ outputTailLines: 0 })))).toEqual([
        expect.stringMatching(/^services\.api\.environments\.prod\.deploy\.outputTailLines: /),
      ]);
      expect(problemsOf(withDeploy(command({ outputTailLines: 201 })))).toHaveLength(1);
    });

    it('a malformed channel', () => {
      expect(problemsOf({ ...withDeploy(webhook()), defaults: { channel: 'deploys' } })).toEqual([
        'defaults.channel: expected a channel ID like C0123ABCD or a name like #deploys',
      ]);
    });

    it('no channel anywhere: one problem per environment', () => {
      const problems = problemsOf({
        services: { api: { environments: { staging: { deploy: webhook() }, prod: { deploy: command() } } } },
      });
      expect(problems).toEqual([
        'services.api.channel: no channel for api in staging: set services.api.channel or defaults.channel',
        'services.api.channel: no channel for api in prod: set services.api.channel or defaults.channel',
      ]);
    });

    it('an environment channel covers only its own environment', () => {
      const problems = problemsOf({
        services: {
          api: { environments: { staging: { deploy: webhook() }, prod: { channel: '#prod', deploy: webhook() } } },
        },
      });
      expect(problems).toEqual([
        'services.api.channel: no channel for api in staging: set services.api.channel or defaults.channel',
      ]);
    });

    it('no services', () => {
      expect(problemsOf({ services: {} })).toEqual(['services: declare at least one service']);
      expect(problemsOf({})).toEqual([expect.stringMatching(/^services: /)]);
      expect(problemsOf(null)).toEqual([expect.stringMatching(/^services: /)]);
    });

    it('a service without environments', () => {
      expect(problemsOf({ services: { api: { channel: '#deploys', environments: {} } } })).toEqual([
        'services.api.environments: declare at least one environment',
      ]);
    });

    it('names that are not lowercase', () => {
      const problems = problemsOf({
        defaults: { channel: '#deploys' },
        services: { API: { environments: { prod: { deploy: webhook() } } } },
      });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^services\.API: /);
    });
  });

  it('reports every problem at once', () => {
    const problems = problemsOf(
      {
        services: {
          api: { environments: { prod: { deploy: webhook({ url: 'nope', secret: 'short', timeout: 'soon' }) } } },
          web: { channel: '#web', environments: { prod: { deploy: { type: 'rsync' } } } },
          worker: { environments: { prod: { deploy: command({ token: '${WORKER_TOKEN}' }) } } },
        },
      },
      {},
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'services.worker.environments.prod.deploy.token: environment variable WORKER_TOKEN is not set',
        'services.api.environments.prod.deploy.url: Invalid URL',
        'services.api.environments.prod.deploy.secret: must be at least 16 characters so the signature cannot be guessed',
        'services.api.environments.prod.deploy.timeout: "soon" is not a duration: use a number and a unit, like 30s, 5m or 1h',
        'services.web.environments.prod.deploy.type: type must be one of: webhook, command, github-actions, argocd, kubernetes, argo-rollouts',
        'services.worker.environments.prod.deploy: Unrecognized key: "token"',
      ]),
    );
    // Interpolation problems come first: they are often the cause of the rest.
    expect(problems[0]).toBe('services.worker.environments.prod.deploy.token: environment variable WORKER_TOKEN is not set');
  });

  describe('${VAR} interpolation', () => {
    it('replaces variables in every string, nested in records and arrays', () => {
      const config = configOf(
        {
          services: {
            api: {
              channel: '${API_CHANNEL}',
              environments: {
                staging: { deploy: webhook({ secret: '${HOOK_SECRET}', url: 'https://${HOOK_HOST}/hooks/api', headers: { 'X-Team': '${TEAM}' } }) },
                prod: { deploy: command({ args: ['--cluster', '${CLUSTER}'] }) },
              },
            },
          },
        },
        { API_CHANNEL: 'C0456APITEAM', HOOK_SECRET: 'from-the-environment-123', HOOK_HOST: 'hooks.example.com', TEAM: 'payments', CLUSTER: 'eu-1' },
      );
      const api = config.services.api!;
      expect(api.channel).toBe('C0456APITEAM');
      expect(api.environments.staging!.deploy).toMatchObject({
        secret: 'from-the-environment-123',
        url: 'https://hooks.example.com/hooks/api',
        headers: { 'X-Team': 'payments' },
      });
      expect(api.environments.prod!.deploy).toMatchObject({ args: ['--cluster', 'eu-1'] });
    });

    it('an unset variable is an error naming the path and the variable', () => {
      const problems = problemsOf(withDeploy(webhook({ secret: '${HOOK_SECRET}' })), { OTHER: 'x' });
      expect(problems[0]).toBe('services.api.environments.prod.deploy.secret: environment variable HOOK_SECRET is not set');
    });

    it('an empty variable counts as unset', () => {
      const problems = problemsOf(withDeploy(webhook({ secret: '${HOOK_SECRET}' })), { HOOK_SECRET: '' });
      expect(problems).toContain('services.api.environments.prod.deploy.secret: environment variable HOOK_SECRET is not set');
    });

    it('reports an unset variable even when the rest of the value still passes the schema', () => {
      // 'prefix-' plus nothing is still 16+ characters: only the interpolation check catches it.
      const problems = problemsOf(withDeploy(webhook({ secret: 'long-enough-prefix-${HOOK_SECRET}' })), {});
      expect(problems).toEqual(['services.api.environments.prod.deploy.secret: environment variable HOOK_SECRET is not set']);
    });

    it('leaves text without ${...} alone, including a bare $NAME', () => {
      const config = configOf(withDeploy(command({ args: ['$HOME', 'a$b', '${not closed'] })), { HOME: '/root' });
      expect(config.services.api!.environments.prod!.deploy).toMatchObject({ args: ['$HOME', 'a$b', '${not closed'] });
    });
  });
});

describe('channelFor', () => {
  const config = configOf({
    defaults: { channel: '#deploys' },
    services: {
      api: {
        channel: 'C0456APITEAM',
        environments: { staging: { deploy: webhook() }, prod: { channel: 'C0789PRODDEPLOYS', deploy: webhook() } },
      },
      worker: { environments: { staging: { deploy: command() } } },
    },
  });

  it.each([
    ['api', 'prod', 'C0789PRODDEPLOYS', 'the environment channel wins'],
    ['api', 'staging', 'C0456APITEAM', 'then the service channel'],
    ['worker', 'staging', '#deploys', 'then the default'],
  ])('%s/%s -> %s (%s)', (service, environment, expected) => {
    expect(channelFor(config, service, environment)).toBe(expected);
  });
});

/** Two services: api (staging, prod) and web (prod), with a default channel. */
const twoServices = (extra: Record<string, unknown> = {}, api: Record<string, unknown> = {}, prod: Record<string, unknown> = {}) => ({
  defaults: { channel: '#deploys' },
  services: {
    api: { environments: { staging: { deploy: webhook() }, prod: { deploy: webhook(), ...prod } }, ...api },
    web: { environments: { prod: { deploy: webhook() } } },
  },
  ...extra,
});

describe('approvals, dependencies, freezes and break glass in shipmate.yml', () => {
  describe('approval', () => {
    it('parses an environment’s approval policy, with its defaults', () => {
      const config = configOf(twoServices({}, {}, { approval: { approvers: { users: ['U0CAROL1'], groups: ['S0RELEASE'] } } }));
      expect(config.services.api!.environments.prod!.approval).toEqual({
        required: 1,
        approvers: { users: ['U0CAROL1'], groups: ['S0RELEASE'] },
        allowSelfApproval: false,
        expiresAfterMs: 4 * 3_600_000,
      });
      expect(config.services.api!.environments.staging!.approval).toBeUndefined();
    });

    it('reads every field', () => {
      const approval = { required: 2, approvers: { users: ['U0CAROL1', 'U0DAVE01'] }, allowSelfApproval: true, expiresAfter: '30m' };
      expect(configOf(twoServices({}, {}, { approval })).services.api!.environments.prod!.approval).toEqual({
        required: 2,
        approvers: { users: ['U0CAROL1', 'U0DAVE01'], groups: [] },
        allowSelfApproval: true,
        expiresAfterMs: 30 * 60_000,
      });
    });

    it.each<[string, unknown, string[]]>([
      ['no approvers', {}, ['services.api.environments.prod.approval.approvers: name at least one approver in users or groups']],
      [
        'more required than listed',
        { required: 3, approvers: { users: ['U0CAROL1'] } },
        ['services.api.environments.prod.approval.required: 3 approvals are required but approvers.users lists only 1; lower required or add approvers'],
      ],
      [
        'a malformed user and group',
        { approvers: { users: ['carol'], groups: ['release'] } },
        [
          'services.api.environments.prod.approval.approvers.users.0: expected a Slack user ID like U0123ABCD',
          'services.api.environments.prod.approval.approvers.groups.0: expected a user group ID like S0123ABCD',
        ],
      ],
      [
        'a bad duration and flag',
        { approvers: { groups: ['S0RELEASE'] }, expiresAfter: 'soon', allowSelfApproval: 'yes' },
        [
          'services.api.environments.prod.approval.allowSelfApproval: must be true or false',
          'services.api.environments.prod.approval.expiresAfter: "soon" is not a duration: use a number and a unit, like 30s, 5m or 1h',
        ],
      ],
      ['an unknown key', { approvers: { users: ['U0CAROL1'] }, quorum: 2 }, ['services.api.environments.prod.approval: Unrecognized key: "quorum"']],
    ])('%s', (_name, approval, problems) => {
      expect(problemsOf(twoServices({}, {}, { approval }))).toEqual(problems);
    });
  });

  describe('dependsOn', () => {
    it('lists services deployed before this one in a release', () => {
      expect(configOf(twoServices({}, { dependsOn: ['web'] })).services.api!.dependsOn).toEqual(['web']);
    });

    it('an unknown service is named with its exact path', () => {
      expect(problemsOf(twoServices({}, { dependsOn: ['web', 'billing'] }))).toEqual(['services.api.dependsOn.1: unknown service "billing"']);
    });

    it('a name that is not a service name', () => {
      expect(problemsOf(twoServices({}, { dependsOn: ['Web'] }))).toContain(
        'services.api.dependsOn.0: service names: use lowercase letters, digits, ".", "_" or "-", starting with a letter or digit',
      );
    });
  });

  describe('freezeWindows', () => {
    const yearEnd = { name: 'Year-end freeze', from: '2026-12-20', to: '2027-01-03' };

    it('a window covers everything unless it names environments or services', () => {
      const config = configOf(
        twoServices({
          timezone: 'Europe/Berlin',
          freezeWindows: [yearEnd, { name: 'Friday', cron: '0 16 * * 5', duration: '64h', timezone: 'Europe/Berlin', environments: ['prod'], services: ['api'] }],
        }),
      );
      expect(config.timezone).toBe('Europe/Berlin');
      expect(config.freezeWindows).toEqual([
        { name: 'Year-end freeze', from: '2026-12-20', to: '2027-01-03', timezone: 'UTC' },
        { name: 'Friday', cron: '0 16 * * 5', duration: 64 * 3_600_000, timezone: 'Europe/Berlin', environments: ['prod'], services: ['api'] },
      ]);
    });

    it('an environment no service has, or an unknown service, is named with its exact path', () => {
      expect(problemsOf(twoServices({ freezeWindows: [yearEnd, { ...yearEnd, environments: ['prod', 'qa'], services: ['api', 'billing'] }] }))).toEqual([
        'freezeWindows.1.environments.1: no service has an environment "qa"',
        'freezeWindows.1.services.1: unknown service "billing"',
      ]);
    });

    it('an empty scope is a mistake, not "everything"', () => {
      expect(problemsOf(twoServices({ freezeWindows: [{ ...yearEnd, environments: [] }] }))).toEqual([
        expect.stringMatching(/^freezeWindows\.0\.environments: /),
      ]);
    });

    it('problems inside the window keep their path next to the scope', () => {
      expect(problemsOf(twoServices({ freezeWindows: [{ ...yearEnd, to: 'soon', environments: ['prod'] }] }))).toEqual([
        'freezeWindows.0.to: "soon" is not a date like 2026-12-20 or a date and time like 2026-12-20T16:00',
      ]);
      expect(problemsOf(twoServices({ freezeWindows: ['weekends'] }))).toEqual([
        'freezeWindows.0: a freeze window needs name, cron, duration and timezone (recurring) or name, from and to (a fixed range)',
      ]);
    });

    it('scope problems are reported together with problems elsewhere', () => {
      const raw = twoServices({ freezeWindows: [{ ...yearEnd, environments: ['qa'] }] }, { dependsOn: ['billing'] }, { deploy: webhook({ url: 'nope' }) });
      expect(problemsOf(raw)).toEqual([
        'services.api.environments.prod.deploy.url: Invalid URL',
        'freezeWindows.0.environments.0: no service has an environment "qa"',
        'services.api.dependsOn.0: unknown service "billing"',
      ]);
    });
  });

  describe('timezone and breakGlass', () => {
    it('an unknown time zone', () => {
      expect(problemsOf(twoServices({ timezone: 'Mars/Base' }))).toEqual(['timezone: unknown time zone "Mars/Base": use an IANA name like "Europe/Berlin" or "UTC"']);
    });

    it('break glass lists users and groups by ID', () => {
      expect(configOf(twoServices({ breakGlass: { users: ['U0ERIN01'] } })).breakGlass).toEqual({ users: ['U0ERIN01'], groups: [] });
      expect(problemsOf(twoServices({ breakGlass: { users: ['erin'], groups: ['U0123456'] } }))).toEqual([
        'breakGlass.users.0: expected a Slack user ID like U0123ABCD',
        'breakGlass.groups.0: expected a user group ID like S0123ABCD',
      ]);
      expect(problemsOf(twoServices({ breakGlass: { people: [] } }))).toEqual(['breakGlass: Unrecognized key: "people"']);
    });
  });
});

describe('dependsOn cycles', () => {
  it('are refused when the config is read, naming the cycle', () => {
    const hook = { type: 'webhook', url: 'https://deploy.example.com/hook', secret: '0123456789abcdef0' };
    const result = parseShipmateConfig(
      {
        defaults: { channel: 'C0DEPLOYS' },
        services: {
          api: { dependsOn: ['db'], environments: { prod: { deploy: hook } } },
          db: { dependsOn: ['api'], environments: { prod: { deploy: hook } } },
        },
      },
      {},
    );
    expect(result).toEqual({ ok: false, problems: ['services: dependsOn has a cycle: api → db → api'] });
  });
});
