import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandSpec } from '../../../src/core/deploy-specs';
import type { DeployRequest } from '../../../src/core/ports';
import { createCommandDeployer } from '../../../src/deployers/command-deployer';
import { createProcessLauncher } from '../../../src/deployers/process-launcher';

const CANARY_SCRIPT = join(__dirname, '..', '..', 'fixtures', 'canary-script.sh');
/** Writes the environment it was given as JSON, so a test can tell an empty variable from a missing one. */
const DUMP_ENV = "require('node:fs').writeFileSync(process.env.RECORD_FILE, JSON.stringify(process.env))";

let record: string;
const launcher = createProcessLauncher();
afterAll(() => launcher.stop());

beforeEach(() => {
  record = join(mkdtempSync(join(tmpdir(), 'shipmate-command-')), 'record.txt');
});

function deployer(command: string, args: string[] = []) {
  const spec: CommandSpec = { type: 'command', command, args, env: { RECORD_FILE: record }, timeout: 10_000, outputTailLines: 5 };
  return createCommandDeployer(spec, { baseEnv: { PATH: process.env.PATH }, launcher });
}

function request(overrides: Partial<DeployRequest> = {}): DeployRequest {
  return { deploymentId: 7, service: 'api', environment: 'prod', version: '1.4.2', requestedBy: 'U0ALICE', idempotencyKey: 'deploy:7:deploy', ...overrides };
}

async function envOf(r: DeployRequest): Promise<Record<string, string>> {
  expect(await deployer(process.execPath, ['-e', DUMP_ENV]).deploy(r)).toMatchObject({ ok: true });
  return JSON.parse(readFileSync(record, 'utf8')) as Record<string, string>;
}

describe('command deployer with canary steps', () => {
  it('gives the script the weight and baseline of each step, and neither to a plain deploy', async () => {
    const script = deployer(CANARY_SCRIPT);

    await script.deploy(request());
    await script.deploy(request({ idempotencyKey: 'deploy:7:canary:1', canary: { weight: 10, baselineVersion: '1.4.1' } }));
    await script.deploy(request({ idempotencyKey: 'deploy:7:canary:2', canary: { weight: 100, baselineVersion: '1.4.1' } }));
    await script.deploy(request({ idempotencyKey: 'deploy:7:canary:abort', canary: { weight: 0, baselineVersion: '1.4.1' } }));

    expect(readFileSync(record, 'utf8')).toBe(['1.4.2 - -', '1.4.2 10 1.4.1', '1.4.2 100 1.4.1', '1.4.2 0 1.4.1', ''].join('\n'));
  });

  it('sets SHIPMATE_WEIGHT and SHIPMATE_BASELINE_VERSION, the baseline empty when there is none', async () => {
    const env = await envOf(request({ canary: { weight: 25, baselineVersion: null } }));

    expect(env).toMatchObject({ SHIPMATE_VERSION: '1.4.2', SHIPMATE_WEIGHT: '25', SHIPMATE_BASELINE_VERSION: '' });
  });

  it('sets neither variable without a canary step', async () => {
    const env = await envOf(request());

    expect(env.SHIPMATE_VERSION).toBe('1.4.2');
    expect(Object.keys(env)).not.toContain('SHIPMATE_WEIGHT');
    expect(Object.keys(env)).not.toContain('SHIPMATE_BASELINE_VERSION');
  });
});

describe('command deployer, a command that cannot start', () => {
  it('says how to write a command whose arguments were written into its name', async () => {
    const result = await deployer('/bin/sleep 600').deploy(request());

    expect(result).toMatchObject({ ok: false });
    expect(!result.ok && result.error).toMatch(/^could not start \/bin\/sleep 600: .*ENOENT/);
    expect(!result.ok && result.error).toContain('Shipmate runs the command without a shell, so its arguments go under args in shipmate.yml: command: /bin/sleep, args: ["600"]');
  });

  it('gives no such advice for a file that is simply missing', async () => {
    const result = await deployer('/no/such/deploy-script').deploy(request());

    expect(!result.ok && result.error).toMatch(/^could not start \/no\/such\/deploy-script: .*ENOENT$/);
  });
});
