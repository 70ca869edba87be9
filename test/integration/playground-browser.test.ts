import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { PAGE_HTML } from '../../src/playground/page';
import { type Playground, startPlayground } from '../../src/playground/playground';
import { createLogger } from '../../src/telemetry/logger';

/**
 * The playground end to end in headless Chromium (Debian's package, no browser download): a person
 * deploys, another approves, a canary runs, a simulated incident is rolled back from its message.
 * The README's screenshot is taken here.
 */

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = join(__dirname, '..', '..', 'docs', 'playground.png');

describe('the playground in a browser', () => {
  let playground: Playground;
  let browser: Browser;
  let page: Page;
  let dir: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
    dir = mkdtempSync(join(tmpdir(), 'shipmate-browser-'));
    playground = await startPlayground({ port: 0, dataDir: dir, deployDelayMs: 50, analysisIntervalMs: 1000, page: PAGE_HTML, log: createLogger({ level: 'silent' }) });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(playground.url);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await playground?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const send = async (text: string) => {
    await page.getByTestId('composer-input').fill(text);
    await page.getByTestId('composer-send').click();
  };
  const actAs = (userId: string) => page.getByTestId('user-picker').selectOption(userId);
  const card = (text: string) => page.locator('[data-testid^="message-"]', { hasText: text }).last();

  it('deploy → approve → success, as two people', async () => {
    await send('/deploy web@1.0.0 to prod');
    await card('web 1.0.0 → prod').getByTestId('button-deploy_approve').waitFor();
    await actAs('U0BOBBY');
    await card('web 1.0.0 → prod').getByTestId('button-deploy_approve').click();
    await card('web 1.0.0 → prod').filter({ hasText: 'Succeeded' }).waitFor({ timeout: 20_000 });
  }, 60_000);

  it('a canary runs with its measurements, then an alert is rolled back from the incident message', async () => {
    await actAs('U0ALICE');
    await send('/deploy web@1.1.0 to prod');
    await actAs('U0BOBBY');
    await card('web 1.1.0 → prod').getByTestId('button-deploy_approve').click();
    await card('web 1.1.0 → prod').filter({ hasText: 'Succeeded' }).waitFor({ timeout: 60_000 });

    await actAs('U0CAROL');
    await page.getByTestId('simulate-incident').click();
    await page.getByTestId('channel-C0INCIDENTS').click();
    const incident = card('availability');
    await incident.getByTestId('button-incident_rollback').click();
    // The confirm dialog names both versions before anything happens.
    await page.getByTestId('confirm-dialog').filter({ hasText: '1.1.0' }).filter({ hasText: '1.0.0' }).waitFor();
    await page.getByTestId('confirm-yes').click();
    // The message records who rolled back, and how it went.
    await incident.filter({ hasText: /rollback to 1\.0\.0 by @carol.*: succeeded \(deploy #3\)/ }).waitFor({ timeout: 30_000 });
    await page.getByTestId('channel-C0DEPLOYS').click();
    await card('web 1.0.0 → prod').filter({ hasText: 'Rollback from' }).filter({ hasText: 'Succeeded' }).waitFor({ timeout: 30_000 });
    await page.getByTestId('toast').waitFor({ state: 'hidden' });
    mkdirSync(join(SCREENSHOT, '..'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT });
  }, 120_000);
});
