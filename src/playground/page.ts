/**
 * The playground's single web page: a Slack-like workspace (channels, threads, ephemerals, modals,
 * App Home) drawn from the playground server's JSON API, with no build step and no network
 * resources. The Block Kit and mrkdwn renderers are plain browser JavaScript kept in one string,
 * so the page inlines exactly the code the tests evaluate.
 */

/** Options for mrkdwn: channel names for `<#C123>`, and the locale, zone and clock for dates. */
export interface MrkdwnOptions {
  channels?: Record<string, string>;
  /** BCP 47 locale; the browser's when absent. */
  locale?: string;
  /** IANA time zone; the browser's when absent. */
  timeZone?: string;
  /** Milliseconds since the epoch that "today" and "ago" are counted from. */
  now?: number;
}

/** What the block and message renderers need beyond the blocks themselves. */
export interface RenderContext extends MrkdwnOptions {
  /** Display names by user ID. */
  users?: Record<string, string>;
  /** Validation errors by block ID, shown under their input blocks. */
  errors?: Record<string, string>;
  /** The channel a message belongs to, put on its element for actions. */
  channel?: string;
  /** An ephemeral message: "Only visible to you", and a dismiss link. */
  ephemeral?: boolean;
  /** Replies to a top-level message, for its "N replies" link. */
  replies?: readonly { ts: string }[];
  /** The prefix of the message element's test ID; `message-` unless set. */
  testidPrefix?: string;
}

/** A message as `GET /api/state` lists it. */
export interface PlaygroundMessage {
  ts: string;
  text?: unknown;
  blocks?: unknown;
  thread_ts?: string;
  user?: string;
  channel?: string;
  files?: { id: string; title?: string; url?: string }[];
}

