import { createDeployPolicies } from '../../../flows/deploy-policies';
import { configOf, webhook } from '../fakes/deploy-world';
import { FakeUserDirectory } from '../fakes/fake-user-directory';

const config = configOf({
  defaults: { channel: '#deploys' },
  timezone: 'Europe/Berlin',
  services: {
    api: {
      environments: {
        staging: { deploy: webhook },
        prod: { deploy: webhook, approval: { required: 2, approvers: { users: ['U0CAROL1', 'U0DAVE01'] }, expiresAfter: '2h' } },
      },
    },
    web: { environments: { prod: { deploy: webhook } } },
  },
  freezeWindows: [
    { name: 'Year-end freeze', from: '2026-12-20', to: '2027-01-03', timezone: 'Europe/Berlin', environments: ['prod'] },
    { name: 'API rewrite', from: '2026-11-23T09:00', to: '2026-11-23T12:00', timezone: 'UTC', services: ['api'], reason: 'schema change' },
  ],
  breakGlass: { users: ['U0ERIN01'], groups: ['S0ONCALL'] },
});

function setup() {
  const directory = new FakeUserDirectory({ S0ONCALL: ['U0FRANK1'], S0RELEASE: ['U0DAVE01'] });
  return { directory, policies: createDeployPolicies(config, directory) };
}

describe('createDeployPolicies', () => {
  it('approval: the environment’s policy, or none', () => {
    const { policies } = setup();
    expect(policies.approval('api', 'prod')).toEqual({
      required: 2,
      approvers: { users: ['U0CAROL1', 'U0DAVE01'], groups: [] },
      allowSelfApproval: false,
      expiresAfterMs: 2 * 3_600_000,
    });
    expect(policies.approval('api', 'staging')).toBeUndefined();
    expect(policies.approval('web', 'prod')).toBeUndefined();
    expect(policies.approval('nope', 'prod')).toBeUndefined();
  });

  it.each<[string, string, string, string | undefined]>([
    ['api', 'staging', '2026-11-23T10:00:00Z', 'API rewrite'], // services: api, every environment
    ['web', 'staging', '2026-11-23T10:00:00Z', undefined],
    ['api', 'staging', '2026-11-23T11:59:59Z', 'API rewrite'],
    ['api', 'staging', '2026-11-23T12:00:00Z', undefined], // the end is exclusive
    ['web', 'prod', '2026-12-24T12:00:00Z', 'Year-end freeze'], // environments: prod, every service
    ['web', 'staging', '2026-12-24T12:00:00Z', undefined],
  ])('freeze(%s, %s, %s) -> %s', (service, environment, at, name) => {
    const { policies } = setup();
    expect(policies.freeze(service, environment, new Date(at))?.name).toBe(name);
  });

  it('describes the freeze in the configured time zone', () => {
    const { policies } = setup();
    expect(policies.freeze('api', 'staging', new Date('2026-11-23T10:00:00Z'))).toEqual({
      name: 'API rewrite',
      description: '"API rewrite" from Mon 23 Nov 10:00 to Mon 23 Nov 13:00 Europe/Berlin: schema change',
    });
  });

  it.each<[string, boolean]>([
    ['U0ERIN01', true],
    ['U0FRANK1', true],
    ['U0DAVE01', false],
  ])('mayBreakGlass(%s) is %s', async (user, allowed) => {
    const { policies } = setup();
    await expect(policies.mayBreakGlass(user)).resolves.toBe(allowed);
  });

  it('groupMembers asks the directory', async () => {
    const { policies, directory } = setup();
    await expect(policies.groupMembers('S0RELEASE')).resolves.toEqual(['U0DAVE01']);
    expect(directory.lookups).toBe(1);
  });
});
