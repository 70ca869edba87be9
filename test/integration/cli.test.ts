import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliProcess, startCliProcess } from '../support/run-process';
import { SlackEmulator } from '../support/slack-emulator';
import { postSigned, SIGNING_SECRET, slashCommandBody } from '../support/slack-requests';

const EXAMPLE = join(__dirname, '..', '..', 'shipmate.example.yml');
const BOT_TOKEN = 'xoxb-1-2-clitoken';

describe('the shipmate CLI', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'shipmate-cli-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const base = () => ({
    SHIPMATE_DB: join(dir, 'shipmate.db'),
    SHIPMATE_CONFIG: EXAMPLE,
    API_DEPLOY_WEBHOOK_SECRET: 'example-secret-0123456789',
    ALERTMANAGER_TOKEN: 'example-alertmanager-token',
    OFREP_STAGING_KEY: 'ofrep-staging-example-key',
    OFREP_PROD_KEY: 'ofrep-prod-example-key-0',
    GITHUB_TOKEN: 'ghp_example',
    ARGOCD_TOKEN: 'argocd-example',
  });

  describe('start with a missing or invalid setting', () => {
    it.each([
      [{}, /^shipmate: SLACK_BOT_TOKEN is missing: set it to the bot token \(xoxb-\.\.\.\)/],
      [{ SLACK_BOT_TOKEN: BOT_TOKEN }, /^shipmate: SLACK_APP_TOKEN is missing: set SLACK_APP_TOKEN \(xapp-\.\.\.\) for Socket Mode, or SLACK_SIGNING_SECRET/],
      [{ SLACK_BOT_TOKEN: 'xoxp-user-token-secret', SLACK_APP_TOKEN: 'xapp-1-x' }, /^shipmate: SLACK_BOT_TOKEN is not a bot token: it starts with xoxb-$/],
      [{ SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_APP_TOKEN: 'xapp-1-x', PORT: 'eighty' }, /^shipmate: PORT is not a port number/],
      [{ SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_APP_TOKEN: 'xapp-1-x', SLACK_API_URL: 'slack dot com' }, /^shipmate: SLACK_API_URL is not an http\(s\) URL/],
    ])('%j prints one line naming it and exits 2', async (env, message) => {
      const { code, stdout, stderr } = await runCliProcess(['start'], { ...base(), ...env });
      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(stderr.trim()).toMatch(message);
      expect(stderr).not.toContain('xoxp-user-token-secret');
      expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
    });

    it('names the config file and its problems when shipmate.yml is invalid', async () => {
      const file = join(dir, 'bad.yml');
      writeFileSync(file, 'services:\n  api:\n    environments:\n      prod:\n        deploy: { type: webhook, url: nope, secret: "0123456789abcdefg" }\n');
      const { code, stderr } = await runCliProcess(['start'], { ...base(), SHIPMATE_CONFIG: file, SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_APP_TOKEN: 'xapp-1-x' });
      expect(code).toBe(2);
      expect(stderr).toContain('services.api.environments.prod.deploy.url: Invalid URL');
    });
  });

  describe('config check', () => {
    it('accepts the shipped example', async () => {
      const { code, stdout } = await runCliProcess(['config', 'check', '--json'], base());
      expect(code).toBe(0);
      expect(JSON.parse(stdout)).toEqual({
        file: EXAMPLE,
        valid: true,
        services: [
          { name: 'api', environments: ['staging', 'prod'] },
          { name: 'web', environments: ['staging', 'prod'] },
          { name: 'payments', environments: ['prod'] },
          { name: 'worker', environments: ['staging'] },
        ],
      });
    });

    it('lists every problem with its path and exits 1, without starting anything', async () => {
      const file = join(dir, 'bad.yml');
      writeFileSync(
        file,
        [
          'services:',
          '  api:',
          '    channel: C0123APITEAM',
          '    environments:',
          '      prod:',
          '        deploy: { type: webhook, url: "not a url", secret: "${MISSING_SECRET}" }',
          '      staging:',
          '        deploy: { type: ssh, host: x }',
        ].join('\n'),
      );
      const env = { ...base(), SHIPMATE_CONFIG: file };
      const text = await runCliProcess(['config', 'check'], env);
      expect(text.code).toBe(1);
      expect(text.stderr).toContain('services.api.environments.prod.deploy.url: Invalid URL');
      expect(text.stderr).toContain('services.api.environments.prod.deploy.secret: environment variable MISSING_SECRET is not set');
      expect(text.stderr).toContain('services.api.environments.staging.deploy.type: type must be one of: webhook, command, github-actions, argocd, kubernetes, argo-rollouts');
      const json = await runCliProcess(['config', 'check', '--json'], env);
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stdout)).toMatchObject({ valid: false, problems: expect.arrayContaining(['services.api.environments.prod.deploy.url: Invalid URL']) });
    });

    it('says where the file was looked for when it is missing', async () => {
      const { code, stderr } = await runCliProcess(['config', 'check'], { ...base(), SHIPMATE_CONFIG: join(dir, 'nope.yml') });
      expect(code).toBe(1);
      expect(stderr).toContain(`${join(dir, 'nope.yml')}: 1 problem`);
      expect(stderr).toContain('file not found (set SHIPMATE_CONFIG to the path of shipmate.yml)');
    });
  });

  it('migrate applies pending migrations once', async () => {
    const first = await runCliProcess(['migrate', '--json'], base());
    expect(first.code).toBe(0);
    // Every file in migrations/, in order: NNNN_name.sql.
    const files = readdirSync(join(__dirname, '..', '..', 'migrations')).filter((f) => f.endsWith('.sql')).sort();
    const expected = files.map((f) => ({ version: Number(f.slice(0, 4)), name: f.slice(5, -'.sql'.length) }));
    expect(expected.slice(0, 3)).toEqual([{ version: 1, name: 'initial' }, { version: 2, name: 'approvals_queue_locks' }, { version: 3, name: 'releases' }]);
    expect(JSON.parse(first.stdout)).toEqual({ database: join(dir, 'shipmate.db'), applied: expected });
    const second = await runCliProcess(['migrate', '--json'], base());
    expect(JSON.parse(second.stdout).applied).toEqual([]);
  });

  it('start serves Slack over HTTP until SIGTERM', async () => {
    const emulator = await new SlackEmulator(BOT_TOKEN).start();
    try {
      const { child, match } = await startCliProcess(
        ['start'],
        { ...base(), SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: emulator.apiUrl, PORT: '0' },
        /health checks on port (\d+)/,
      );
      const url = `http://127.0.0.1:${match[1]}`;
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const ack = await postSigned(url, slashCommandBody('status api'));
      expect((ack.json as { text: string }).text).toContain('*api* staging: never deployed');
      child.kill('SIGTERM');
      const [code] = await once(child, 'close');
      expect(code).toBe(0);
    } finally {
      await emulator.stop();
    }
  });

  it('canary judge reads a file and prints the verdict as JSON', async () => {
    const fixture = join(__dirname, '..', 'fixtures', 'canary', 'fail-critical.json');
    const { code, stdout } = await runCliProcess(['canary', 'judge', '--input', fixture, '--json'], base());
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ verdict: 'fail', metrics: expect.any(Array) });
    const missing = await runCliProcess(['canary', 'judge', '--input', join(dir, 'nope.json')], base());
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
  });
});