// Written as ES2017 browser code without template literals (backticks are \x60), since it lives in
// a raw template. Everything it emits is escaped here: message text never reaches the DOM as HTML.
export const PAGE_HELPERS_JS = String.raw`
var EMOJI = {
  white_check_mark: '✅', x: '❌', rotating_light: '🚨', warning: '⚠️', hourglass: '⏳',
  hourglass_flowing_sand: '⏳', rewind: '⏪', hatching_chick: '🐣', gear: '⚙️', calendar: '📅',
  no_entry: '⛔', no_entry_sign: '🚫', zzz: '💤', triangular_flag_on_post: '🚩', large_green_circle: '🟢',
  white_circle: '⚪', red_circle: '🔴', large_yellow_circle: '🟡', double_vertical_bar: '⏸️', rocket: '🚀',
  lock: '🔒', unlock: '🔓', snowflake: '❄️', raised_hand: '✋', octagonal_sign: '🛑', memo: '📝', tada: '🎉',
  fire: '🔥', eyes: '👀', bell: '🔔', package: '📦', ship: '🚢', information_source: 'ℹ️',
  heavy_check_mark: '✔️', arrow_right: '➡️', chart_with_upwards_trend: '📈', chart_with_downwards_trend: '📉',
  thumbsup: '👍', '+1': '👍', thumbsdown: '👎', '-1': '👎'
};

function escapeHtml(value) {
  return String(value == null ? '' : value).replace(/[&<>"']/g, function (c) {
    return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
  });
}

/** Slack escapes only these three in message text (https://api.slack.com/reference/surfaces/formatting#escaping). */
function decodeEntities(text) {
  return String(text).replace(/&(lt|gt|amp);/g, function (m, name) { return { lt: '<', gt: '>', amp: '&' }[name]; });
}

/** A URL safe for href or src: http(s), mailto for links, same-origin paths, inline images. */
function safeUrl(url, forImage) {
  var u = String(url == null ? '' : url).trim();
  if (/^https?:\/\//i.test(u)) return u;
  if (/^\/(?![\/\\])/.test(u)) return u;
  if (!forImage && /^mailto:/i.test(u)) return u;
  if (forImage && /^data:image\/(png|gif|jpeg|webp);base64,[a-z0-9+\/=]+$/i.test(u)) return u;
  return null;
}

function emojify(html, wrap) {
  var re = /:([a-z0-9_+\-]+):/g, out = '', last = 0, m;
  while ((m = re.exec(html))) {
    if (Object.prototype.hasOwnProperty.call(EMOJI, m[1])) {
      out += html.slice(last, m.index) + wrap('<span class="emoji" title=":' + m[1] + ':">' + EMOJI[m[1]] + '</span>');
      last = re.lastIndex;
    } else {
      re.lastIndex = m.index + m[0].length - 1; // the closing colon may open the next name
    }
  }
  return out + html.slice(last);
}

/** *bold*, _italic_ and ~strike~ on escaped text, only where Slack sees them: at word edges. */
function emphasize(html) {
  return html
    .replace(/(^|[^A-Za-z0-9*])\*(?=[^\s*])([^*\n]*?[^\s*])\*(?![A-Za-z0-9*])/gm, '$1<b>$2</b>')
    .replace(/(^|[^A-Za-z0-9_])_(?=[^\s_])([^_\n]*?[^\s_])_(?![A-Za-z0-9_])/gm, '$1<i>$2</i>')
    .replace(/(^|[^A-Za-z0-9~])~(?=[^\s~])([^~\n]*?[^\s~])~(?![A-Za-z0-9~])/gm, '$1<s>$2</s>');
}

function plainTextToHtml(text, emoji) {
  var html = escapeHtml(text);
  if (emoji !== false) html = emojify(html, function (h) { return h; });
  return html.replace(/\n/g, '<br>');
}

function dayOf(date, timeZone) {
  var p = {};
  new Intl.DateTimeFormat('en-US', { timeZone: timeZone, year: 'numeric', month: 'numeric', day: 'numeric' })
    .formatToParts(date).forEach(function (x) { p[x.type] = x.value; });
  return { y: +p.year, m: +p.month, d: +p.day, n: Date.UTC(+p.year, +p.month - 1, +p.day) / 86400000 };
}

/** Fills a <!date> token string (https://api.slack.com/reference/surfaces/formatting#date-formatting). */
function formatSlackDate(seconds, format, options) {
  var o = options || {};
  var date = new Date(Number(seconds) * 1000);
  if (String(seconds).trim() === '' || isNaN(date.getTime())) return null;
  var now = new Date(o.now == null ? Date.now() : o.now);
  var loc = o.locale, tz = o.timeZone;
  function fmt(opts) { opts.timeZone = tz; return new Intl.DateTimeFormat(loc, opts).format(date); }
  function pad(n) { return (n < 10 ? '0' : '') + n; }
  var day = dayOf(date, tz), today = dayOf(now, tz), diff = day.n - today.n;
  var relative = diff >= -1 && diff <= 1 ? new Intl.RelativeTimeFormat(loc, { numeric: 'auto' }).format(diff, 'day') : null;
  var tokens = {
    date_num: day.y + '-' + pad(day.m) + '-' + pad(day.d),
    date_slash: fmt({ year: 'numeric', month: '2-digit', day: '2-digit' }),
    date: fmt({ year: 'numeric', month: 'long', day: 'numeric' }),
    date_short: fmt({ year: 'numeric', month: 'short', day: 'numeric' }),
    date_long: fmt({ weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' }),
    date_long_full: fmt({ year: 'numeric', month: 'long', day: 'numeric' }),
    time: fmt({ hour: 'numeric', minute: '2-digit' }),
    time_secs: fmt({ hour: 'numeric', minute: '2-digit', second: '2-digit' })
  };
  tokens.date_pretty = relative || tokens.date;
  tokens.date_short_pretty = relative || tokens.date_short;
  tokens.date_long_pretty = relative || tokens.date_long;
  tokens.day_divider_pretty = relative || (day.y === today.y ? fmt({ weekday: 'long', month: 'long', day: 'numeric' }) : tokens.date_long);
  var secs = (date.getTime() - now.getTime()) / 1000, abs = Math.abs(secs);
  var unit = abs < 60 ? ['second', 1] : abs < 3600 ? ['minute', 60] : abs < 86400 ? ['hour', 3600] : abs < 2592000 ? ['day', 86400] : abs < 31536000 ? ['month', 2592000] : ['year', 31536000];
  tokens.ago = new Intl.RelativeTimeFormat(loc, { numeric: 'auto' }).format(Math.round(secs / unit[1]), unit[0]);
  return String(format).replace(/\{(\w+)\}/g, function (m, name) {
    return Object.prototype.hasOwnProperty.call(tokens, name) ? tokens[name] : m;
  });
}

function linkHtml(url, inner) {
  return '<a href="' + escapeHtml(url) + '" target="_blank" rel="noopener noreferrer">' + inner + '</a>';
}

/** <@U1>, <#C1|name>, <!here>, <!date^…>, <https://x|label>; null for anything else, which stays text. */
function controlToHtml(inner, users, o, keep) {
  var bar = inner.indexOf('|');
  var target = bar < 0 ? inner : inner.slice(0, bar);
  var label = bar < 0 ? null : decodeEntities(inner.slice(bar + 1));
  var labelHtml = function () { return emphasize(emojify(escapeHtml(label), keep)); };
  if (target.charAt(0) === '@') {
    var uid = target.slice(1);
    var name = users[uid] || (label ? label.replace(/^@/, '') : uid);
    return '<span class="mention" data-user="' + escapeHtml(uid) + '">@' + escapeHtml(name) + '</span>';
  }
  if (target.charAt(0) === '#') {
    var cid = target.slice(1);
    var cname = label || (o.channels || {})[cid] || cid;
    return '<span class="channel-link" data-channel-link="' + escapeHtml(cid) + '">#' + escapeHtml(cname) + '</span>';
  }
  if (target.charAt(0) === '!') {
    var parts = target.slice(1).split('^');
    if (parts[0] === 'date') {
      var text = formatSlackDate(parts[1], decodeEntities(parts[2] || '{date}'), o);
      if (text == null) return escapeHtml(label || '');
      var iso = new Date(Number(parts[1]) * 1000).toISOString();
      var html = '<time class="date" datetime="' + iso + '" title="' + escapeHtml(label || iso) + '">' + escapeHtml(text) + '</time>';
      var dateLink = parts.length > 3 ? safeUrl(decodeEntities(parts.slice(3).join('^'))) : null;
      return dateLink ? linkHtml(dateLink, html) : html;
    }
    if (parts[0] === 'here' || parts[0] === 'channel' || parts[0] === 'everyone') return '<span class="mention broadcast">@' + parts[0] + '</span>';
    if (parts[0] === 'subteam') return '<span class="mention">' + escapeHtml(label || '@' + (parts[1] || 'team')) + '</span>';
    return null;
  }
  if (!/^(https?:\/\/|mailto:)/i.test(target)) return null;
  var url = safeUrl(decodeEntities(target));
  if (!url) return null;
  return linkHtml(url, label != null ? labelHtml() : escapeHtml(decodeEntities(target).replace(/^mailto:/i, '')));
}

/** Slack mrkdwn (https://api.slack.com/reference/surfaces/formatting) as safe HTML. */
function mrkdwnToHtml(text, users, options) {
  var o = options || {};
  users = users || {};
  var slots = [];
  var keep = function (html) { slots.push(html); return '\uE000' + (slots.length - 1) + '\uE001'; };
  var s = String(text == null ? '' : text).replace(/[\uE000\uE001]/g, '');
  s = s.replace(/\x60\x60\x60\n?([\s\S]*?)\n?\x60\x60\x60\n?/g, function (m, body) {
    return keep('<pre class="pre">' + escapeHtml(decodeEntities(body)) + '</pre>');
  });
  s = s.replace(/\x60([^\x60\n]+)\x60/g, function (m, body) { return keep('<code>' + escapeHtml(decodeEntities(body)) + '</code>'); });
  s = s.replace(/<([^<>\n]+)>/g, function (m, inner) {
    var html = controlToHtml(inner, users, o, keep);
    return html == null ? m : keep(html);
  });
  s = emphasize(emojify(escapeHtml(decodeEntities(s)), keep));
  var out = [], quote = [];
  var flush = function () { if (quote.length) out.push({ block: '<blockquote>' + quote.join('<br>') + '</blockquote>' }); quote = []; };
  s.split('\n').forEach(function (line) {
    var q = /^&gt; ?/.exec(line);
    if (q) quote.push(line.slice(q[0].length));
    else { flush(); out.push({ line: line }); }
  });
  flush();
  s = out.map(function (part, i) {
    if (part.block) return part.block;
    var prev = out[i - 1];
    return (prev && !prev.block ? '<br>' : '') + part.line;
  }).join('');
  for (var depth = 0; depth < 3 && /\uE000/.test(s); depth++) {
    s = s.replace(/\uE000(\d+)\uE001/g, function (m, i) { return slots[+i]; });
  }
  return s;
}

/** A Block Kit text object; a bare string counts as mrkdwn, as in legacy confirm dialogs. */
function textHtml(t, ctx) {
  if (t == null) return '';
  if (typeof t === 'string') return mrkdwnToHtml(t, ctx.users, ctx);
  if (t.type === 'mrkdwn') return mrkdwnToHtml(t.text, ctx.users, ctx);
  return plainTextToHtml(t.text, t.emoji);
}

function plain(t) { return t == null ? '' : typeof t === 'string' ? t : String(t.text == null ? '' : t.text); }

function attr(name, value) { return value == null || value === '' ? '' : ' ' + name + '="' + escapeHtml(value) + '"'; }

function optionHtml(opt, selected) {
  var value = opt.value == null ? '' : String(opt.value);
  return '<option' + attr('value', value) + (selected === value ? ' selected' : '') + '>' + escapeHtml(plain(opt.text)) + '</option>';
}

function selectHtml(el, blockId, role) {
  var initial = el.initial_option && el.initial_option.value != null ? String(el.initial_option.value) : '';
  var placeholder = plain(el.placeholder) || (el.type === 'overflow' ? '⋯' : 'Select an option');
  var body = '<option value=""' + (initial ? '' : ' selected') + ' disabled>' + escapeHtml(placeholder) + '</option>';
  if (el.option_groups) {
    body += el.option_groups.map(function (g) {
      return '<optgroup label="' + escapeHtml(plain(g.label)) + '">' + (g.options || []).map(function (o) { return optionHtml(o, initial); }).join('') + '</optgroup>';
    }).join('');
  } else {
    body += (el.options || []).map(function (o) { return optionHtml(o, initial); }).join('');
  }
  return '<select class="select"' + attr('data-testid', (role === 'input' ? 'input-' : 'select-') + el.action_id) +
    (role === 'input' ? ' data-input="select"' : ' data-action="select"') + attr('data-action-id', el.action_id) +
    attr('data-block-id', blockId) + (el.confirm ? attr('data-confirm', JSON.stringify(el.confirm)) : '') + '>' + body + '</select>';
}

function imageHtml(url, alt, cls) {
  var src = safeUrl(url, true);
  return src ? '<img class="' + cls + '" src="' + escapeHtml(src) + '" alt="' + escapeHtml(alt || '') + '" loading="lazy">' : '<span class="' + cls + ' broken">' + escapeHtml(alt || 'image') + '</span>';
}

function elementHtml(el, blockId, ctx, role) {
  if (!el || typeof el !== 'object') return '';
  switch (el.type) {
    case 'button': {
      var url = el.url ? safeUrl(el.url) : null;
      var style = el.style === 'primary' || el.style === 'danger' ? ' ' + el.style : '';
      return '<button type="button" class="btn' + style + '"' + attr('data-testid', 'button-' + el.action_id) + ' data-action="button"' +
        attr('data-action-id', el.action_id) + attr('data-block-id', blockId) + attr('data-value', el.value) + attr('data-url', url) +
        (el.confirm ? attr('data-confirm', JSON.stringify(el.confirm)) : '') + '>' + plainTextToHtml(plain(el.text), el.text && el.text.emoji) +
        (url ? ' <span class="external" aria-hidden="true">↗</span>' : '') + '</button>';
    }
    case 'static_select':
    case 'overflow':
      return selectHtml(el, blockId, role);
    case 'image':
      return imageHtml(el.image_url, el.alt_text, 'element-img');
    case 'plain_text_input': {
      var common = ' class="text-input" data-input="text"' + attr('data-testid', 'input-' + el.action_id) + attr('data-action-id', el.action_id) +
        attr('data-block-id', blockId) + attr('placeholder', plain(el.placeholder)) + attr('maxlength', el.max_length);
      return el.multiline ? '<textarea' + common + ' rows="4">' + escapeHtml(el.initial_value || '') + '</textarea>' : '<input type="text"' + common + attr('value', el.initial_value) + '>';
    }
    default:
      return '<span class="unsupported">[' + escapeHtml(el.type) + ']</span>';
  }
}

function blockHtml(b, index, ctx) {
  if (!b || typeof b !== 'object') return '';
  var id = b.block_id || 'block-' + index;
  var open = function (cls) { return '<div class="blk ' + cls + '"' + attr('data-block-id', id) + '>'; };
  switch (b.type) {
    case 'section':
      return open('section') + '<div class="section-main">' + (b.text ? '<div class="section-text">' + textHtml(b.text, ctx) + '</div>' : '') +
        (b.fields && b.fields.length ? '<div class="fields">' + b.fields.map(function (f) { return '<div class="field">' + textHtml(f, ctx) + '</div>'; }).join('') + '</div>' : '') +
        '</div>' + (b.accessory ? '<div class="accessory">' + elementHtml(b.accessory, id, ctx) + '</div>' : '') + '</div>';
    case 'context':
      return open('context') + (b.elements || []).map(function (el) {
        return el && el.type === 'image' ? imageHtml(el.image_url, el.alt_text, 'context-img') : '<span class="context-text">' + textHtml(el, ctx) + '</span>';
      }).join('') + '</div>';
    case 'divider':
      return '<hr class="blk divider"' + attr('data-block-id', id) + '>';
    case 'header':
      return open('header') + '<h3>' + plainTextToHtml(plain(b.text), b.text && b.text.emoji) + '</h3></div>';
    case 'image':
      return open('image-block') + (b.title ? '<div class="image-title">' + plainTextToHtml(plain(b.title)) + '</div>' : '') + imageHtml(b.image_url, b.alt_text, 'block-img') + '</div>';
    case 'actions':
      return open('actions') + (b.elements || []).map(function (el) { return elementHtml(el, id, ctx); }).join('') + '</div>';
    case 'input': {
      var error = (ctx.errors || {})[id];
      return '<div class="blk input-block' + (error ? ' has-error' : '') + '"' + attr('data-block-id', id) + '>' +
        '<label class="input-label">' + plainTextToHtml(plain(b.label)) + (b.optional ? ' <span class="optional">(optional)</span>' : '') + '</label>' +
        elementHtml(b.element, id, ctx, 'input') + (b.hint ? '<div class="hint">' + plainTextToHtml(plain(b.hint)) + '</div>' : '') +
        '<div class="input-error"' + attr('data-testid', 'error-' + id) + ' data-error-for="' + escapeHtml(id) + '">' + escapeHtml(error || '') + '</div></div>';
    }
    default:
      return open('unsupported') + 'This block (' + escapeHtml(b.type) + ') is not shown in the playground.</div>';
  }
}

/** Block Kit blocks (https://api.slack.com/reference/block-kit/blocks) as safe HTML. */
function blocksToHtml(blocks, ctx) {
  ctx = ctx || {};
  return (Array.isArray(blocks) ? blocks : []).map(function (b, i) { return blockHtml(b, i, ctx); }).join('');
}

function confirmHtml(c, ctx) {
  var style = c.style === 'danger' ? ' danger' : ' primary';
  return '<div class="dialog" role="alertdialog" aria-modal="true" data-testid="confirm-dialog">' +
    '<h2 class="dialog-title">' + plainTextToHtml(plain(c.title) || 'Are you sure?') + '</h2>' +
    '<div class="dialog-text">' + textHtml(c.text, ctx || {}) + '</div><div class="dialog-actions">' +
    '<button type="button" class="btn" data-testid="confirm-no" data-confirm-answer="no">' + plainTextToHtml(plain(c.deny) || 'Cancel') + '</button>' +
    '<button type="button" class="btn' + style + '" data-testid="confirm-yes" data-confirm-answer="yes">' + plainTextToHtml(plain(c.confirm) || 'Yes') + '</button>' +
    '</div></div>';
}

/** Top-level messages and each thread's replies, both oldest first. */
function splitThreads(messages) {
  var top = [], replies = {};
  (messages || []).forEach(function (m) {
    if (m.thread_ts && m.thread_ts !== m.ts) (replies[m.thread_ts] = replies[m.thread_ts] || []).push(m);
    else top.push(m);
  });
  return { top: top, replies: replies };
}

function initials(name) {
  var parts = String(name).replace(/\(.*?\)/g, '').split(/[^A-Za-z0-9]+/).filter(Boolean);
  return (((parts[0] || '?').charAt(0)) + (parts[1] ? parts[1].charAt(0) : '')).toUpperCase();
}

function hue(id) {
  var h = 0;
  for (var i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) % 360;
  return h;
}

function parseBlocks(blocks) {
  if (typeof blocks === 'string') { try { blocks = JSON.parse(blocks); } catch (e) { return []; } }
  return Array.isArray(blocks) ? blocks : [];
}

/** One message row: avatar, name, time, blocks (or its text when it has none), files, replies link. */
function messageToHtml(m, ctx) {
  ctx = ctx || {};
  var users = ctx.users || {};
  var bot = ctx.ephemeral || !m.user; // only Shipmate posts ephemerals; their user is the one who sees them
  var name = bot ? 'Shipmate' : users[m.user] || m.user;
  var seconds = Math.floor(Number(m.ts));
  var time = formatSlackDate(seconds, '{time}', ctx) || '';
  var when = formatSlackDate(seconds, '{date_long} {time_secs}', ctx) || '';
  var prefix = ctx.testidPrefix || (ctx.ephemeral ? 'ephemeral-' : 'message-');
  var blocks = parseBlocks(m.blocks);
  var text = typeof m.text === 'string' ? m.text : m.text == null ? '' : JSON.stringify(m.text);
  var body = blocks.length ? '<div class="msg-blocks">' + blocksToHtml(blocks, ctx) + '</div>' : text ? '<div class="msg-text">' + mrkdwnToHtml(text, users, ctx) + '</div>' : '';
  var files = (m.files || []).map(function (f) {
    var url = safeUrl(f.url, true);
    var title = f.title || f.name || 'file';
    return '<figure class="file"' + attr('data-testid', 'file-' + f.id) + '><figcaption>' + escapeHtml(title) + '</figcaption>' +
      (url ? '<a href="' + escapeHtml(url) + '" target="_blank" rel="noopener noreferrer"><img src="' + escapeHtml(url) + '" alt="' + escapeHtml(title) + '"></a>' : '') + '</figure>';
  }).join('');
  var replies = ctx.replies || [];
  var thread = replies.length ? '<div class="thread-summary"><button type="button" class="replies-link" data-open-thread="' + escapeHtml(m.ts) + '"' +
    attr('data-testid', 'replies-' + m.ts) + '>' + replies.length + (replies.length === 1 ? ' reply' : ' replies') + '</button>' +
    '<span class="last-reply">Last reply ' + escapeHtml(formatSlackDate(Math.floor(Number(replies[replies.length - 1].ts)), '{date_short_pretty} {time}', ctx) || '') + '</span></div>' : '';
  var avatar = bot ? '<div class="avatar bot" aria-hidden="true">S</div>' : '<div class="avatar" style="background:hsl(' + hue(String(m.user)) + ',45%,40%)" aria-hidden="true">' + escapeHtml(initials(name)) + '</div>';
  return '<div class="msg' + (ctx.ephemeral ? ' ephemeral' : '') + (bot ? ' from-bot' : '') + '"' + attr('data-testid', prefix + m.ts) +
    ' data-container="message"' + attr('data-ts', m.ts) + attr('data-channel', m.channel || ctx.channel) + '>' + avatar + '<div class="msg-body">' +
    (ctx.ephemeral ? '<div class="only-you"><span aria-hidden="true">👁</span> Only visible to you</div>' : '') +
    '<div class="msg-head"><span class="author">' + escapeHtml(name) + '</span>' + (bot ? '<span class="app-badge">APP</span>' : '') +
    '<span class="msg-time" title="' + escapeHtml(when) + '">' + escapeHtml(time) + '</span></div>' + body + files + thread +
    (ctx.ephemeral ? '<button type="button" class="link dismiss" data-dismiss-ephemeral="' + escapeHtml(m.ts) + '">Dismiss message</button>' : '') +
    '</div></div>';
}
`;

