import {
  PAGE_APP_JS,
  PAGE_HELPERS_JS,
  PAGE_HTML,
  blocksToHtml,
  confirmHtml,
  formatSlackDate,
  messageToHtml,
  mrkdwnToHtml,
  safeUrl,
  splitThreads,
} from '../../../src/playground/page';

const USERS = { U1: 'alice', U2: 'bob smith' };
// 1795428000 is 2026-11-23T10:00:00Z; dates render in the reader's zone, fixed to UTC here.
const NOON_BEFORE = Date.UTC(2026, 10, 22, 12);
const OPTIONS = { locale: 'en-US', timeZone: 'UTC', now: Date.UTC(2026, 0, 1), channels: { C2: 'ops' } };
// Intl may put narrow no-break spaces in times; compare them as spaces.
const md = (text: string) => mrkdwnToHtml(text, USERS, OPTIONS).replace(/[^\S\n]/g, ' ');

/** The one inline script of the page, between its tags. */
const pageScript = () => PAGE_HTML.slice(PAGE_HTML.indexOf('<script>') + '<script>'.length, PAGE_HTML.lastIndexOf('</script>'));

describe('mrkdwnToHtml', () => {
  it.each([
    ['*bold*', '<b>bold</b>'],
    ['_italic_', '<i>italic</i>'],
    ['~strike~', '<s>strike</s>'],
    ['a *b* _c_ ~d~ e', 'a <b>b</b> <i>c</i> <s>d</s> e'],
    ['*_both_*', '<b><i>both</i></b>'],
    ['snake_case_name and 2*3*4', 'snake_case_name and 2*3*4'],
    ['`api@1.0.1`', '<code>api@1.0.1</code>'],
    ['`*not bold*`', '<code>*not bold*</code>'],
    ['```\nline 1\n  *line* 2\n```', '<pre class="pre">line 1\n  *line* 2</pre>'],
    ['<@U1> and <@U2>', '<span class="mention" data-user="U1">@alice</span> and <span class="mention" data-user="U2">@bob smith</span>'],
    ['<@U9>', '<span class="mention" data-user="U9">@U9</span>'],
    ['<#C1|deploys>', '<span class="channel-link" data-channel-link="C1">#deploys</span>'],
    ['<#C2>', '<span class="channel-link" data-channel-link="C2">#ops</span>'],
    ['<!here>', '<span class="mention broadcast">@here</span>'],
    ['<https://ci.example.com/run?id=1&amp;x=2|the *run*>', '<a href="https://ci.example.com/run?id=1&amp;x=2" target="_blank" rel="noopener noreferrer">the <b>run</b></a>'],
    ['<https://example.com>', '<a href="https://example.com" target="_blank" rel="noopener noreferrer">https://example.com</a>'],
    ['a &lt; b &gt; c &amp; d', 'a &lt; b &gt; c &amp; d'],
    ['&amp;lt;', '&amp;lt;'],
    ['R&D', 'R&amp;D'],
    ['line 1\nline 2', 'line 1<br>line 2'],
    ['&gt; quoted\nnot', '<blockquote>quoted</blockquote>not'],
    [':white_check_mark: done', '<span class="emoji" title=":white_check_mark:">✅</span> done'],
    [':not_an_emoji: at 10:30:45', ':not_an_emoji: at 10:30:45'],
    [':nope::rocket:', ':nope:<span class="emoji" title=":rocket:">🚀</span>'],
  ])('%j', (text, html) => {
    expect(md(text)).toBe(html);
  });

  it.each([
    ['white_check_mark', '✅'], ['x', '❌'], ['rotating_light', '🚨'], ['warning', '⚠️'], ['hourglass', '⏳'], ['rewind', '⏪'],
    ['hatching_chick', '🐣'], ['gear', '⚙️'], ['calendar', '📅'], ['no_entry', '⛔'], ['zzz', '💤'], ['triangular_flag_on_post', '🚩'],
    ['large_green_circle', '🟢'], ['white_circle', '⚪'], ['double_vertical_bar', '⏸️'], ['hourglass_flowing_sand', '⏳'], ['rocket', '🚀'],
  ])(':%s: is %s', (name, emoji) => {
    expect(md(`:${name}:`)).toContain(`>${emoji}</span>`);
  });

  it('renders a date in the reader’s locale and zone, with the fallback as its title', () => {
    expect(md('at <!date^1795428000^{date_short_pretty} {time}|2026-11-23 10:00 UTC>')).toBe(
      'at <time class="date" datetime="2026-11-23T10:00:00.000Z" title="2026-11-23 10:00 UTC">Nov 23, 2026 10:00 AM</time>',
    );
    expect(mrkdwnToHtml('<!date^1795428000^{time}|x>', USERS, { ...OPTIONS, timeZone: 'Europe/Berlin' }).replace(/\s/g, ' ')).toContain('>11:00 AM</time>');
    expect(mrkdwnToHtml('<!date^1795428000^{date}|x>', USERS, { ...OPTIONS, locale: 'de-DE' })).toContain('>23. November 2026</time>');
  });

  it('shows a date that is not one as its fallback', () => {
    expect(md('<!date^soon^{date}|some day>')).toBe('some day');
  });

  it.each([
    ['<script>alert(1)</script>', '&lt;script&gt;alert(1)&lt;/script&gt;'],
    ['<img src=x onerror=alert(1)>', '&lt;img src=x onerror=alert(1)&gt;'],
    ['&lt;img src=x onerror=alert(1)&gt;', '&lt;img src=x onerror=alert(1)&gt;'],
    ['<javascript:alert(1)|click>', '&lt;javascript:alert(1)|click&gt;'],
    ['<https://x.io|<img src=x onerror=alert(1)>>', '&lt;https://x.io|&lt;img src=x onerror=alert(1)&gt;&gt;'],
    ['<https://x.io/"onmouseover="alert(1)|x>', '<a href="https://x.io/&quot;onmouseover=&quot;alert(1)" target="_blank" rel="noopener noreferrer">x</a>'],
    ['`<b>code</b>`', '<code>&lt;b&gt;code&lt;/b&gt;</code>'],
    ['*<b>bold</b>*', '<b>&lt;b&gt;bold&lt;/b&gt;</b>'],
    ['\uE0000\uE001', '0'],
  ])('escapes %j', (text, html) => {
    expect(md(text)).toBe(html);
  });

  it('escapes user and channel names it is given', () => {
    expect(mrkdwnToHtml('<@U1> <#C1>', { U1: '<b>eve</b>' }, { channels: { C1: '"><script>' } })).toBe(
      '<span class="mention" data-user="U1">@&lt;b&gt;eve&lt;/b&gt;</span> <span class="channel-link" data-channel-link="C1">#&quot;&gt;&lt;script&gt;</span>',
    );
  });
});

