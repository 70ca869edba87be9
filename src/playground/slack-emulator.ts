import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedCall {
  method: string;
  args: Record<string, unknown>;
  token: string | undefined;
}

/** A JSON body, as every Web API method answers; text only for the upload URL. */
type Answer = { status?: number; headers?: Record<string, string>; body: Record<string, unknown> | string };

/** A file as files.completeUploadExternal shares it in a message. */
export interface StoredFile {
  id: string;
  title: string;
  name: string;
  mimetype: string;
}

/** The bytes posted to an upload URL, with the names the upload was given. */
export interface UploadedFile {
  bytes: Buffer;
  filename: string;
  title: string;
}

/** A message as the emulator keeps it, per channel. */
export interface StoredMessage {
  ts: string;
  text: unknown;
  blocks: unknown;
  thread_ts?: string;
  metadata?: unknown;
  /** Set on a person's message (the playground); Shipmate's own have none. */
  user?: string;
  files?: StoredFile[];
}

async function readBytes(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Slack takes the bytes of an upload raw or as multipart form data; @slack/web-api sends a form with
 * one file part. The platform's own Response parses multipart, so no parser is needed here.
 */
async function uploadedBytes(req: IncomingMessage): Promise<Buffer> {
  const raw = await readBytes(req);
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('multipart/form-data')) return raw;
  const form = await new Response(raw, { headers: { 'content-type': type } }).formData();
  const part = [...form.values()].find((v) => typeof v !== 'string') as Blob | undefined;
  return part ? Buffer.from(await part.arrayBuffer()) : Buffer.alloc(0);
}

const MIME_TYPES: Record<string, string> = { png: 'image/png', jpg: 'image/jpeg', gif: 'image/gif', txt: 'text/plain' };

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = (await readBytes(req)).toString('utf8');
  if (!text) return {};
  if ((req.headers['content-type'] ?? '').includes('application/json')) return JSON.parse(text) as Record<string, unknown>;
  // The Web API client form-encodes arguments and JSON-encodes the nested ones (blocks, metadata).
  const args: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    args[key] = /^[[{]/.test(value) ? JSON.parse(value) : value;
  }
  return args;
}

/**
 * A small stand-in for the Slack Web API (https://api.slack.com/methods): it answers the methods
 * Shipmate calls the way Slack documents them, checks the bot token, records every call, and can
 * be told to fail a method (an error or a 429 with Retry-After) to test the outbox.
 */
export class SlackEmulator {
  readonly calls: RecordedCall[] = [];
  private server: Server | undefined;
  private nextTs = 1_700_000_000;
  private readonly failures = new Map<string, Answer[]>();
  private readonly holds: { method: string; predicate: (args: Record<string, unknown>) => boolean; release: Promise<void> }[] = [];
  /** Members of each user group, answered by usergroups.users.list. */
  readonly userGroups = new Map<string, string[]>();
  /** Messages by channel, oldest first, as chat.postMessage and chat.update left them. */
  readonly channels = new Map<string, StoredMessage[]>();
  /** Files whose bytes reached their upload URL, by file ID. */
  readonly uploadedFiles = new Map<string, UploadedFile>();
  /** Filenames by the file ID files.getUploadURLExternal handed out an upload URL for. */
  private readonly uploadUrls = new Map<string, string>();
  private readonly waiters: { predicate: (c: RecordedCall) => boolean; resolve: (c: RecordedCall) => void }[] = [];

  /** `firstTs`: the first message timestamp, in seconds (tests use a fixed one; the playground now). */
  constructor(private readonly botToken = 'xoxb-test-token', options: { firstTs?: number } = {}) {
    if (options.firstTs !== undefined) this.nextTs = options.firstTs;
  }