const HELPER_NAMES = ['escapeHtml', 'mrkdwnToHtml', 'plainTextToHtml', 'formatSlackDate', 'blocksToHtml', 'confirmHtml', 'messageToHtml', 'splitThreads', 'safeUrl'];

interface Helpers {
  escapeHtml(value: unknown): string;
  mrkdwnToHtml(text: unknown, users: Record<string, string>, options?: MrkdwnOptions): string;
  plainTextToHtml(text: unknown, emoji?: boolean): string;
  formatSlackDate(seconds: number | string, format: string, options?: MrkdwnOptions): string | null;
  blocksToHtml(blocks: unknown, ctx?: RenderContext): string;
  confirmHtml(confirm: unknown, ctx?: RenderContext): string;
  messageToHtml(message: PlaygroundMessage, ctx?: RenderContext): string;
  splitThreads<M extends { ts: string; thread_ts?: string }>(messages: readonly M[]): { top: M[]; replies: Record<string, M[]> };
  safeUrl(url: unknown, forImage?: boolean): string | null;
}

const helpers = new Function(`'use strict';\n${PAGE_HELPERS_JS}\nreturn { ${HELPER_NAMES.join(', ')} };`)() as Helpers;

export const escapeHtml = (value: unknown): string => helpers.escapeHtml(value);
/** Slack mrkdwn as HTML in which nothing from `text` is markup: entities decoded, then escaped. */
export function mrkdwnToHtml(text: string, users: Record<string, string>, options: MrkdwnOptions = {}): string {
  return helpers.mrkdwnToHtml(text, users, options);
}
/** A `<!date^seconds^format|…>` token string filled in, or null for a timestamp that is not one. */
export function formatSlackDate(seconds: number | string, format: string, options: MrkdwnOptions = {}): string | null {
  return helpers.formatSlackDate(seconds, format, options);
}
export const plainTextToHtml = (text: string, emoji = true): string => helpers.plainTextToHtml(text, emoji);
export const blocksToHtml = (blocks: unknown, ctx: RenderContext = {}): string => helpers.blocksToHtml(blocks, ctx);
export const confirmHtml = (confirm: unknown, ctx: RenderContext = {}): string => helpers.confirmHtml(confirm, ctx);
export const messageToHtml = (message: PlaygroundMessage, ctx: RenderContext = {}): string => helpers.messageToHtml(message, ctx);
export const splitThreads = <M extends { ts: string; thread_ts?: string }>(messages: readonly M[]) => helpers.splitThreads(messages);
/** The URL if a link (or, with `forImage`, an image) may point there, else null. */
export const safeUrl = (url: unknown, forImage = false): string | null => helpers.safeUrl(url, forImage);

