import type { IncidentCard } from '../../../flows/messages';
import type { IncidentSnapshot } from '../../../src/core/incident';
import {
  ACTION_INCIDENT_ACK,
  ACTION_INCIDENT_FLAG_OFF,
  ACTION_INCIDENT_PAUSE,
  ACTION_INCIDENT_ROLLBACK,
  ACTION_INCIDENT_RUNBOOK,
  renderIncidentCard,
} from '../../../src/slack/incident-view';

const OPENED = '2026-11-23T10:00:00.000Z';
const OPENED_DATE = '<!date^1795428000^{date_short_pretty} {time}|2026-11-23T10:00:00.000Z>';
const RESOLVED = '2026-11-23T10:42:00.000Z';
const RESOLVED_DATE = '<!date^1795430520^{date_short_pretty} {time}|2026-11-23T10:42:00.000Z>';
const DEPLOYED = '2026-11-23T09:30:00.000Z';
const DEPLOYED_DATE = '<!date^1795426200^{date_short_pretty} {time}|2026-11-23T09:30:00.000Z>';
const RUNBOOK = 'https://runbooks.example.com/api-availability';

function snapshot(overrides: Partial<IncidentSnapshot> = {}): IncidentSnapshot {
  return {
    objective: 99.9,
    period: '30d',
    burnRate: { '3d': 1.2, '1h': 15.234, '5m': 20, '6h': null },
    budgetRemaining: 0.6234,
    alerts: [{ severity: 'page', longWindow: '1h', shortWindow: '5m', factor: 14.4 }],
    runbook: RUNBOOK,
    summary: null,
    changes: [{ deploymentId: 41, version: '1.4.2', status: 'succeeded', by: 'U0BOB001', at: DEPLOYED, rollbackFrom: null }],
    rollback: { from: '1.4.2', to: '1.4.1' },
    evaluatedAt: OPENED,
    ...overrides,
  };
}

function card(overrides: Partial<IncidentCard> = {}, snap: Partial<IncidentSnapshot> = {}): IncidentCard {
  return {
    kind: 'incident',
    incidentId: 7,
    service: 'api',
    environment: 'prod',
    slo: 'availability',
    source: 'slo',
    status: 'firing',
    severity: 'page',
    snapshot: snapshot(snap),
    acknowledgedBy: null,
    rollback: null,
    releasesPausedBy: null,
    openedAt: OPENED,
    resolvedAt: null,
    ...overrides,
  };
}

interface Button {
  type: 'button';
  text: { text: string };
  action_id: string;
  value?: string;
  url?: string;
  style?: string;
  confirm?: { title: { text: string }; text: { text: string }; confirm: { text: string }; deny: { text: string }; style?: string };
}
type Block = { type: string; text?: { text: string }; elements?: ({ text: string } & Partial<Button>)[] };

const render = (c: IncidentCard) => renderIncidentCard(c) as unknown as { text: string; blocks: Block[] };
const types = (c: IncidentCard) => render(c).blocks.map((b) => b.type);
const headline = (c: IncidentCard) => render(c).blocks[0]!.text!.text;
const changes = (c: IncidentCard) => render(c).blocks[1]!.text!.text;
const context = (c: IncidentCard) => render(c).blocks.find((b) => b.type === 'context')!.elements!.map((e) => e.text).join('');
const buttons = (c: IncidentCard) => (render(c).blocks.find((b) => b.type === 'actions')?.elements ?? []) as Button[];
const buttonIds = (c: IncidentCard) => buttons(c).map((b) => b.action_id);