describe('formatSlackDate', () => {
  const fill = (format: string, now = OPTIONS.now) => formatSlackDate(1795428000, format, { ...OPTIONS, now })?.replace(/\s/g, ' ');

  it.each([
    ['{date_num}', '2026-11-23'],
    ['{date}', 'November 23, 2026'],
    ['{date_short}', 'Nov 23, 2026'],
    ['{date_long}', 'Monday, November 23, 2026'],
    ['{time}', '10:00 AM'],
    ['{time_secs}', '10:00:00 AM'],
    ['{date_pretty} at {time}', 'November 23, 2026 at 10:00 AM'],
    ['{unknown}', '{unknown}'],
  ])('%s', (format, text) => {
    expect(fill(format)).toBe(text);
  });

  it('says today, tomorrow and yesterday in the pretty formats', () => {
    expect(fill('{date_short_pretty}', Date.UTC(2026, 10, 23, 23))).toBe('today');
    expect(fill('{date_long_pretty}', NOON_BEFORE)).toBe('tomorrow');
    expect(fill('{date_pretty}', Date.UTC(2026, 10, 24, 1))).toBe('yesterday');
    expect(fill('{ago}', 1795428000_000 + 3 * 60_000)).toBe('3 minutes ago');
  });

  it('answers null for a timestamp that is not a number', () => {
    expect(formatSlackDate('soon', '{date}')).toBeNull();
  });
});