const CSS = `
*{box-sizing:border-box}[hidden]{display:none!important}
html,body{margin:0;height:100%}
body{font:15px/1.46668 -apple-system,BlinkMacSystemFont,"Segoe UI",Lato,Roboto,"Helvetica Neue",Arial,sans-serif;color:#1d1c1d;background:#fff}
button,select,input,textarea{font:inherit}
a{color:#1264a3;text-decoration:none}a:hover{text-decoration:underline}
#app{display:grid;grid-template-columns:260px minmax(0,1fr) auto;grid-template-rows:44px minmax(0,1fr);height:100vh}
.topbar{grid-column:1/-1;background:#350d36;color:#fff;display:flex;align-items:center;gap:16px;padding:0 12px}
.search{flex:0 1 560px;margin:0 auto;background:rgba(255,255,255,.16);border-radius:6px;padding:3px 12px;font-size:13px;color:rgba(255,255,255,.75)}
.incident{display:flex;gap:6px;align-items:center;font-size:13px}
.incident select{height:28px;border-radius:4px;border:0;padding:0 6px}
#simulate-incident{height:28px;background:#e01e5a;color:#fff;border:0;border-radius:4px;padding:0 12px;font-weight:700;cursor:pointer}
#simulate-incident:disabled{opacity:.5;cursor:default}
.sidebar{background:#3f0e40;color:#cfc3cf;display:flex;flex-direction:column;min-height:0}
.workspace{padding:12px 16px;border-bottom:1px solid rgba(255,255,255,.12);font-weight:900;font-size:18px;color:#fff}
.sidebar-scroll{flex:1;overflow:auto;padding:10px 0}
.section-title{padding:14px 18px 4px;font-size:14px}
.nav-item,.ch{display:flex;align-items:center;gap:8px;width:calc(100% - 16px);margin:0 8px;padding:4px 10px;border:0;background:none;color:inherit;font-size:15px;border-radius:6px;cursor:pointer;text-align:left}
.nav-item:hover,.ch:hover{background:rgba(255,255,255,.08)}
.nav-item.active,.ch.active{background:#1164a3;color:#fff}
.ch.unread{color:#fff;font-weight:700}
.hash{opacity:.7;width:14px}
.unread-dot{margin-left:auto;width:8px;height:8px;border-radius:50%;background:#fff}
.acting-as{padding:10px 16px 14px;border-top:1px solid rgba(255,255,255,.12);font-size:12px}
.acting-as select{display:block;width:100%;margin-top:4px;height:30px;border-radius:4px;border:0}
.main{display:flex;min-width:0;min-height:0}
.view{display:flex;flex-direction:column;flex:1;min-width:0;min-height:0}
.view-header{height:49px;border-bottom:1px solid #ddd;display:flex;align-items:center;gap:10px;padding:0 20px;flex:none}
.view-header h1,.view-header h2{font-size:18px;font-weight:900;margin:0}
.view-header .sub{color:#616061;font-size:13px}
.tab{font-size:14px;font-weight:700;border-bottom:2px solid #1d1c1d;padding:12px 2px;margin-left:16px}
.messages{flex:1;overflow-y:auto;padding:8px 0 12px}
.channel-intro{padding:28px 20px 12px;color:#616061}
.channel-intro h2{color:#1d1c1d;margin:0 0 4px;font-size:22px;font-weight:900}
.msg{display:flex;gap:8px;padding:8px 20px}
.msg:hover{background:#f8f8f8}
.msg.ephemeral{background:#f2f7fb}
.avatar{width:36px;height:36px;border-radius:6px;flex:none;display:flex;align-items:center;justify-content:center;color:#fff;font-weight:700;font-size:14px}
.avatar.bot{background:linear-gradient(135deg,#2eb67d,#1264a3);font-size:18px}
.msg-body{min-width:0;flex:1;overflow-wrap:anywhere}
.msg-head{display:flex;align-items:baseline;gap:6px;flex-wrap:wrap}
.author{font-weight:900}
.app-badge{font-size:10px;font-weight:700;background:rgba(29,28,29,.1);color:#616061;padding:1px 3px;border-radius:2px}
.msg-time{font-size:12px;color:#616061}
.only-you{font-size:12px;color:#616061;margin-bottom:2px}
.link{background:none;border:0;padding:0;color:#1264a3;cursor:pointer;font-size:12px}
.dismiss{margin-top:4px}
code{font:12px Monaco,Menlo,Consolas,"Courier New",monospace;color:#c01343;background:rgba(29,28,29,.04);border:1px solid rgba(29,28,29,.13);border-radius:3px;padding:1px 3px}
.pre{font:12px/1.5 Monaco,Menlo,Consolas,"Courier New",monospace;background:rgba(29,28,29,.04);border:1px solid rgba(29,28,29,.13);border-radius:4px;padding:8px;margin:4px 0;white-space:pre-wrap;word-break:break-word}
blockquote{border-left:4px solid #ddd;margin:4px 0;padding-left:12px}
.mention{background:rgba(29,155,209,.1);color:#1264a3;border-radius:3px;padding:0 2px}
.channel-link{color:#1264a3;cursor:pointer}
.emoji{font-family:"Apple Color Emoji","Segoe UI Emoji","Noto Color Emoji",sans-serif}
.blk{margin:4px 0}
.section{display:flex;gap:12px;align-items:flex-start}
.section-main{flex:1;min-width:0}
.fields{display:grid;grid-template-columns:1fr 1fr;gap:6px 16px;margin-top:4px}
.element-img{width:88px;height:88px;object-fit:cover;border-radius:4px}
.context{display:flex;flex-wrap:wrap;align-items:center;gap:4px 8px;font-size:13px;color:#616061}
.context-img{width:20px;height:20px;border-radius:4px}
.divider{border:0;border-top:1px solid #ddd;margin:10px 0}
.header h3{margin:6px 0;font-size:18px;font-weight:900}
.block-img{display:block;max-width:min(100%,520px);border-radius:6px;border:1px solid #eee}
.image-title{font-size:13px;color:#616061;margin-bottom:4px}
.actions{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0}
.btn{font-size:14px;font-weight:700;padding:0 12px;min-height:32px;border-radius:4px;border:1px solid rgba(29,28,29,.3);background:#fff;color:#1d1c1d;cursor:pointer}
.btn:hover{background:#f8f8f8;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.btn.primary{background:#007a5a;border-color:#007a5a;color:#fff}.btn.primary:hover{background:#148567}
.btn.danger{background:#e01e5a;border-color:#e01e5a;color:#fff}.btn.danger:hover{background:#e23067}
.btn.pending{opacity:.6}
.external{font-size:11px}
.select{min-height:32px;border:1px solid rgba(29,28,29,.3);border-radius:4px;background:#fff;padding:0 8px;max-width:100%}
.unsupported{color:#616061;font-size:13px;font-style:italic}
.file{margin:6px 0;display:inline-block}
.file figcaption{font-size:13px;color:#616061;margin-bottom:4px}
.file img{display:block;max-width:min(100%,520px);max-height:360px;border-radius:6px;border:1px solid #eee}
.thread-summary{display:flex;gap:8px;align-items:center;margin-top:4px;font-size:13px}
.replies-link{background:none;border:0;padding:0;color:#1264a3;font-weight:700;cursor:pointer;font-size:13px}
.last-reply{color:#616061}
.thread-count{display:flex;align-items:center;gap:8px;padding:4px 20px;color:#616061;font-size:13px}
.thread-count:after{content:"";flex:1;border-top:1px solid #ddd}
.composer{padding:0 20px 16px;flex:none}
.composer-box{border:1px solid rgba(29,28,29,.3);border-radius:8px;display:flex;align-items:flex-end;gap:8px;padding:8px 8px 8px 12px}
.composer-box:focus-within{border-color:#1d1c1d;box-shadow:0 0 0 1px #1d1c1d}
.composer textarea{flex:1;border:0;resize:none;outline:none;min-height:24px;max-height:200px;padding:2px 0}
.send{background:#007a5a;color:#fff;border:0;border-radius:4px;padding:4px 12px;font-weight:700;cursor:pointer}
.composer-hint{font-size:12px;color:#616061;margin-top:4px}
.thread{width:400px;border-left:1px solid #ddd;display:flex;flex-direction:column;min-height:0}
.close-x{margin-left:auto;background:none;border:0;font-size:22px;line-height:1;cursor:pointer;color:#616061;padding:4px 8px;border-radius:4px}
.close-x:hover{background:#f0f0f0}
.home-scroll{flex:1;overflow:auto;padding:12px 20px 24px}
.empty{color:#616061;padding:24px 0}
.overlay{position:fixed;inset:0;background:rgba(0,0,0,.5);display:flex;align-items:center;justify-content:center;z-index:10}
#confirm-root{z-index:20}
.modal{background:#fff;border-radius:8px;width:540px;max-width:calc(100vw - 32px);max-height:calc(100vh - 64px);display:flex;flex-direction:column;box-shadow:0 18px 48px rgba(0,0,0,.35)}
.modal-head{display:flex;align-items:center;padding:18px 20px 18px 28px;border-bottom:1px solid #eee}
.modal-head h2{margin:0;font-size:22px;font-weight:900}
.modal-body{padding:8px 28px 16px;overflow:auto}
.modal-errors{color:#e01e5a;font-size:14px}
.modal-foot{display:flex;justify-content:flex-end;gap:8px;padding:16px 28px;border-top:1px solid #ddd}
.input-block{margin:14px 0}
.input-label{font-weight:700;display:block;margin-bottom:6px}
.optional{font-weight:400;color:#616061}
.text-input{width:100%;padding:8px 12px;border:1px solid rgba(29,28,29,.3);border-radius:4px}
textarea.text-input{resize:vertical}
.input-block .select{width:100%}
.has-error .text-input,.has-error .select{border-color:#e01e5a;box-shadow:0 0 0 1px #e01e5a}
.input-error{color:#e01e5a;font-size:13px;margin-top:4px}.input-error:empty{display:none}
.hint{font-size:13px;color:#616061;margin-top:4px}
.dialog{background:#fff;border-radius:8px;width:460px;max-width:calc(100vw - 32px);padding:22px 28px;box-shadow:0 18px 48px rgba(0,0,0,.35)}
.dialog-title{margin:0 0 12px;font-size:22px;font-weight:900}
.dialog-actions{display:flex;justify-content:flex-end;gap:8px;margin-top:20px}
#toast{position:fixed;bottom:110px;left:50%;transform:translateX(-50%);background:#1d1c1d;color:#fff;padding:10px 16px;border-radius:6px;z-index:30;max-width:80vw}
#toast.error{background:#e01e5a}
#offline{position:fixed;top:52px;left:50%;transform:translateX(-50%);background:#ecb22e;color:#1d1c1d;padding:6px 14px;border-radius:4px;z-index:30;font-size:13px}
`;

