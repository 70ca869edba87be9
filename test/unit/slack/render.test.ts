import type { DeploymentLine } from '../../../commands/reply';
import type { DeployCard } from '../../../flows/messages';
import type { Reply } from '../../../commands/reply';
import {
  ACTION_APPROVE_DEPLOY,
  ACTION_REJECT_DEPLOY,
  ACTION_REREQUEST_DEPLOY,
  ACTION_RETRY_DEPLOY,
  INPUT_REJECT_REASON,
  rejectModal,
  renderDeployCard,
  renderMessage,
  renderReply,
  slackDate,
  VIEW_REJECT_DEPLOY,
} from '../../../src/slack/render';

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
    approvalsRequired: 0,
    approvals: [],
    expiresAt: null,
    decidedBy: null,
    decisionReason: null,
    breakGlassReason: null,
    rollbackFrom: null,
    previousGood: null,
    canary: null,
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

const CAROL = 'U0CAROL1';
const DAVE = 'U0DAVE01';
const EXPIRES = '2026-11-23T11:00:00.000Z';
const EXPIRES_DATE = '<!date^1795431600^{date_short_pretty} {time}|2026-11-23T11:00:00.000Z>';
const time = (iso: string) => `<!date^${Math.floor(new Date(iso).getTime() / 1000)}^{time}|${iso}>`;

/** A card of a deploy that needs two approvals. */
const approvalCard = (status: DeployCard['status'], approvers: string[] = [], overrides: Partial<DeployCard> = {}) =>
  card(status, {
    startedAt: null,
    approvalsRequired: 2,
    approvals: approvers.map((userId, i) => ({ userId, at: `2026-11-23T10:0${i + 1}:00.000Z` })),
    expiresAt: EXPIRES,
    ...overrides,
  });

const contextTexts = (blocks: unknown[]) =>
  (blocks as { type: string; elements?: { text: string }[] }[]).filter((b) => b.type === 'context').map((b) => b.elements![0]!.text);
const buttonsOf = (blocks: unknown[]) =>
  (blocks as { type: string; elements?: { text: { text: string }; action_id: string; value: string; style?: string }[] }[])
    .filter((b) => b.type === 'actions')
    .flatMap((b) => b.elements!.map((e) => `${e.text.text}:${e.action_id}:${e.value}${e.style ? `:${e.style}` : ''}`));