describe('blocksToHtml', () => {
  const ctx = { users: USERS, ...OPTIONS };

  it('renders sections with text, fields and a button accessory', () => {
    const html = blocksToHtml(
      [
        {
          type: 'section',
          block_id: 'head',
          text: { type: 'mrkdwn', text: '*api* `1.0.1`' },
          fields: [{ type: 'mrkdwn', text: '*Env*\nprod' }, { type: 'plain_text', text: '*not bold* <i>' }],
          accessory: { type: 'button', action_id: 'open', text: { type: 'plain_text', text: 'Open' }, value: 'v"1' },
        },
      ],
      ctx,
    );
    expect(html).toContain('data-block-id="head"');
    expect(html).toContain('<div class="section-text"><b>api</b> <code>1.0.1</code></div>');
    expect(html).toContain('<div class="field"><b>Env</b><br>prod</div><div class="field">*not bold* &lt;i&gt;</div>');
    expect(html).toContain('data-testid="button-open" data-action="button" data-action-id="open" data-block-id="head" data-value="v&quot;1">Open</button>');
  });

  it('renders action buttons with their styles, URLs and confirm dialogs, and selects with their options', () => {
    const confirm = { title: { type: 'plain_text', text: 'Roll back?' }, text: { type: 'mrkdwn', text: 'Roll back *api*?' }, confirm: { type: 'plain_text', text: 'Roll back' }, deny: { type: 'plain_text', text: 'Cancel' }, style: 'danger' };
    const html = blocksToHtml(
      [
        {
          type: 'actions',
          block_id: 'acts',
          elements: [
            { type: 'button', action_id: 'deploy_approve', text: { type: 'plain_text', text: 'Approve' }, value: '7', style: 'primary' },
            { type: 'button', action_id: 'deploy_rollback', text: { type: 'plain_text', text: 'Roll back' }, value: '7', style: 'danger', confirm },
            { type: 'button', action_id: 'logs', text: { type: 'plain_text', text: 'Logs' }, url: 'https://ci.example.com/7' },
            { type: 'button', action_id: 'evil', text: { type: 'plain_text', text: 'Evil' }, url: 'javascript:alert(1)' },
            { type: 'static_select', action_id: 'env', placeholder: { type: 'plain_text', text: 'Pick' }, options: [{ text: { type: 'plain_text', text: 'Prod' }, value: 'prod' }, { text: { type: 'plain_text', text: '<b>' }, value: 'x' }] },
          ],
        },
      ],
      ctx,
    );
    expect(html).toContain('<button type="button" class="btn primary" data-testid="button-deploy_approve"');
    expect(html).toContain('<button type="button" class="btn danger" data-testid="button-deploy_rollback"');
    expect(html).toContain(`data-confirm="${JSON.stringify(confirm).replace(/"/g, '&quot;')}"`);
    expect(html).toMatch(/data-testid="button-logs"[^>]*data-url="https:\/\/ci\.example\.com\/7"/);
    expect(html).not.toContain('javascript:');
    expect(html).toContain('<select class="select" data-testid="select-env" data-action="select" data-action-id="env" data-block-id="acts">');
    expect(html).toContain('<option value="" selected disabled>Pick</option><option value="prod">Prod</option><option value="x">&lt;b&gt;</option>');
  });

  it('renders header, divider, context (text and image) and image blocks, and only safe image URLs', () => {
    const html = blocksToHtml(
      [
        { type: 'header', text: { type: 'plain_text', text: 'Releases :rocket:' } },
        { type: 'divider' },
        { type: 'context', elements: [{ type: 'image', image_url: 'https://img.example.com/a.png', alt_text: 'a' }, { type: 'mrkdwn', text: 'by <@U1>' }] },
        { type: 'image', image_url: '/files/F1', alt_text: 'chart', title: { type: 'plain_text', text: 'Canary' } },
        { type: 'image', image_url: 'javascript:alert(1)', alt_text: 'bad' },
      ],
      ctx,
    );
    expect(html).toContain('<h3>Releases <span class="emoji" title=":rocket:">🚀</span></h3>');
    expect(html).toContain('<hr class="blk divider" data-block-id="block-1">');
    expect(html).toContain('<img class="context-img" src="https://img.example.com/a.png" alt="a" loading="lazy"><span class="context-text">by <span class="mention" data-user="U1">@alice</span></span>');
    expect(html).toContain('<div class="image-title">Canary</div><img class="block-img" src="/files/F1" alt="chart" loading="lazy">');
    expect(html).toContain('<span class="block-img broken">bad</span>');
    expect(html).not.toContain('javascript:');
  });

  it('renders input blocks with labels, their inputs and the errors for them', () => {
    const html = blocksToHtml(
      [
        { type: 'input', block_id: 'reason', label: { type: 'plain_text', text: 'Why?' }, element: { type: 'plain_text_input', action_id: 'reason', multiline: true, initial_value: '</textarea><script>' } },
        { type: 'input', block_id: 'ticket', optional: true, label: { type: 'plain_text', text: 'Ticket' }, element: { type: 'plain_text_input', action_id: 't', placeholder: { type: 'plain_text', text: 'OPS-1' } } },
        { type: 'input', block_id: 'env', label: { type: 'plain_text', text: 'Env' }, element: { type: 'static_select', action_id: 'e', initial_option: { text: { type: 'plain_text', text: 'Prod' }, value: 'prod' }, options: [{ text: { type: 'plain_text', text: 'Stage' }, value: 'stage' }, { text: { type: 'plain_text', text: 'Prod' }, value: 'prod' }] } },
      ],
      { ...ctx, errors: { reason: 'Say <why>' } },
    );
    expect(html).toContain('<div class="blk input-block has-error" data-block-id="reason"><label class="input-label">Why?</label>');
    expect(html).toContain('<textarea class="text-input" data-input="text" data-testid="input-reason" data-action-id="reason" data-block-id="reason" rows="4">&lt;/textarea&gt;&lt;script&gt;</textarea>');
    expect(html).toContain('<div class="input-error" data-testid="error-reason" data-error-for="reason">Say &lt;why&gt;</div>');
    expect(html).toContain('Ticket <span class="optional">(optional)</span></label><input type="text" class="text-input" data-input="text" data-testid="input-t" data-action-id="t" data-block-id="ticket" placeholder="OPS-1">');
    expect(html).toContain('data-testid="input-e" data-input="select" data-action-id="e" data-block-id="env">');
    expect(html).toContain('<option value="prod" selected>Prod</option>');
  });
});