const BODY = `
<div id="app">
  <header class="topbar">
    <div class="search">Search Shipmate playground</div>
    <div class="incident">
      <label for="incident-service">SLO burn for</label>
      <select id="incident-service" data-testid="incident-service"></select>
      <button type="button" id="simulate-incident" data-testid="simulate-incident" disabled>🚨 Simulate incident</button>
    </div>
  </header>
  <nav class="sidebar" aria-label="Workspace">
    <div class="workspace">Shipmate playground</div>
    <div class="sidebar-scroll">
      <button type="button" class="nav-item" id="app-home-link" data-testid="app-home-link"><span aria-hidden="true">🏠</span> App Home</button>
      <div class="section-title">Channels</div>
      <div id="channel-list" role="list"></div>
    </div>
    <div class="acting-as"><label for="user-picker">Acting as</label><select id="user-picker" data-testid="user-picker"></select></div>
  </nav>
  <main class="main">
    <section id="channel-view" class="view">
      <div class="view-header"><h1 id="channel-title" data-testid="channel-title">#</h1></div>
      <div id="messages" class="messages" data-testid="messages">
        <div class="channel-intro" id="channel-intro"></div>
        <div id="message-list"></div>
      </div>
      <div class="composer">
        <div class="composer-box">
          <textarea id="composer-input" data-testid="composer-input" rows="1" placeholder="Message"></textarea>
          <button type="button" class="send" id="composer-send" data-testid="composer-send">Send</button>
        </div>
        <div class="composer-hint">Start with <b>/</b> for a command, e.g. <code>/deploy api@1.0.1 to staging</code> · Enter sends, Shift+Enter adds a line</div>
      </div>
    </section>
    <section id="home-view" class="view" hidden>
      <div class="view-header"><h1>Shipmate</h1><span class="tab">Home</span></div>
      <div class="home-scroll"><div id="app-home" data-testid="app-home" data-container="home"></div></div>
    </section>
  </main>
  <aside id="thread" class="thread" data-testid="thread" hidden>
    <div class="view-header"><h2>Thread</h2><span class="sub" id="thread-channel"></span>
      <button type="button" class="close-x" id="thread-close" data-testid="thread-close" aria-label="Close thread">×</button></div>
    <div id="thread-scroll" class="messages"><div id="thread-list"></div></div>
    <div class="composer">
      <div class="composer-box">
        <textarea id="thread-input" data-testid="thread-input" rows="1" placeholder="Reply…"></textarea>
        <button type="button" class="send" id="thread-send" data-testid="thread-send">Send</button>
      </div>
    </div>
  </aside>
</div>
<div id="modal-root" class="overlay" hidden></div>
<div id="confirm-root" class="overlay" hidden></div>
<div id="toast" data-testid="toast" role="status" hidden></div>
<div id="offline" data-testid="offline" hidden>Reconnecting to the playground…</div>
`;