  /** A person's message in a channel or thread, as the playground posts it. Returns its ts. */
  postAs(user: string, channel: string, text: string, threadTs?: string): string {
    const ts = `${this.nextTs++}.000100`;
    const message: StoredMessage = { ts, text, blocks: undefined, user, ...(threadTs ? { thread_ts: threadTs } : {}) };
    this.channels.set(channel, [...(this.channels.get(channel) ?? []), message]);
    return ts;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  /** What SLACK_API_URL should be. */
  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req).then((answer) => {
        const json = typeof answer.body !== 'string';
        res.writeHead(answer.status ?? 200, { 'content-type': json ? 'application/json' : 'text/plain', ...answer.headers });
        res.end(json ? JSON.stringify(answer.body) : answer.body);
      });
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server!.close(resolve));
  }

  /** The next call(s) of `method` get this answer instead of success. */
  failNext(method: string, answer: Answer): void {
    this.failures.set(method, [...(this.failures.get(method) ?? []), answer]);
  }

  /** Slack is back: failures told to come are forgotten. */
  clearFailures(): void {
    this.failures.clear();
  }

  /**
   * The next call of `method` takes effect (a posted message is stored) but its answer waits
   * until `release` resolves: what a process that dies mid-call leaves behind.
   */
  holdNext(method: string, release: Promise<void>, predicate: (args: Record<string, unknown>) => boolean = () => true): void {
    this.holds.push({ method, predicate, release });
  }

  /** Top-level messages of a channel (not thread replies), oldest first. */
  messagesIn(channel: string): StoredMessage[] {
    return (this.channels.get(channel) ?? []).filter((m) => !m.thread_ts);
  }

  repliesTo(channel: string, ts: string): StoredMessage[] {
    return (this.channels.get(channel) ?? []).filter((m) => m.thread_ts === ts);
  }

  callsTo(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Resolves with the first call (already made or still to come) that matches. */
  waitFor(method: string, predicate: (args: Record<string, unknown>) => boolean = () => true): Promise<RecordedCall> {
    const matches = (c: RecordedCall) => c.method === method && predicate(c.args);
    const found = this.calls.find(matches);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => this.waiters.push({ predicate: matches, resolve }));
  }

  private record(call: RecordedCall): void {
    this.calls.push(call);
    for (const waiter of [...this.waiters]) {
      if (waiter.predicate(call)) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve(call);
      }
    }
  }

  private async handle(req: IncomingMessage): Promise<Answer> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path.startsWith('/upload/')) return this.upload(req, path.slice('/upload/'.length));
    const args = await readBody(req);
    const token = req.headers.authorization?.replace(/^Bearer /, '');
    if (path.startsWith('/response/')) {
      this.record({ method: 'response_url', args: { ...args, path }, token });
      return { body: { ok: true } };
    }
    const method = path.replace(/^\/api\//, '');
    this.record({ method, args, token });
    const failure = this.failures.get(method)?.shift();
    if (failure) return failure;
    if (token !== this.botToken) return { body: { ok: false, error: 'invalid_auth' } };
    const body = this.answer(method, args);
    const hold = this.holds.findIndex((h) => h.method === method && h.predicate(args));
    if (hold >= 0) await this.holds.splice(hold, 1)[0]!.release;
    return { body };
  }

  /**
   * The upload URL of files.getUploadURLExternal. Slack's is pre-signed, so no token is checked;
   * it answers 200 with "OK - <bytes>" (https://docs.slack.dev/reference/methods/files.getUploadURLExternal).
   */
  private async upload(req: IncomingMessage, fileId: string): Promise<Answer> {
    const bytes = await uploadedBytes(req);
    const token = req.headers.authorization?.replace(/^Bearer /, '');
    this.record({ method: 'upload', args: { file_id: fileId, length: bytes.length, content_type: req.headers['content-type'] }, token });
    const failure = this.failures.get('upload')?.shift();
    if (failure) return failure;
    const filename = this.uploadUrls.get(fileId);
    if (!filename) return { status: 404, body: 'Not Found' };
    this.uploadedFiles.set(fileId, { bytes, filename, title: filename });
    return { body: `OK - ${bytes.length}` };
  }

  /** https://docs.slack.dev/reference/methods/files.completeUploadExternal */
  private completeUpload(args: Record<string, unknown>): Record<string, unknown> {
    const requested = Array.isArray(args.files) ? (args.files as { id?: string; title?: string }[]) : [];
    if (requested.length === 0) return { ok: false, error: 'invalid_arguments' };
    if (requested.some((f) => !f.id || !this.uploadedFiles.has(f.id))) return { ok: false, error: 'file_not_found' };
    const files: StoredFile[] = requested.map(({ id, title }) => {
      const uploaded = this.uploadedFiles.get(id!)!;
      if (title) uploaded.title = title;
      const mimetype = MIME_TYPES[uploaded.filename.split('.').pop()!.toLowerCase()] ?? 'application/octet-stream';
      return { id: id!, title: uploaded.title, name: uploaded.filename, mimetype };
    });
    if (args.channel_id) {
      const channel = String(args.channel_id);
      const message: StoredMessage = { ts: `${this.nextTs++}.000100`, text: args.initial_comment ?? '', blocks: undefined, files };
      if (args.thread_ts) message.thread_ts = String(args.thread_ts);
      this.channels.set(channel, [...(this.channels.get(channel) ?? []), message]);
    }
    return { ok: true, files: files.map((f) => ({ ...f, size: this.uploadedFiles.get(f.id)!.bytes.length })) };
  }

  private shown(m: StoredMessage, withMetadata: boolean): Record<string, unknown> {
    const { metadata, ...rest } = m;
    return { type: 'message', bot_id: 'B0BOT', ...rest, ...(withMetadata && metadata ? { metadata } : {}) };
  }

  private answer(method: string, args: Record<string, unknown>): Record<string, unknown> {
    switch (method) {
      case 'auth.test':
        return { ok: true, url: 'https://acme.slack.com/', team: 'Acme', user: 'shipmate', team_id: 'T0ACME', user_id: 'U0BOT', bot_id: 'B0BOT' };
      case 'chat.postMessage': {
        if (!args.channel) return { ok: false, error: 'channel_not_found' };
        const channel = String(args.channel);
        const ts = `${this.nextTs++}.000100`;
        const message: StoredMessage = { ts, text: args.text, blocks: args.blocks, metadata: args.metadata };
        if (args.thread_ts) message.thread_ts = String(args.thread_ts);
        this.channels.set(channel, [...(this.channels.get(channel) ?? []), message]);
        return { ok: true, channel, ts, message: { type: 'message', text: args.text, ts, bot_id: 'B0BOT', blocks: args.blocks } };
      }
      case 'chat.update': {
        const stored = this.channels.get(String(args.channel))?.find((m) => m.ts === args.ts);
        if (!stored) return { ok: false, error: 'message_not_found' };
        Object.assign(stored, { text: args.text, blocks: args.blocks });
        return { ok: true, channel: args.channel, ts: args.ts, text: args.text, message: { text: args.text, blocks: args.blocks } };
      }
      case 'conversations.history': {
        // Newest first, metadata only when asked for (https://api.slack.com/methods/conversations.history).
        const all = args.include_all_metadata === 'true' || args.include_all_metadata === true;
        const messages = this.messagesIn(String(args.channel)).reverse().map((m) => this.shown(m, all));
        return { ok: true, messages, has_more: false, pin_count: 0 };
      }
      case 'conversations.replies': {
        const all = args.include_all_metadata === 'true' || args.include_all_metadata === true;
        const parent = this.channels.get(String(args.channel))?.find((m) => m.ts === args.ts);
        if (!parent) return { ok: false, error: 'thread_not_found' };
        const thread = [parent, ...this.repliesTo(String(args.channel), String(args.ts))];
        return { ok: true, messages: thread.map((m) => this.shown(m, all)), has_more: false };
      }
      case 'usergroups.users.list': {
        const users = this.userGroups.get(String(args.usergroup));
        return users ? { ok: true, users } : { ok: false, error: 'no_such_subteam' };
      }
      case 'views.publish':
        if (!args.user_id) return { ok: false, error: 'invalid_arguments' };
        return { ok: true, view: { id: `V${this.nextTs++}`, ...(args.view as object) } };
      case 'views.open':
        if (!args.trigger_id) return { ok: false, error: 'invalid_trigger_id' };
        return { ok: true, view: { id: `V${this.nextTs++}`, ...(args.view as object) } };
      case 'files.getUploadURLExternal': {
        // "missing_argument ... Typically only occurs when the length provided is 0."
        if (!args.filename || !(Number(args.length) > 0)) return { ok: false, error: 'missing_argument' };
        const fileId = `F${this.nextTs++}`;
        this.uploadUrls.set(fileId, String(args.filename));
        return { ok: true, upload_url: `${this.url}/upload/${fileId}`, file_id: fileId };
      }
      case 'files.completeUploadExternal':
        return this.completeUpload(args);
      case 'chat.postEphemeral':
        return { ok: true, message_ts: `${this.nextTs++}.000200` };
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }
}
