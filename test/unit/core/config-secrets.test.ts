import { parseShipmateConfig, type ShipmateConfig } from '../../../src/core/config';
import { secretsOf } from '../../../src/core/config-secrets';

function configOf(raw: unknown, env: Record<string, string> = {}): ShipmateConfig {
  const result = parseShipmateConfig(raw, env);
  if (!result.ok) throw new Error(result.problems.join('\n'));
  return result.config;
}

const webhook = (extra: Record<string, unknown> = {}) => ({ type: 'webhook', url: 'https://deploy.example.com/hook', secret: 'literal-hmac-secret-0123', ...extra });

describe('secretsOf', () => {
  it("holds each value read from the environment, but the Slack channels and users it names", () => {
    const config = configOf(
      {
        defaults: { channel: '${DEPLOY_CHANNEL}' },
        services: {
          api: {
            environments: {
              prod: { deploy: { type: 'command', command: '/bin/deploy', args: ['--key', '${ARG_SECRET}'] }, approval: { required: 1, approvers: { users: ['${APPROVER}'] } } },
            },
          },
        },
      },
      { DEPLOY_CHANNEL: 'C0DEPLOYS1', ARG_SECRET: 'arg-secret-value', APPROVER: 'U0APPROVER' },
    );
    expect(secretsOf(config)).toEqual(['arg-secret-value']);
  });

  it('holds credentials written in the file itself: fields, credential-named headers and env, URL userinfo, basic auth', () => {
    const config = configOf({
      defaults: { channel: 'C0DEPLOYS' },
      metrics: { providers: { prom: { type: 'prometheus', url: 'https://prom.example.com', auth: { type: 'basic', username: 'reader', password: 'prom-password' } } } },
      services: {
        api: {
          environments: {
            prod: { deploy: webhook({ url: 'https://bob:hook%20pass@deploy.example.com/hook', headers: { Authorization: 'Bearer header-token-1', 'X-Team': 'platform-team' } }) },
            staging: { deploy: { type: 'command', command: '/bin/deploy', env: { DB_PASSWORD: 'db-password-1', REGION: 'eu-west-1' } } },
          },
        },
      },
    });
    const secrets = secretsOf(config);
    expect(secrets).toEqual(
      expect.arrayContaining(['prom-password', 'reader:prom-password', 'literal-hmac-secret-0123', 'bob:hook%20pass', 'bob:hook pass', 'hook pass', 'Bearer header-token-1', 'header-token-1', 'db-password-1']),
    );
    expect(secrets).not.toEqual(expect.arrayContaining(['platform-team']));
    expect(secrets).not.toEqual(expect.arrayContaining(['eu-west-1']));
  });
});

describe('one credential, one caller', () => {
  const base = (extra: Record<string, unknown>, deploys: Record<string, unknown> = { prod: { deploy: webhook() }, staging: { deploy: webhook() } }) => ({
    defaults: { channel: 'C0DEPLOYS' },
    services: { api: { environments: deploys } },
    ...extra,
  });
  const problems = (raw: unknown) => {
    const result = parseShipmateConfig(raw, {});
    return result.ok ? [] : result.problems;
  };

  it('lets deploy targets share a webhook secret', () => {
    expect(problems(base({}))).toEqual([]);
  });

  it.each([
    ['an OFREP key of two environments', { flags: { environments: { staging: { ofrepKey: 'shared-ofrep-key-0123' }, prod: { ofrepKey: 'shared-ofrep-key-0123' } } } }, 'flags.environments.prod.ofrepKey: is the same as flags.environments.staging.ofrepKey: OFREP for prod needs a credential of its own'],
    ['the Alertmanager token and a webhook secret', { alertmanager: { token: 'literal-hmac-secret-0123' } }, 'alertmanager.token: is the same as services.api.environments.prod.deploy.secret: the Alertmanager webhook needs a credential of its own'],
    ['an OFREP key and a webhook secret', { flags: { environments: { prod: { ofrepKey: 'literal-hmac-secret-0123' } } } }, 'flags.environments.prod.ofrepKey: is the same as services.api.environments.prod.deploy.secret: OFREP for prod needs a credential of its own'],
  ])('refuses %s', (_name, extra, problem) => {
    expect(problems(base(extra))).toEqual([problem]);
  });
});