// The page's behaviour: poll /api/state, redraw only what changed, and turn clicks into API calls.
export const PAGE_APP_JS = String.raw`
var POLL_MS = 700;
var $ = function (id) { return document.getElementById(id); };
var state = null, me = null, activeChannel = null, showingHome = false;
var thread = null, seen = null, hiddenEphemerals = {};
var keys = {}, modalKey = null, dismissedModal = null, pendingConfirm = null, stickUntil = 0;
var inFlight = false, again = false, timer = null, toastTimer = null;

function byId(list) { var m = {}; list.forEach(function (x) { m[x.id] = x.name; }); return m; }
function context(extra) {
  var c = { users: byId(state.users), channels: byId(state.channels), channel: activeChannel };
  for (var k in extra) c[k] = extra[k];
  return c;
}
function changed(name, value) { var k = JSON.stringify(value); if (keys[name] === k) return false; keys[name] = k; return true; }
function nearBottom(el) { return el.scrollHeight - el.scrollTop - el.clientHeight < 48; }

function toElement(html) { var t = document.createElement('template'); t.innerHTML = html.trim(); return t.content.firstElementChild; }

/** Keyed redraw: a row whose HTML did not change keeps its node, so selects and focus survive. */
function reconcile(container, items) {
  var old = {}, dirty = false, prev = null;
  Array.prototype.forEach.call(container.children, function (el) { old[el.getAttribute('data-key')] = el; });
  items.forEach(function (it) {
    var el = old[it.key];
    if (!el || el.__html !== it.html) {
      var fresh = toElement(it.html);
      fresh.setAttribute('data-key', it.key);
      fresh.__html = it.html;
      if (el) container.replaceChild(fresh, el);
      el = fresh;
      dirty = true;
    }
    delete old[it.key];
    var want = prev ? prev.nextSibling : container.firstChild;
    if (want !== el) { container.insertBefore(el, want); dirty = true; }
    prev = el;
  });
  Object.keys(old).forEach(function (k) { container.removeChild(old[k]); dirty = true; });
  return dirty;
}

function toast(message, isError) {
  var el = $('toast');
  el.textContent = message;
  el.className = isError ? 'error' : '';
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(function () { el.hidden = true; }, 5000);
}

function post(path, body) {
  return fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    .then(function (res) {
      return res.text().then(function (text) {
        var json = {};
        try { json = text ? JSON.parse(text) : {}; } catch (e) { json = { error: text }; }
        if (!res.ok && !json.errors) throw new Error(json.error || json.message || res.status + ' ' + res.statusText);
        if (json.ok === false && json.error && !json.errors) throw new Error(json.error);
        return json;
      });
    })
    .then(function (json) { refresh(); return json; }, function (err) { toast(String(err && err.message || err), true); refresh(); throw err; });
}

function refresh() {
  if (inFlight) { again = true; return; }
  clearTimeout(timer);
  inFlight = true;
  var asked = me;
  fetch('/api/state?user=' + encodeURIComponent(me || ''), { cache: 'no-store' })
    .then(function (res) { if (!res.ok) throw new Error(res.status); return res.json(); })
    .then(function (s) { $('offline').hidden = true; apply(s); }, function () { $('offline').hidden = false; })
    .then(function () {
      inFlight = false;
      if (again || asked !== me) { again = false; refresh(); } else timer = setTimeout(refresh, POLL_MS);
    });
}

function topCount(channel) { return splitThreads((state.messages || {})[channel] || []).top.length; }

function apply(s) {
  state = {
    users: s.users || [],
    channels: (s.channels || []).map(function (c) { return { id: c.id, name: String(c.name).replace(/^#/, '') }; }),
    messages: s.messages || {}, ephemerals: s.ephemerals || [],
    modal: s.modal || null, home: s.home || null, services: s.services || []
  };
  if (!me || !state.users.some(function (u) { return u.id === me; })) me = state.users.length ? state.users[0].id : null;
  if (!state.channels.some(function (c) { return c.id === activeChannel; })) activeChannel = state.channels.length ? state.channels[0].id : null;
  if (!seen) { seen = {}; state.channels.forEach(function (c) { seen[c.id] = topCount(c.id); }); }
  if (!showingHome && activeChannel) seen[activeChannel] = topCount(activeChannel);
  renderPickers();
  renderSidebar();
  if (showingHome) renderHome(); else renderChannel();
  renderThread();
  renderModal();
}

function renderPickers() {
  if (changed('users', [state.users, me])) {
    $('user-picker').innerHTML = state.users.map(function (u) {
      return '<option value="' + escapeHtml(u.id) + '"' + (u.id === me ? ' selected' : '') + '>' + escapeHtml(u.name) + '</option>';
    }).join('');
  }
  if (changed('services', state.services)) {
    var picker = $('incident-service'), current = picker.value;
    picker.innerHTML = state.services.map(function (s) { return '<option value="' + escapeHtml(s) + '">' + escapeHtml(s) + '</option>'; }).join('');
    if (state.services.indexOf(current) >= 0) picker.value = current;
    $('simulate-incident').disabled = state.services.length === 0;
  }
}

function renderSidebar() {
  var rows = state.channels.map(function (c) {
    var unread = !(c.id === activeChannel && !showingHome) && topCount(c.id) > (seen[c.id] || 0);
    return { c: c, unread: unread, active: c.id === activeChannel && !showingHome };
  });
  if (!changed('sidebar', rows)) return;
  var entry = function (r) {
    return '<button type="button" role="listitem" class="ch' + (r.active ? ' active' : '') + (r.unread ? ' unread' : '') + '" data-testid="channel-' + escapeHtml(r.c.id) +
      '" data-channel-entry="' + escapeHtml(r.c.id) + '" data-unread="' + r.unread + '"><span class="hash">' + (isDirect(r.c.id) ? '@' : '#') + '</span><span class="name">' + escapeHtml(r.c.name) + '</span>' +
      (r.unread ? '<span class="unread-dot" data-testid="unread-' + escapeHtml(r.c.id) + '" aria-label="unread"></span>' : '') + '</button>';
  };
  var direct = rows.filter(function (r) { return isDirect(r.c.id); });
  $('channel-list').innerHTML = rows.filter(function (r) { return !isDirect(r.c.id); }).map(entry).join('') +
    (direct.length ? '<div class="section-title">Direct messages</div>' + direct.map(entry).join('') : '');
  $('app-home-link').classList.toggle('active', showingHome);
}

// Direct message channels are named after the person (U…) or start with D, as in Slack.
function isDirect(id) { return /^[UD]/.test(String(id)); }
function channelLabel(id) { return (isDirect(id) ? '' : '#') + channelName(id); }
function channelName(id) { var c = state.channels.filter(function (x) { return x.id === id; })[0]; return c ? c.name : id || ''; }

function renderChannel() {
  $('channel-view').hidden = false;
  $('home-view').hidden = true;
  var ch = activeChannel, name = channelName(ch);
  if (changed('channel-head', [ch, name])) {
    $('channel-title').textContent = channelLabel(ch);
    $('composer-input').placeholder = 'Message ' + channelLabel(ch);
    $('channel-intro').innerHTML = '<h2>' + escapeHtml(channelLabel(ch)) + '</h2>This is the very beginning of <b>' + escapeHtml(channelLabel(ch)) +
      '</b>. Try <code>/deploy help</code>, or pick someone else under “Acting as” to approve.';
  }
  var split = splitThreads(state.messages[ch] || []);
  var rows = split.top.map(function (m) { return { ts: m.ts, m: m }; });
  state.ephemerals.forEach(function (e) {
    if (e.channel === ch && !e.thread_ts && !hiddenEphemerals[e.ts] && (e.text || parseBlocks(e.blocks).length)) rows.push({ ts: e.ts, m: e, ephemeral: true });
  });
  rows.sort(function (a, b) { return Number(a.ts) - Number(b.ts); });
  var base = context({});
  var items = rows.map(function (r) {
    var c = Object.assign({}, base, r.ephemeral ? { ephemeral: true } : { replies: split.replies[r.ts] || [] });
    return { key: (r.ephemeral ? 'e' : 'm') + r.ts, html: messageToHtml(r.m, c) };
  });
  var box = $('messages'), bottom = nearBottom(box);
  if (reconcile($('message-list'), items) && (bottom || Date.now() < stickUntil)) box.scrollTop = box.scrollHeight;
}

function renderHome() {
  $('channel-view').hidden = true;
  $('home-view').hidden = false;
  var home = state.home;
  if (!changed('home', [home, state.users, state.channels, me])) return;
  var el = $('app-home');
  el.setAttribute('data-view-id', home && (home.id || home.view && home.view.id) || '');
  el.innerHTML = home && home.view ? blocksToHtml(home.view.blocks || [], context({ channel: '' }))
    : '<div class="empty">Shipmate has not published a Home tab for you yet.</div>';
}

function renderThread() {
  var pane = $('thread');
  var msgs = thread ? state.messages[thread.channel] || [] : [];
  var parent = thread && msgs.filter(function (m) { return m.ts === thread.ts; })[0];
  if (!parent || showingHome) { pane.hidden = true; keys.thread = null; return; }
  pane.hidden = false;
  $('thread-channel').textContent = channelLabel(thread.channel);
  var base = context({ channel: thread.channel });
  var replies = splitThreads(msgs).replies[thread.ts] || [];
  var items = [{ key: 'parent', html: messageToHtml(parent, Object.assign({}, base, { testidPrefix: 'thread-parent-' })) },
    { key: 'count', html: '<div class="thread-count">' + replies.length + (replies.length === 1 ? ' reply' : ' replies') + '</div>' }];
  var rows = replies.map(function (m) { return { ts: m.ts, m: m }; });
  state.ephemerals.forEach(function (e) {
    if (e.channel === thread.channel && e.thread_ts === thread.ts && !hiddenEphemerals[e.ts]) rows.push({ ts: e.ts, m: e, ephemeral: true });
  });
  rows.sort(function (a, b) { return Number(a.ts) - Number(b.ts); });
  rows.forEach(function (r) {
    items.push({ key: (r.ephemeral ? 'e' : 'm') + r.ts, html: messageToHtml(r.m, Object.assign({}, base, r.ephemeral ? { ephemeral: true } : {})) });
  });
  var box = $('thread-scroll'), bottom = nearBottom(box);
  if (reconcile($('thread-list'), items) && (bottom || Date.now() < stickUntil)) box.scrollTop = box.scrollHeight;
}

function openThread(ts) {
  thread = { channel: activeChannel, ts: ts };
  stickUntil = Date.now() + 1500;
  renderThread();
  $('thread-input').focus();
}

function collectValues() {
  var values = {};
  Array.prototype.forEach.call($('modal-root').querySelectorAll('[data-input]'), function (el) {
    var block = el.getAttribute('data-block-id'), action = el.getAttribute('data-action-id');
    (values[block] = values[block] || {})[action] = el.value || '';
  });
  return values;
}

function renderModal() {
  var modal = state.modal;
  var key = modal ? JSON.stringify([modal.id, modal.view]) : null;
  if (!modal) dismissedModal = null;
  if (key && key === dismissedModal) key = null;
  if (key === modalKey) return;
  var root = $('modal-root');
  var kept = modal && modalKey && root.querySelector('.modal') && root.querySelector('.modal').getAttribute('data-view-id') === String(modal.id) ? collectValues() : null;
  modalKey = key;
  if (!key) { root.hidden = true; root.innerHTML = ''; return; }
  var view = modal.view || {};
  root.innerHTML = '<div class="modal" role="dialog" aria-modal="true" data-testid="modal" data-container="modal" data-view-id="' + escapeHtml(modal.id) + '"' +
    (view.callback_id ? ' data-callback-id="' + escapeHtml(view.callback_id) + '"' : '') + '>' +
    '<div class="modal-head"><h2>' + plainTextToHtml(view.title && view.title.text || 'Shipmate') + '</h2>' +
    '<button type="button" class="close-x" data-modal-close data-testid="modal-close-x" aria-label="Close">×</button></div>' +
    '<div class="modal-body"><div class="modal-errors" data-testid="modal-errors"></div>' + blocksToHtml(view.blocks || [], context({ channel: '' })) + '</div>' +
    '<div class="modal-foot"><button type="button" class="btn" data-modal-close data-testid="modal-close">' + plainTextToHtml(view.close && view.close.text || (view.submit ? 'Cancel' : 'Close')) + '</button>' +
    (view.submit ? '<button type="button" class="btn primary" id="modal-submit" data-testid="modal-submit">' + plainTextToHtml(view.submit.text || 'Submit') + '</button>' : '') +
    '</div></div>';
  root.hidden = false;
  if (kept) {
    Array.prototype.forEach.call(root.querySelectorAll('[data-input]'), function (el) {
      var v = (kept[el.getAttribute('data-block-id')] || {})[el.getAttribute('data-action-id')];
      if (v) el.value = v;
    });
  }
  var first = root.querySelector('[data-input]');
  if (first) first.focus();
}

function showErrors(errors) {
  var root = $('modal-root'), stray = [];
  Array.prototype.forEach.call(root.querySelectorAll('[data-error-for]'), function (el) { el.textContent = ''; el.parentNode.classList.remove('has-error'); });
  Object.keys(errors || {}).forEach(function (block) {
    var el = root.querySelector('[data-error-for="' + (window.CSS && CSS.escape ? CSS.escape(block) : block) + '"]');
    if (el) { el.textContent = errors[block]; el.parentNode.classList.add('has-error'); } else stray.push(errors[block]);
  });
  var top = root.querySelector('.modal-errors');
  if (top) top.textContent = stray.join(' ');
}

function hideModal() { dismissedModal = modalKey; modalKey = null; $('modal-root').hidden = true; $('modal-root').innerHTML = ''; }

function submitModal() {
  var modal = $('modal-root').querySelector('.modal');
  if (!modal) return;
  var button = $('modal-submit');
  if (button) button.disabled = true;
  post('/api/view', { user: me, viewId: modal.getAttribute('data-view-id'), values: collectValues() }).then(function (res) {
    if (res && res.ok === false) showErrors(res.errors || {});
    else hideModal();
  }, function () {}).then(function () { if (button) button.disabled = false; });
}

function closeModal() {
  var modal = $('modal-root').querySelector('.modal');
  if (!modal) return;
  var viewId = modal.getAttribute('data-view-id');
  hideModal();
  post('/api/modal/close', { user: me, viewId: viewId }).catch(function () {});
}

function sendAction(el, value) {
  var host = el.closest('[data-container]');
  var container = host ? host.getAttribute('data-container') : 'message';
  var body = {
    user: me, channel: host && host.getAttribute('data-channel') || (container === 'message' ? activeChannel : ''),
    ts: host && host.getAttribute('data-ts') || '', actionId: el.getAttribute('data-action-id'), blockId: el.getAttribute('data-block-id'),
    value: value, container: container
  };
  if (container === 'modal' || container === 'home') body.viewId = host.getAttribute('data-view-id') || '';
  el.classList.add('pending');
  post('/api/action', body).catch(function () {}).then(function () { el.classList.remove('pending'); });
}

function withConfirm(el, go, cancel) {
  var raw = el.getAttribute('data-confirm'), dialog = null;
  try { dialog = raw ? JSON.parse(raw) : null; } catch (e) { dialog = null; }
  if (!dialog) return go();
  var root = $('confirm-root');
  root.innerHTML = confirmHtml(dialog, context({}));
  root.hidden = false;
  pendingConfirm = { go: go, cancel: cancel };
  root.querySelector('[data-confirm-answer="yes"]').focus();
}

function answerConfirm(yes) {
  var p = pendingConfirm;
  pendingConfirm = null;
  $('confirm-root').hidden = true;
  $('confirm-root').innerHTML = '';
  if (p && yes) p.go(); else if (p && p.cancel) p.cancel();
}

function selectChannel(id) {
  showingHome = false;
  if (activeChannel !== id) thread = null;
  activeChannel = id;
  stickUntil = Date.now() + 1500;
  keys['channel-head'] = null;
  $('message-list').innerHTML = '';
  if (state) apply(state);
  $('composer-input').focus();
}

function send(input, threadTs) {
  var text = input.value.trim();
  if (!text || !me || !activeChannel) return;
  input.value = '';
  grow(input);
  stickUntil = Date.now() + 3000;
  var channel = threadTs ? thread.channel : activeChannel;
  var call = text.charAt(0) === '/' ? post('/api/command', { user: me, channel: channel, text: text })
    : post('/api/message', threadTs ? { user: me, channel: channel, text: text, thread_ts: threadTs } : { user: me, channel: channel, text: text });
  call.catch(function () { if (!input.value) { input.value = text; grow(input); } });
}

function grow(input) { input.style.height = 'auto'; input.style.height = Math.min(input.scrollHeight, 200) + 'px'; }

function wireComposer(input, button, threadTs) {
  input.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(input, threadTs()); }
  });
  input.addEventListener('input', function () { grow(input); });
  button.addEventListener('click', function () { send(input, threadTs()); });
}

wireComposer($('composer-input'), $('composer-send'), function () { return undefined; });
wireComposer($('thread-input'), $('thread-send'), function () { return thread && thread.ts; });

document.addEventListener('click', function (e) {
  var t = e.target;
  if (!(t instanceof Element)) return;
  var answer = t.closest('[data-confirm-answer]');
  if (answer) return answerConfirm(answer.getAttribute('data-confirm-answer') === 'yes');
  if (t === $('confirm-root')) return answerConfirm(false);
  var button = t.closest('[data-action="button"]');
  if (button) {
    var url = button.getAttribute('data-url');
    withConfirm(button, function () {
      if (url) window.open(url, '_blank', 'noopener');
      sendAction(button, button.getAttribute('data-value') || '');
    });
    return;
  }
  var entry = t.closest('[data-channel-entry]') || t.closest('[data-channel-link]');
  if (entry) return selectChannel(entry.getAttribute('data-channel-entry') || entry.getAttribute('data-channel-link'));
  var replies = t.closest('[data-open-thread]');
  if (replies) return openThread(replies.getAttribute('data-open-thread'));
  var dismiss = t.closest('[data-dismiss-ephemeral]');
  if (dismiss) { hiddenEphemerals[dismiss.getAttribute('data-dismiss-ephemeral')] = true; return state && apply(state); }
  if (t.closest('[data-modal-close]')) return closeModal();
  if (t.closest('#modal-submit')) return submitModal();
});

document.addEventListener('change', function (e) {
  var sel = e.target instanceof Element && e.target.closest('[data-action="select"]');
  if (!sel || !sel.value) return;
  withConfirm(sel, function () { sendAction(sel, sel.value); }, function () { sel.value = ''; });
});

document.addEventListener('keydown', function (e) {
  if (e.key !== 'Escape') return;
  if (pendingConfirm) answerConfirm(false);
  else if (!$('modal-root').hidden) closeModal();
});

$('app-home-link').addEventListener('click', function () {
  showingHome = true;
  keys.home = null;
  if (state) apply(state);
});
$('thread-close').addEventListener('click', function () { thread = null; renderThread(); });
$('user-picker').addEventListener('change', function (e) {
  me = e.target.value;
  keys = {};
  modalKey = null;
  dismissedModal = null;
  hiddenEphemerals = {};
  $('message-list').innerHTML = '';
  $('thread-list').innerHTML = '';
  refresh();
});
$('simulate-incident').addEventListener('click', function () {
  var service = $('incident-service').value;
  if (!service) return;
  post('/api/incident', { service: service }).then(function () { toast('Simulating an SLO burn for ' + service + '…'); }, function () {});
});
// Images change a row's height after it is drawn; keep a conversation that was at the bottom there.
$('messages').addEventListener('load', function () { if (Date.now() < stickUntil) $('messages').scrollTop = $('messages').scrollHeight; }, true);

refresh();
`;

/** The whole page: markup, styles and script inline, nothing fetched but the playground's own API. */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Shipmate playground</title>
<link rel="icon" href="data:,">
<style>${CSS}</style>
</head>
<body>${BODY}<script>
(function () {
'use strict';
${PAGE_HELPERS_JS}
${PAGE_APP_JS}
})();
</script>
</body>
</html>
`;