describe('renderIncidentCard', () => {
  it('a firing page: headline, burn rates in window order, budget, deploys, context and every button', () => {
    const c = card();
    expect(types(c)).toEqual(['section', 'section', 'context', 'actions']);
    expect(headline(c)).toBe(
      [
        ':rotating_light: *api*: `availability` is burning error budget (page)',
        'Burn rate: 5m 20× · 1h 15.2× · 6h no data · 3d 1.2×',
        'Objective 99.9% over 30d · error budget 62.3% left',
      ].join('\n'),
    );
    expect(changes(c)).toBe(`Changes in the last 24 hours:\n• deploy \`1.4.2\` succeeded by <@U0BOB001> ${DEPLOYED_DATE}`);
    expect(context(c)).toBe(`Incident #7 · Opened ${OPENED_DATE}`);
    expect(buttonIds(c)).toEqual([ACTION_INCIDENT_ROLLBACK, ACTION_INCIDENT_PAUSE, ACTION_INCIDENT_ACK, ACTION_INCIDENT_RUNBOOK]);
    expect(buttons(c).filter((b) => b.value !== undefined).map((b) => b.value)).toEqual(['7', '7', '7']);
    expect(buttons(c)[3]).toMatchObject({ text: { text: 'Runbook' }, url: RUNBOOK });
    expect(buttons(c)[2]).toMatchObject({ text: { text: 'Acknowledge' }, style: 'primary' });
    expect(buttons(c)[1]).toMatchObject({
      text: { text: 'Pause releases of api' },
      confirm: { title: { text: 'Pause releases?' }, text: { text: 'Lock *api* in prod: new deploys are refused until someone unlocks it.' }, confirm: { text: 'Pause' } },
    });
  });

  it('a firing ticket warns instead of sounding the siren', () => {
    expect(headline(card({ severity: 'ticket' })).split('\n')[0]).toBe(':warning: *api*: `availability` is burning error budget (ticket)');
  });

  it.each<[string, Partial<IncidentSnapshot>, string]>([
    ['used up', { budgetRemaining: 0 }, 'Objective 99.9% over 30d · error budget *exhausted*'],
    ['overspent', { budgetRemaining: -0.4 }, 'Objective 99.9% over 30d · error budget *exhausted*'],
    ['not known', { budgetRemaining: null }, 'Objective 99.9% over 30d · error budget unknown'],
    ['over an unknown period', { period: null }, 'Objective 99.9% over 30d · error budget 62.3% left'],
  ])('a budget %s', (_name, snap, line) => {
    expect(headline(card({}, snap)).split('\n')[2]).toBe(line);
  });

  it('lists rollbacks among the deploys, and says when there were none', () => {
    const rolled = card({}, { changes: [{ deploymentId: 42, version: '1.4.1', status: 'deploying', by: 'U0ALICE1', at: DEPLOYED, rollbackFrom: '1.4.2' }] });
    expect(changes(rolled)).toBe(`Changes in the last 24 hours:\n• deploy \`1.4.1\` deploying (rollback from 1.4.2) by <@U0ALICE1> ${DEPLOYED_DATE}`);
    expect(changes(card({}, { changes: [] }))).toBe('No deploys or flag changes of this service in the last 24 hours.');
  });

  it('lists flag changes after the deploys, escaping what was changed', () => {
    const c = card({}, { flagChanges: [{ changeId: 4, flag: 'new-checkout', what: 'on for <50%> & staff', by: 'U0CAROL1', at: DEPLOYED }] });
    expect(changes(c).split('\n').slice(1)).toEqual([
      `• deploy \`1.4.2\` succeeded by <@U0BOB001> ${DEPLOYED_DATE}`,
      `• flag \`new-checkout\` on for &lt;50%&gt; &amp; staff by <@U0CAROL1> ${DEPLOYED_DATE}`,
    ]);
  });

  describe('the rollback on offer', () => {
    it('names the service and the version it goes back to, and the confirmation names both versions', () => {
      const [rollback] = buttons(card());
      expect(rollback).toMatchObject({
        action_id: ACTION_INCIDENT_ROLLBACK,
        value: '7',
        text: { text: 'Roll back api to 1.4.1' },
        style: 'danger',
        confirm: { title: { text: 'Roll back?' }, text: { text: 'Roll back *api* in prod from *1.4.2* to *1.4.1*?' }, confirm: { text: 'Roll back' }, deny: { text: 'Cancel' }, style: 'danger' },
      });
    });

    it('is not offered without an earlier good version', () => {
      expect(buttonIds(card({}, { rollback: null }))).toEqual([ACTION_INCIDENT_PAUSE, ACTION_INCIDENT_ACK, ACTION_INCIDENT_RUNBOOK]);
    });

    it('is not offered again once a rollback is under way, which the context line follows', () => {
      const c = card({ rollback: { deploymentId: 42, by: 'U0ALICE1', from: '1.4.2', to: '1.4.1', status: 'deploying' } });
      expect(buttonIds(c)).not.toContain(ACTION_INCIDENT_ROLLBACK);
      expect(context(c)).toBe(`Incident #7 · Opened ${OPENED_DATE} · rollback to \`1.4.1\` by <@U0ALICE1>: deploying (deploy #42)`);
    });
  });

  it('acknowledged: says who in the context line and drops the Acknowledge button', () => {
    const c = card({ acknowledgedBy: 'U0ALICE1' });
    expect(context(c)).toBe(`Incident #7 · Opened ${OPENED_DATE} · acknowledged by <@U0ALICE1>`);
    expect(buttonIds(c)).toEqual([ACTION_INCIDENT_ROLLBACK, ACTION_INCIDENT_PAUSE, ACTION_INCIDENT_RUNBOOK]);
  });

  it('releases paused: says who in the context line and drops the Pause button', () => {
    const c = card({ releasesPausedBy: 'U0BOB001', acknowledgedBy: 'U0ALICE1' });
    expect(context(c)).toBe(`Incident #7 · Opened ${OPENED_DATE} · acknowledged by <@U0ALICE1> · releases paused by <@U0BOB001>`);
    expect(buttonIds(c)).toEqual([ACTION_INCIDENT_ROLLBACK, ACTION_INCIDENT_RUNBOOK]);
  });

  it('offers to turn off at most two of the service’s flags that are not known to be off', () => {
    const c = card({}, { flags: [{ key: 'new-checkout', enabled: true }, { key: 'dark-mode', enabled: false }, { key: 'fast-search', enabled: null }, { key: 'beta', enabled: true }] });
    const flagButtons = buttons(c).filter((b) => b.action_id.startsWith(ACTION_INCIDENT_FLAG_OFF));
    expect(flagButtons.map((b) => [b.action_id, b.value, b.text.text])).toEqual([
      [`${ACTION_INCIDENT_FLAG_OFF}:new-checkout`, '7:new-checkout', 'Turn off new-checkout'],
      [`${ACTION_INCIDENT_FLAG_OFF}:fast-search`, '7:fast-search', 'Turn off fast-search'],
    ]);
    expect(flagButtons[0]!.confirm).toMatchObject({ text: { text: 'Turn off *new-checkout* in prod for everyone, now?' }, style: 'danger' });
  });

  describe('resolved', () => {
    const resolved = card({ status: 'resolved', resolvedAt: RESOLVED, acknowledgedBy: 'U0ALICE1' }, { flags: [{ key: 'new-checkout', enabled: true }] });

    it('says so, keeps the story in the context line, and offers only the runbook', () => {
      expect(headline(resolved).split('\n')[0]).toBe(':white_check_mark: *api*: `availability` resolved');
      expect(context(resolved)).toBe(`Incident #7 · Opened ${OPENED_DATE} · acknowledged by <@U0ALICE1> · resolved ${RESOLVED_DATE}`);
      expect(buttons(resolved)).toEqual([expect.objectContaining({ action_id: ACTION_INCIDENT_RUNBOOK, url: RUNBOOK })]);
    });

    it('without a runbook has no buttons at all', () => {
      expect(types({ ...resolved, snapshot: { ...resolved.snapshot, runbook: null } })).toEqual(['section', 'section', 'context']);
    });
  });

  describe('from Alertmanager', () => {
    const alert = card(
      { source: 'alertmanager', slo: 'ApiHighErrorRate', severity: 'ticket' },
      { objective: null, period: null, burnRate: {}, budgetRemaining: null, alerts: [], summary: 'api answers 5% errors', runbook: null, rollback: null },
    );

    it('shows the summary and that burn rates are not known, and no budget line', () => {
      expect(headline(alert)).toBe([':warning: *api*: `ApiHighErrorRate` is burning error budget (ticket)', 'api answers 5% errors', 'Burn rates: not known (alert from Alertmanager)'].join('\n'));
    });

    it('offers pausing and acknowledging; no rollback without a good version, no runbook without one', () => {
      expect(buttonIds(alert)).toEqual([ACTION_INCIDENT_PAUSE, ACTION_INCIDENT_ACK]);
    });

    it('escapes the summary, which Alertmanager rules write: no @channel, no links', () => {
      const loud = { ...alert, snapshot: { ...alert.snapshot, summary: '<!channel> errors > 5% & rising <https://evil.example.com|click>' } };
      expect(headline(loud).split('\n')[1]).toBe('&lt;!channel&gt; errors &gt; 5% &amp; rising &lt;https://evil.example.com|click&gt;');
      expect(JSON.stringify(render(loud).blocks)).not.toContain('<!channel>');
    });
  });

  it.each<[Partial<IncidentCard>, string]>([
    [{}, 'api availability: burning (page)'],
    [{ severity: 'ticket' }, 'api availability: burning (ticket)'],
    [{ status: 'resolved', resolvedAt: RESOLVED }, 'api availability: resolved'],
  ])('the notification text of %j is %s', (overrides, text) => {
    expect(render(card(overrides)).text).toBe(text);
  });
});

describe('Slack size limits', () => {
  it('keeps sections under 3000 characters and buttons under 75, however many changes and however long the names', () => {
    const sha = 'a'.repeat(40);
    const changes = Array.from({ length: 25 }, (_, i) => ({ deploymentId: i + 1, version: `${sha.slice(0, 39)}${i % 10}`, status: 'succeeded', by: 'U0ALICE1', at: '2026-11-23T09:00:00.000Z', rollbackFrom: sha }));
    const rendered = renderIncidentCard(
      card({ service: 'checkout-payments-gateway' }, { changes, summary: 'x'.repeat(5000), rollback: { from: sha, to: `${sha.slice(0, 39)}b` } }),
    );
    const sections = (rendered.blocks as { type: string; text?: { text: string } }[]).filter((b) => b.type === 'section');
    for (const s of sections) expect(s.text!.text.length).toBeLessThanOrEqual(3000);
    expect(JSON.stringify(rendered.blocks)).toContain('…and 15 more');
    const buttons = (rendered.blocks as { type: string; elements?: { text?: { text: string } }[] }[]).flatMap((b) => (b.type === 'actions' ? b.elements ?? [] : []));
    for (const b of buttons) expect(b.text!.text.length).toBeLessThanOrEqual(75);
  });
});
