import type { DeploymentLine } from '../../../commands/reply';
import type { DeployCard } from '../../../flows/messages';
import { ACTION_RETRY_DEPLOY, renderDeployCard, renderMessage, renderReply, slackDate } from '../../../src/slack/render';

const CREATED = '2026-11-23T10:00:00.000Z';
const CREATED_DATE = '<!date^1795428000^{date_short_pretty} {time}|2026-11-23T10:00:00.000Z>';
const STARTED = '2026-11-23T10:00:05.000Z';
const STARTED_DATE = '<!date^1795428005^{date_short_pretty} {time}|2026-11-23T10:00:05.000Z>';

function card(status: DeployCard['status'], overrides: Partial<DeployCard> = {}): DeployCard {
  return {
    kind: 'deploy',
    deploymentId: 42,
    service: 'api',
    environment: 'prod',
    version: '1.4.2',
    status,
    requestedBy: 'U0ALICE',
    createdAt: CREATED,
    startedAt: status === 'queued' ? null : STARTED,
    finishedAt: status === 'succeeded' || status === 'failed' ? '2026-11-23T10:01:40.000Z' : null,
    error: status === 'failed' ? 'the webhook answered 500' : null,
    ...overrides,
  };
}

/** The mrkdwn of the first section: the card's headline and status line. */
const sectionText = (blocks: unknown[]) => (blocks[0] as { type: string; text: { text: string } }).text.text;
const blockTypes = (blocks: { type: string }[]) => blocks.map((b) => b.type);

describe('slackDate', () => {
  it('lets Slack show the time in each reader’s zone, with the ISO time as fallback', () => {
    expect(slackDate(CREATED)).toBe(CREATED_DATE);
  });
});

describe('renderDeployCard', () => {
  it.each<[DeployCard['status'], string, string]>([
    ['queued', 'api 1.4.2 → prod: Queued', ':hourglass_flowing_sand: Queued'],
    ['deploying', 'api 1.4.2 → prod: Deploying', `:rocket: Deploying since ${STARTED_DATE}`],
    ['succeeded', 'api 1.4.2 → prod: Succeeded', ':white_check_mark: Succeeded in 1m 35s'],
    ['failed', 'api 1.4.2 → prod: Failed', ':x: Failed in 1m 35s: the webhook answered 500'],
  ])('%s: text %j, status line %j', (status, text, statusLine) => {
    const rendered = renderDeployCard(card(status));
    expect(rendered.text).toBe(text);
    expect(sectionText(rendered.blocks)).toBe(`*api* \`1.4.2\` → *prod*\n${statusLine}`);
  });

  it('says who asked and when, with the deploy number', () => {
    const { blocks } = renderDeployCard(card('deploying'));
    expect(blocks[1]).toEqual({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `Deploy #42 · requested by <@U0ALICE> · ${CREATED_DATE}` }],
    });
  });

  it('offers Retry only on a failed deploy, carrying the deployment ID', () => {
    const failed = renderDeployCard(card('failed')).blocks;
    expect(blockTypes(failed)).toEqual(['section', 'context', 'actions']);
    expect(failed[2]).toEqual({
      type: 'actions',
      elements: [{ type: 'button', text: { type: 'plain_text', text: 'Retry' }, action_id: ACTION_RETRY_DEPLOY, value: '42' }],
    });
    expect(ACTION_RETRY_DEPLOY).toBe('deploy_retry');

    for (const status of ['queued', 'deploying', 'succeeded'] as const) {
      const { blocks } = renderDeployCard(card(status));
      expect(blockTypes(blocks)).toEqual(['section', 'context']);
      expect(JSON.stringify(blocks)).not.toContain(ACTION_RETRY_DEPLOY);
    }
  });

  it('the duration is from start to finish', () => {
    const text = (startedAt: string, finishedAt: string) => sectionText(renderDeployCard(card('succeeded', { startedAt, finishedAt })).blocks);
    expect(text(STARTED, '2026-11-23T10:00:05.300Z')).toContain('Succeeded in 300ms');
    expect(text(STARTED, '2026-11-23T11:01:05.000Z')).toContain('Succeeded in 1h 1m');
  });

  it('counts from the request when there is no start time', () => {
    const rendered = renderDeployCard(card('failed', { startedAt: null, finishedAt: '2026-11-23T10:00:02.000Z', error: null }));
    expect(sectionText(rendered.blocks)).toBe('*api* `1.4.2` → *prod*\n:x: Failed in 2s');
  });

  it('a deploying card without a start time shows the request time', () => {
    expect(sectionText(renderDeployCard(card('deploying', { startedAt: null })).blocks)).toContain(`Deploying since ${CREATED_DATE}`);
  });

  it('escapes &, < and > in the error', () => {
    const rendered = renderDeployCard(card('failed', { error: 'the webhook answered 502: <html> <!channel> & more' }));
    expect(sectionText(rendered.blocks)).toContain('the webhook answered 502: &lt;html&gt; &lt;!channel&gt; &amp; more');
  });

  it('renderMessage renders deploy cards', () => {
    expect(renderMessage(card('failed'))).toEqual(renderDeployCard(card('failed')));
  });
});