describe('confirmHtml', () => {
  it('shows the dialog’s title, text, confirm and deny, confirm styled as asked', () => {
    const html = confirmHtml(
      { title: { type: 'plain_text', text: 'Roll back?' }, text: { type: 'mrkdwn', text: 'From *1.0.1* to *1.0.0*?' }, confirm: { type: 'plain_text', text: 'Roll back' }, deny: { type: 'plain_text', text: 'Keep' }, style: 'danger' },
      { users: USERS },
    );
    expect(html).toContain('<h2 class="dialog-title">Roll back?</h2><div class="dialog-text">From <b>1.0.1</b> to <b>1.0.0</b>?</div>');
    expect(html).toContain('data-testid="confirm-no" data-confirm-answer="no">Keep</button>');
    expect(html).toContain('<button type="button" class="btn danger" data-testid="confirm-yes" data-confirm-answer="yes">Roll back</button>');
  });
});

describe('messageToHtml', () => {
  const ctx = { users: USERS, channel: 'C1', ...OPTIONS };

  it('names Shipmate for its own messages and the person for theirs, with a time and the text as mrkdwn', () => {
    const bot = messageToHtml({ ts: '1795428000.000100', text: 'hi <script>' }, ctx).replace(/\s/g, ' ');
    expect(bot).toContain('data-testid="message-1795428000.000100" data-container="message" data-ts="1795428000.000100" data-channel="C1"');
    expect(bot).toContain('<span class="author">Shipmate</span><span class="app-badge">APP</span>');
    expect(bot).toContain('>10:00 AM</span>');
    expect(bot).toContain('<div class="msg-text">hi &lt;script&gt;</div>');
    const person = messageToHtml({ ts: '1795428001.000100', text: 'hello', user: 'U2' }, ctx);
    expect(person).toContain('<span class="author">bob smith</span>');
    expect(person).toContain('>BS</div>');
    expect(person).not.toContain('APP');
  });

  it('shows blocks instead of the text, files as images, and a replies link', () => {
    const html = messageToHtml(
      { ts: '1795428000.000100', text: 'fallback', blocks: [{ type: 'divider' }], files: [{ id: 'F1', title: 'Canary <chart>', url: '/files/F1' }] },
      { ...ctx, replies: [{ ts: '1795428005.000100' }, { ts: '1795428009.000100' }] },
    );
    expect(html).not.toContain('fallback');
    expect(html).toContain('<hr class="blk divider"');
    expect(html).toContain('<figure class="file" data-testid="file-F1"><figcaption>Canary &lt;chart&gt;</figcaption><a href="/files/F1"');
    expect(html).toContain('<img src="/files/F1" alt="Canary &lt;chart&gt;">');
    expect(html).toContain('data-open-thread="1795428000.000100" data-testid="replies-1795428000.000100">2 replies</button>');
  });

  it('marks an ephemeral message as only visible to you, from Shipmate, with its own test ID', () => {
    const html = messageToHtml({ ts: '1795428000.000200', text: 'Nope', channel: 'C3', user: 'U1' }, { ...ctx, ephemeral: true });
    expect(html).toContain('data-testid="ephemeral-1795428000.000200"');
    expect(html).toContain('data-channel="C3"');
    expect(html).toContain('Only visible to you');
    expect(html).toContain('<span class="author">Shipmate</span>');
  });
});

