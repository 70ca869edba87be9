import { createCommandDeployer } from '../../../src/deployers/command-deployer';
import { createProcessLauncher } from '../../../src/deployers/process-launcher';

describe('command deployer when Shipmate stops', () => {
  it('stops the process group of a command still running', async () => {
    const deployer = createCommandDeployer(
      { type: 'command', command: 'sh', args: ['-c', 'sleep 30 & wait'], env: {}, timeout: 60_000, outputTailLines: 5 },
      { baseEnv: { PATH: process.env.PATH }, launcher: createProcessLauncher() },
    );
    const outcome = deployer.deploy({ deploymentId: 1, service: 'api', environment: 'prod', version: '1.0.0', requestedBy: 'U0ALICE', idempotencyKey: 'deploy:1:deploy' });
    deployer.stop!();
    await expect(outcome).resolves.toEqual({ ok: false, error: 'sh was killed by SIGTERM', outputTail: '' });
  });
});
