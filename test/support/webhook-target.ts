import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedHook {
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A deploy target that answers webhooks: records each request and answers with the status the
 * test chose. `hold()` keeps requests waiting until released, to catch a deploy in the middle.
 */
export class WebhookTarget {
  readonly received: ReceivedHook[] = [];
  status = 200;
  responseBody = '{"accepted":true}';
  /** Chooses the status per request, e.g. to fail one service of a release; `status` otherwise. */
  statusFor: ((hook: ReceivedHook) => number) | undefined;
  /** Extra headers on every answer, e.g. a Location for a 202. */
  headers: Record<string, string> = {};
  /** Answers GET requests (a status URL): path -> JSON body, or undefined for 404. */
  onGet: ((path: string) => unknown) | undefined;
  readonly gets: string[] = [];
  private server: Server | undefined;
  private gate: Promise<void> | undefined;
  private arrivals: (() => void)[] = [];

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/deploy`;
  }

  async start(): Promise<this> {
    this.server = createServer(async (req, res) => {
      if (req.method === 'GET') {
        this.gets.push(req.url ?? '');
        const body = this.onGet?.(req.url ?? '');
        res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body ?? { error: 'not found' }));
        return;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const hook = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      this.received.push(hook);
      this.arrivals.splice(0).forEach((notify) => notify());
      await this.gate;
      res.writeHead(this.statusFor?.(hook) ?? this.status, { 'content-type': 'application/json', ...this.headers });
      res.end(this.responseBody);
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return this;
  }

  /** Holds every request until the returned function is called. */
  hold(): () => void {
    let release!: () => void;
    this.gate = new Promise((resolve) => (release = resolve));
    return () => {
      this.gate = undefined;
      release();
    };
  }

  /** Resolves once `count` requests have arrived. */
  async arrived(count: number): Promise<void> {
    while (this.received.length < count) await new Promise<void>((resolve) => this.arrivals.push(resolve));
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}
