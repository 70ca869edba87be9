import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Playground, startPlayground } from '../../src/playground/playground';
import { createLogger } from '../../src/telemetry/logger';

/**
 * The playground's own API, as its page uses it: everything goes through the real Bolt app with
 * signed requests and comes back through the Slack Web API emulator.
 */

type Message = { ts: string; text: string; blocks?: { type: string; elements?: { action_id?: string; value?: string }[] }[]; thread_ts?: string; files?: { url: string }[] };
type State = { messages: Record<string, Message[]>; ephemerals: { text: string }[]; home: { view: { blocks: unknown[] } } | null; modal: { id: string; view: { callback_id: string } } | null };

describe('the playground', () => {
  let playground: Playground;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shipmate-playground-'));
    playground = await startPlayground({ port: 0, dataDir: dir, deployDelayMs: 50, analysisIntervalMs: 1000, page: '<!doctype html><title>playground</title>', log: createLogger({ level: 'silent' }) });
  });
  afterAll(async () => {
    await playground.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const api = async (path: string, body: unknown) => (await fetch(`${playground.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json() as Promise<Record<string, unknown>>;
  const state = async (user = 'U0ALICE') => (await (await fetch(`${playground.url}/api/state?user=${user}`)).json()) as State;
  /** Polls the state, as the page does, until `check` passes. */
  async function until(check: (s: State) => boolean, user = 'U0ALICE', timeoutMs = 15_000): Promise<State> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await state(user);
      if (check(s)) return s;
      if (Date.now() > deadline) throw new Error(`timed out; last state: ${JSON.stringify(s).slice(0, 2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const card = (s: State, channel: string, text: string) => s.messages[channel]?.find((m) => !m.thread_ts && String(m.text).includes(text));
  const button = (m: Message | undefined, actionId: string) => m?.blocks?.flatMap((b) => b.elements ?? []).find((e) => e.action_id === actionId);

  it('serves the page and the demo metrics', async () => {
    expect(await (await fetch(playground.url)).text()).toContain('<title>playground</title>');
    expect(await (await fetch(`${playground.url}/api/metrics/error-rate?service=web&version=1.0.0-bad`)).json()).toEqual({ value: 0.09 });
  });

  it('deploys to staging from a slash command and shows the answer only to the person who typed it', async () => {
    expect(await api('/api/command', { user: 'U0ALICE', channel: 'C0DEPLOYS', text: '/deploy api@1.0.0 to staging' })).toEqual({ ok: true });
    const s = await until((x) => card(x, 'C0DEPLOYS', 'api 1.0.0 → staging: Succeeded') !== undefined);
    expect(s.ephemerals.some((e) => String(e.text).includes('(deploy #1)'))).toBe(true);
    expect((await state('U0BOBBY')).ephemerals).toEqual([]);
  });

  it('deploys to prod after bob approves, as a canary, and on-call rolls back from a simulated incident', async () => {
    await api('/api/command', { user: 'U0ALICE', channel: 'C0DEPLOYS', text: '/deploy web@1.0.0 to prod' });
    let s = await until((x) => button(card(x, 'C0DEPLOYS', 'web 1.0.0 → prod'), 'deploy_approve') !== undefined);
    const first = card(s, 'C0DEPLOYS', 'web 1.0.0 → prod')!;
    await api('/api/action', { user: 'U0BOBBY', channel: 'C0DEPLOYS', ts: first.ts, actionId: 'deploy_approve', value: button(first, 'deploy_approve')!.value });
    await until((x) => card(x, 'C0DEPLOYS', 'web 1.0.0 → prod: Succeeded') !== undefined);

    // The second version runs as a canary against the demo metrics and is promoted step by step.
    await api('/api/command', { user: 'U0ALICE', channel: 'C0DEPLOYS', text: '/deploy web@1.1.0 to prod' });
    s = await until((x) => button(card(x, 'C0DEPLOYS', 'web 1.1.0 → prod'), 'deploy_approve') !== undefined);
    const second = card(s, 'C0DEPLOYS', 'web 1.1.0 → prod')!;
    await api('/api/action', { user: 'U0BOBBY', channel: 'C0DEPLOYS', ts: second.ts, actionId: 'deploy_approve', value: button(second, 'deploy_approve')!.value });
    await until((x) => card(x, 'C0DEPLOYS', 'web 1.1.0 → prod: Succeeded') !== undefined, 'U0ALICE', 60_000);
    // The chart comes after the last thread reply.
    s = await until((x) => x.messages.C0DEPLOYS!.some((m) => m.thread_ts === second.ts && (m.files?.length ?? 0) > 0));
    const thread = s.messages.C0DEPLOYS!.filter((m) => m.thread_ts === second.ts);
    expect(thread.some((m) => String(m.text).startsWith('Analysis health, measurement 1'))).toBe(true);
    const png = await fetch(`${playground.url}${thread.find((m) => m.files?.length)!.files![0]!.url}`);
    expect(png.headers.get('content-type')).toBe('image/png');

    // A simulated burn-rate alert; carol rolls back from it.
    expect(await api('/api/incident', { service: 'web' })).toEqual({ ok: true });
    s = await until((x) => button(card(x, 'C0INCIDENTS', 'web availability'), 'incident_rollback') !== undefined, 'U0CAROL');
    const incident = card(s, 'C0INCIDENTS', 'web availability')!;
    await api('/api/action', { user: 'U0CAROL', channel: 'C0INCIDENTS', ts: incident.ts, actionId: 'incident_rollback', value: button(incident, 'incident_rollback')!.value });
    s = await until((x) => (x.messages.C0INCIDENTS ?? []).some((m) => m.thread_ts === incident.ts && String(m.text).startsWith('Rollback done: web runs 1.0.0')), 'U0CAROL', 30_000);
    expect(card(s, 'C0DEPLOYS', 'web 1.0.0 → prod: Succeeded')).toBeDefined();
  }, 120_000);

  it('shows App Home, opens a modal from a button, and toggles a flag', async () => {
    const s = await until((x) => x.home !== null);
    expect(JSON.stringify(s.home!.view.blocks)).toContain('In progress');
    await api('/api/command', { user: 'U0ALICE', channel: 'C0FLAGS', text: '/flag create new-checkout' });
    await api('/api/command', { user: 'U0ALICE', channel: 'C0FLAGS', text: '/flag new-checkout on staging' });
    await until((x) => card(x, 'C0FLAGS', 'Flag new-checkout in staging: turn on, applied') !== undefined);
    await api('/api/command', { user: 'U0ALICE', channel: 'C0DEPLOYS', text: '/release' });
    const withModal = await until((x) => x.modal !== null);
    expect(withModal.modal!.view.callback_id).toBe('release_form');
    await api('/api/modal/close', { user: 'U0ALICE' });
    expect((await state()).modal).toBeNull();
  });
});