describe('renderDeployCard: approvals, rejection, expiry and break glass', () => {
  it.each<[DeployCard['status'], string, string]>([
    ['awaiting_approval', 'api 1.4.2 → prod: Awaiting approval', ':raised_hand: Awaiting approval'],
    ['expired', 'api 1.4.2 → prod: Expired', ':hourglass: Expired'],
  ])('%s: text %j, status line %j', (status, text, statusLine) => {
    const rendered = renderDeployCard(approvalCard(status));
    expect(rendered.text).toBe(text);
    expect(sectionText(rendered.blocks)).toBe(`*api* \`1.4.2\` → *prod*\n${statusLine}`);
  });

  it('rejected: says who rejected it and why, escaping the reason', () => {
    const rendered = renderDeployCard(approvalCard('rejected', [], { decidedBy: DAVE, decisionReason: 'not during <!here> & the sale' }));
    expect(rendered.text).toBe('api 1.4.2 → prod: Rejected');
    expect(sectionText(rendered.blocks)).toBe(`*api* \`1.4.2\` → *prod*\n:no_entry_sign: Rejected by <@${DAVE}>: not during &lt;!here&gt; &amp; the sale`);
  });

  it.each<[string, DeployCard, string]>([
    ['nobody yet', approvalCard('awaiting_approval'), `No approvals yet · 2 needed · expires ${EXPIRES_DATE}`],
    [
      'one of two',
      approvalCard('awaiting_approval', [CAROL]),
      `Approved by <@${CAROL}> (${time('2026-11-23T10:01:00.000Z')}) · 1 more needed · expires ${EXPIRES_DATE}`,
    ],
    [
      'all of them: no more needed, no deadline',
      approvalCard('queued', [CAROL, DAVE]),
      `Approved by <@${CAROL}> (${time('2026-11-23T10:01:00.000Z')}), <@${DAVE}> (${time('2026-11-23T10:02:00.000Z')})`,
    ],
    ['expired without any', approvalCard('expired'), 'No approvals yet'],
  ])('the approval line: %s', (_name, model, line) => {
    const texts = contextTexts(renderDeployCard(model).blocks);
    expect(texts).toEqual([line, `Deploy #42 · requested by <@U0ALICE> · ${CREATED_DATE}`]);
  });

  it('no approval line when none was needed', () => {
    expect(contextTexts(renderDeployCard(card('deploying')).blocks)).toEqual([`Deploy #42 · requested by <@U0ALICE> · ${CREATED_DATE}`]);
  });

  it.each<[DeployCard['status'], string[]]>([
    ['awaiting_approval', [`Approve:${ACTION_APPROVE_DEPLOY}:42:primary`, `Reject:${ACTION_REJECT_DEPLOY}:42:danger`]],
    ['expired', [`Request again:${ACTION_REREQUEST_DEPLOY}:42`]],
    ['failed', [`Retry:${ACTION_RETRY_DEPLOY}:42`]],
    ['queued', []],
    ['deploying', []],
    ['succeeded', []],
    ['rejected', []],
  ])('%s offers %j', (status, buttons) => {
    const { blocks } = renderDeployCard(approvalCard(status, [], status === 'failed' ? { error: 'boom' } : {}));
    expect(buttonsOf(blocks)).toEqual(buttons);
    expect(blocks.filter((b) => b.type === 'actions')).toHaveLength(buttons.length ? 1 : 0);
  });

  it('the action IDs the listeners register', () => {
    expect([ACTION_APPROVE_DEPLOY, ACTION_REJECT_DEPLOY, ACTION_REREQUEST_DEPLOY]).toEqual(['deploy_approve', 'deploy_reject', 'deploy_rerequest']);
  });

  it('an overridden freeze is shown under the headline, escaped', () => {
    const { blocks } = renderDeployCard(card('deploying', { breakGlassReason: 'INC-42 <!channel> checkout & cart' }));
    expect(blockTypes(blocks)).toEqual(['section', 'context', 'context']);
    expect(contextTexts(blocks)[0]).toBe(':rotating_light: Freeze overridden: INC-42 &lt;!channel&gt; checkout &amp; cart');
  });
});

