import { ConfigError, ValidationError } from '../../../src/core/errors';
import { checkQueryTemplate, fillQueryTemplate, placeholdersIn, promDuration, type QueryVariables } from '../../../src/core/query-template';

const deploy: QueryVariables = { service: 'api', env: 'prod', version: '1.4.2', baseline_version: '1.4.1', window: '5m' };

describe('fillQueryTemplate', () => {
  it('fills every placeholder, however often it appears', () => {
    const template =
      'sum(rate(http_requests_total{service="{{service}}",env="{{env}}",version="{{version}}",code=~"5.."}[{{window}}]))' +
      ' / sum(rate(http_requests_total{service="{{service}}",env="{{env}}",version="{{ baseline_version }}"}[{{window}}]))';

    expect(fillQueryTemplate(template, deploy)).toBe(
      'sum(rate(http_requests_total{service="api",env="prod",version="1.4.2",code=~"5.."}[5m]))' +
        ' / sum(rate(http_requests_total{service="api",env="prod",version="1.4.1"}[5m]))',
    );
  });

  it('leaves a query without placeholders as it is', () => {
    expect(fillQueryTemplate('avg:trace.http.request.errors{env:prod}', deploy)).toBe('avg:trace.http.request.errors{env:prod}');
  });

  it('refuses an unknown placeholder, naming it and the known ones', () => {
    const fill = () => fillQueryTemplate('rate(x{team="{{team}}",v="{{verison}}"}[5m])', deploy);

    expect(fill).toThrow(ConfigError);
    expect(fill).toThrow('uses {{team}}, {{verison}}, which are not known; use {{service}}, {{env}}, {{version}}, {{baseline_version}}, {{window}}');
  });

  it('refuses a brace pair that is not a placeholder', () => {
    expect(() => checkQueryTemplate('rate(x{v="{{version}"}[5m])')).toThrow(ConfigError);
  });

  it('refuses a placeholder the deploy has no value for', () => {
    const fill = () => fillQueryTemplate('x{version="{{baseline_version}}"}', { ...deploy, baseline_version: undefined });

    expect(fill).toThrow(ValidationError);
    expect(fill).toThrow('uses {{baseline_version}}, but this deploy has no baseline version');
  });

  it.each(['1.4.2"} or vector(0) #', 'a b', '1.4.2}', "x' OR 1=1", '$(whoami)'])('refuses the value %j, which could rewrite the query', (version) => {
    expect(() => fillQueryTemplate('x{version="{{version}}"}', { ...deploy, version })).toThrow(ValidationError);
  });

  it.each(['1.4.2+build.7', 'v2.0.0-rc.1', 'sha-0f1e2d3', 'registry/api:1.4.2', 'api_v2@stable'])('accepts the version %j', (version) => {
    expect(fillQueryTemplate('{{version}}', { ...deploy, version })).toBe(version);
  });

  it('encodes values for a URL when asked', () => {
    expect(fillQueryTemplate('https://stats/q?v={{version}}', { version: '1.4.2+build/7' }, { encode: encodeURIComponent })).toBe('https://stats/q?v=1.4.2%2Bbuild%2F7');
  });
});

describe('placeholdersIn', () => {
  it('lists each placeholder once, in order of first use', () => {
    expect(placeholdersIn('{{version}} {{ service }} {{version}} {{nope}}')).toEqual(['version', 'service', 'nope']);
  });
});

describe('promDuration', () => {
  it.each([
    [300_000, '5m'],
    [90_000, '90s'],
    [3_600_000, '1h'],
    [86_400_000, '1d'],
    [1_500, '1500ms'],
  ])('%d ms is %s', (ms, text) => {
    expect(promDuration(ms)).toBe(text);
  });

  it('refuses a window that is not positive', () => {
    expect(() => promDuration(0)).toThrow(ValidationError);
  });
});