describe('splitThreads and safeUrl', () => {
  it('keeps top-level messages apart from each thread’s replies, oldest first', () => {
    const messages = [{ ts: '1' }, { ts: '2', thread_ts: '1' }, { ts: '3', thread_ts: '3' }, { ts: '4', thread_ts: '1' }];
    expect(splitThreads(messages)).toEqual({ top: [{ ts: '1' }, { ts: '3', thread_ts: '3' }], replies: { '1': [{ ts: '2', thread_ts: '1' }, { ts: '4', thread_ts: '1' }] } });
  });

  it.each([
    ['https://x.io/a', false, 'https://x.io/a'],
    ['mailto:a@b.c', false, 'mailto:a@b.c'],
    ['/files/F1', true, '/files/F1'],
    ['//evil.example.com/x', true, null],
    ['javascript:alert(1)', false, null],
    [' JavaScript:alert(1)', false, null],
    ['data:text/html,<script>', true, null],
    ['data:image/png;base64,iVBORw0KGgo=', true, 'data:image/png;base64,iVBORw0KGgo='],
    ['mailto:a@b.c', true, null],
  ])('%j (image: %s) -> %j', (url, forImage, safe) => {
    expect(safeUrl(url, forImage)).toBe(safe);
  });
});

describe('PAGE_HTML', () => {
  it('is one complete document with its styles and script inline', () => {
    expect(PAGE_HTML.startsWith('<!doctype html>')).toBe(true);
    expect(PAGE_HTML).toContain('<meta charset="utf-8">');
    expect(PAGE_HTML).toContain('<title>Shipmate playground</title>');
    expect(PAGE_HTML.trim().endsWith('</html>')).toBe(true);
    expect(PAGE_HTML.match(/<script>/g)).toHaveLength(1);
    expect(PAGE_HTML.match(/<\/script>/g)).toHaveLength(1);
    expect(pageScript()).toContain(PAGE_HELPERS_JS);
    expect(pageScript()).toContain(PAGE_APP_JS);
    expect(pageScript()).not.toContain('<!--');
  });

  it('has a script that parses', () => {
    expect(() => new Function(pageScript())).not.toThrow();
  });

  it('loads nothing from another origin', () => {
    const markup = PAGE_HTML.replace(pageScript(), '');
    expect(markup).not.toMatch(/<(script|link|img|iframe)[^>]+(src|href)="(https?:)?\/\//i);
    expect(markup).not.toMatch(/@import|url\(/i);
    expect(PAGE_HTML).not.toMatch(/<script[^>]+src=/i);
  });

  it('talks to the playground API and polls it every 700 ms', () => {
    for (const path of ['/api/state?user=', '/api/command', '/api/action', '/api/view', '/api/modal/close', '/api/message', '/api/incident']) {
      expect(PAGE_APP_JS).toContain(`'${path}'`);
    }
    expect(PAGE_APP_JS).toContain('POLL_MS = 700');
  });

  it.each([
    'composer-input', 'composer-send', 'thread', 'thread-input', 'thread-send', 'simulate-incident', 'incident-service',
    'app-home', 'app-home-link', 'user-picker', 'toast',
  ])('has the test hook %s', (id) => {
    expect(PAGE_HTML).toContain(`data-testid="${id}"`);
  });

  it.each(['modal', 'modal-submit', 'modal-close', 'confirm-yes', 'confirm-no', 'channel-', 'unread-', 'replies-', 'message-', 'ephemeral-', 'button-', 'select-'])(
    'builds elements with the test hook %s',
    (id) => {
      expect(pageScript()).toMatch(new RegExp(`data-testid="${id}|'${id}`));
    },
  );

  it('shows the workspace name, the App Home entry and "Only visible to you"', () => {
    expect(PAGE_HTML).toContain('<div class="workspace">Shipmate playground</div>');
    expect(PAGE_HTML).toContain('App Home</button>');
    expect(PAGE_HTML).toContain('Only visible to you');
  });
});