describe('rejectModal', () => {
  it('asks why, carrying the deploy ID for the submission', () => {
    expect(rejectModal(42)).toEqual({
      type: 'modal',
      callback_id: VIEW_REJECT_DEPLOY,
      private_metadata: '42',
      title: { type: 'plain_text', text: 'Reject deploy' },
      submit: { type: 'plain_text', text: 'Reject' },
      close: { type: 'plain_text', text: 'Cancel' },
      blocks: [
        {
          type: 'input',
          block_id: INPUT_REJECT_REASON,
          label: { type: 'plain_text', text: 'Why reject deploy #42?' },
          element: { type: 'plain_text_input', action_id: INPUT_REJECT_REASON, multiline: true, min_length: 3, max_length: 500 },
        },
      ],
    });
    expect([VIEW_REJECT_DEPLOY, INPUT_REJECT_REASON]).toEqual(['deploy_reject_reason', 'reason']);
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

  describe('deployments with locks', () => {
    const LOCKED = '2026-11-23T09:30:00.000Z';
    const LOCKED_DATE = '<!date^1795426200^{date_short_pretty} {time}|2026-11-23T09:30:00.000Z>';

    it('lists the locks in a third section, escaping the reason', () => {
      const reply = renderReply({
        kind: 'deployments',
        title: 'Status',
        empty: '-',
        lines: [],
        locks: [
          { environment: 'prod', service: 'api', reason: 'db migration <!channel>', lockedBy: CAROL, lockedAt: LOCKED },
          { environment: 'staging', service: null, reason: 'load test', lockedBy: DAVE, lockedAt: LOCKED },
        ],
      });
      const locks = [
        `:lock: *api* in prod locked by <@${CAROL}> ${LOCKED_DATE}: db migration &lt;!channel&gt;`,
        `:lock: *staging* (every service) locked by <@${DAVE}> ${LOCKED_DATE}: load test`,
      ].join('\n');
      expect(reply).toEqual({
        text: `Status\n-\n${locks}`,
        blocks: [
          { type: 'section', text: { type: 'mrkdwn', text: '*Status*' } },
          { type: 'section', text: { type: 'mrkdwn', text: '-' } },
          { type: 'section', text: { type: 'mrkdwn', text: locks } },
        ],
      });
    });

    it('no locks, no third section', () => {
      expect(renderReply({ kind: 'deployments', title: 'Status', empty: '-', lines: [], locks: [] }).blocks).toHaveLength(2);
    });

    it.each<[DeploymentLine['status'], string]>([
      ['awaiting_approval', ':raised_hand: *api* prod: `1.4.2` awaiting approval'],
      ['rejected', ':no_entry_sign: *api* prod: `1.4.2` rejected'],
      ['expired', ':hourglass: *api* prod: `1.4.2` expired'],
    ])('a %s line', (status, start) => {
      const reply = renderReply({
        kind: 'deployments',
        title: 'T',
        empty: '-',
        lines: [
          { service: 'api', environment: 'prod', version: '1.4.2', status, requestedBy: 'U0ALICE', at: CREATED, deploymentId: 7, error: status === 'rejected' ? 'not today' : null },
        ],
      });
      expect(reply.text).toBe(`T\n${start} by <@U0ALICE> ${CREATED_DATE} · #7${status === 'rejected' ? ' (not today)' : ''}`);
    });
  });

  describe('audit', () => {
    const entry = (overrides: Partial<Extract<Reply, { kind: 'audit' }>['entries'][number]> = {}) => ({
      at: CREATED,
      actor: CAROL,
      source: 'slash_command' as const,
      action: 'lock.added',
      subject: 'api/prod',
      ...overrides,
    });

    it('one line per entry: when, who (Shipmate for itself), what, about what, details and where from', () => {
      const reply = renderReply({
        kind: 'audit',
        title: 'Audit trail of api',
        empty: 'Nothing recorded yet.',
        entries: [
          entry({ detail: { reason: 'db <migration> & more' } }),
          entry({ actor: 'system', source: 'system', action: 'deploy.started', detail: { deploymentId: 7 } }),
          entry({ source: 'button', action: 'deploy.approval' }),
        ],
      });
      const body = [
        `${CREATED_DATE} <@${CAROL}> \`lock.added\` api/prod {"reason":"db &lt;migration&gt; &amp; more"} _(slash command)_`,
        `${CREATED_DATE} Shipmate \`deploy.started\` api/prod {"deploymentId":7} _(system)_`,
        `${CREATED_DATE} <@${CAROL}> \`deploy.approval\` api/prod _(button)_`,
      ].join('\n');
      expect(reply).toEqual({
        text: `Audit trail of api\n${body}`,
        blocks: [
          { type: 'section', text: { type: 'mrkdwn', text: '*Audit trail of api*' } },
          { type: 'section', text: { type: 'mrkdwn', text: body } },
        ],
      });
    });

    it('the empty text when there is nothing', () => {
      expect(renderReply({ kind: 'audit', title: 'Audit trail', empty: 'Nothing recorded yet.', entries: [] }).text).toBe('Audit trail\nNothing recorded yet.');
    });

    it('keeps the section within Slack’s 3000-character limit', () => {
      const entries = Array.from({ length: 40 }, (_, i) => entry({ detail: { reason: `a long reason number ${i} `.repeat(3) } }));
      const { blocks } = renderReply({ kind: 'audit', title: 'Audit trail', empty: '-', entries });
      const body = (blocks[1] as unknown as { text: { text: string } }).text.text;
      expect(body.length).toBeLessThanOrEqual(3000);
      expect(body.startsWith(`${CREATED_DATE} <@${CAROL}>`)).toBe(true);
    });

    // BUG src/slack/render.ts (renderReply, audit) cuts the body at 2900 characters wherever that falls, so the
    // last line ends in a broken `<!date^…` or `<@U…` token that Slack shows as raw markup.
    it('a cut body ends with a whole line', () => {
      const entries = Array.from({ length: 40 }, (_, i) => entry({ detail: { reason: `a long reason number ${i} `.repeat(3) } }));
      const full = renderReply({ kind: 'audit', title: 'Audit trail', empty: '-', entries }).text.split('\n').slice(1);
      const { blocks } = renderReply({ kind: 'audit', title: 'Audit trail', empty: '-', entries });
      const shown = (blocks[1] as unknown as { text: { text: string } }).text.text.split('\n');
      expect(shown.length).toBeLessThan(full.length);
      expect(full).toContain(shown.at(-1));
    });
  });
});