describe('renderReply', () => {
  it('text: one section', () => {
    expect(renderReply({ kind: 'text', text: 'Deploying api 1.4.2 to prod (deploy #7).' })).toEqual({
      text: 'Deploying api 1.4.2 to prod (deploy #7).',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'Deploying api 1.4.2 to prod (deploy #7).' } }],
    });
  });

  it('error: a warning, with the usage as context when there is one', () => {
    expect(renderReply({ kind: 'error', text: '"frobnicate" is not a subcommand.', usage: '`/deploy help`  this text' })).toEqual({
      text: '"frobnicate" is not a subcommand.',
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: ':warning: "frobnicate" is not a subcommand.' } },
        { type: 'context', elements: [{ type: 'mrkdwn', text: '`/deploy help`  this text' }] },
      ],
    });
    expect(renderReply({ kind: 'error', text: 'Nope.' }).blocks).toEqual([
      { type: 'section', text: { type: 'mrkdwn', text: ':warning: Nope.' } },
    ]);
  });

  describe('deployments', () => {
    const line = (overrides: Partial<DeploymentLine>): DeploymentLine => ({
      service: 'api',
      environment: 'prod',
      version: '1.4.2',
      status: 'succeeded',
      requestedBy: 'U0ALICE',
      at: CREATED,
      deploymentId: 7,
      error: null,
      ...overrides,
    });

    it('one line per target with status, version, who, when and the deploy number', () => {
      const reply = renderReply({
        kind: 'deployments',
        title: 'Status',
        empty: 'No services are configured.',
        lines: [
          line({}),
          line({ environment: 'staging', version: '1.5.0', status: 'failed', deploymentId: 8, error: 'the webhook answered 500' }),
          line({ service: 'web', status: 'deploying', deploymentId: 9 }),
          line({ service: 'worker', version: null, status: 'never', requestedBy: null, at: null, deploymentId: null }),
        ],
      });

      const body = [
        `:white_check_mark: *api* prod: \`1.4.2\` succeeded by <@U0ALICE> ${CREATED_DATE} · #7`,
        `:x: *api* staging: \`1.5.0\` failed by <@U0ALICE> ${CREATED_DATE} · #8 (the webhook answered 500)`,
        `:rocket: *web* prod: \`1.4.2\` deploying by <@U0ALICE> ${CREATED_DATE} · #9`,
        ':white_circle: *worker* prod: never deployed',
      ].join('\n');
      expect(reply).toEqual({
        text: `Status\n${body}`,
        blocks: [
          { type: 'section', text: { type: 'mrkdwn', text: '*Status*' } },
          { type: 'section', text: { type: 'mrkdwn', text: body } },
        ],
      });
    });

    it('a queued line without who or when still reads', () => {
      const reply = renderReply({
        kind: 'deployments',
        title: 'Status',
        empty: '-',
        lines: [line({ status: 'queued', requestedBy: null, at: null })],
      });
      expect(reply.text).toBe('Status\n:hourglass_flowing_sand: *api* prod: `1.4.2` queued · #7');
    });

    it('the empty text when there are no lines', () => {
      expect(renderReply({ kind: 'deployments', title: 'Latest deploys of api', empty: 'api has not been deployed yet.', lines: [] })).toEqual({
        text: 'Latest deploys of api\napi has not been deployed yet.',
        blocks: [
          { type: 'section', text: { type: 'mrkdwn', text: '*Latest deploys of api*' } },
          { type: 'section', text: { type: 'mrkdwn', text: 'api has not been deployed yet.' } },
        ],
      });
    });
  });
});
