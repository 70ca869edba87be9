import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeStatus {
  context: string;
  state: 'success' | 'pending' | 'failure' | 'error';
  description?: string;
}

export interface FakeCheckRun {
  name: string;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion: 'success' | 'failure' | 'neutral' | 'cancelled' | 'skipped' | 'timed_out' | 'action_required' | null;
}

/**
 * The two GitHub REST endpoints pre-flight checks read, answering as GitHub documents them:
 * GET /repos/{owner}/{repo}/commits/{ref}/status (combined status) and
 * GET /repos/{owner}/{repo}/commits/{ref}/check-runs. Unknown refs get GitHub's 404 body.
 */
export class FakeGitHub {
  readonly refs = new Map<string, { statuses: FakeStatus[]; checkRuns: FakeCheckRun[] }>();
  readonly requests: { path: string; authorization: string | undefined }[] = [];
  /** Holds every answer this long, like a slow GitHub. */
  delayMs = 0;
  private server: Server | undefined;

  constructor(private readonly token: string) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.server = createServer(async (req, res) => {
      if (this.delayMs) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      this.requests.push({ path, authorization: req.headers.authorization });
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(body));
      };
      if (req.headers.authorization !== `token ${this.token}`) {
        return send(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
      }
      const match = /^\/repos\/([^/]+)\/([^/]+)\/commits\/(.+)\/(status|check-runs)$/.exec(path);
      const entry = match && this.refs.get(`${match[1]}/${match[2]}@${decodeURIComponent(match[3]!)}`);
      if (!match || !entry) {
        return send(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest/commits/statuses#get-the-combined-status-for-a-specific-reference', status: '404' });
      }
      const sha = 'a'.repeat(40);
      if (match[4] === 'status') {
        const states = entry.statuses.map((s) => s.state);
        const state = states.some((s) => s === 'failure' || s === 'error') ? 'failure' : states.length === 0 || states.some((s) => s === 'pending') ? 'pending' : 'success';
        return send(200, {
          state,
          sha,
          total_count: entry.statuses.length,
          statuses: entry.statuses.map((s, i) => ({ id: i + 1, state: s.state, context: s.context, description: s.description ?? null, target_url: null })),
          repository: { full_name: `${match[1]}/${match[2]}` },
        });
      }
      return send(200, {
        total_count: entry.checkRuns.length,
        check_runs: entry.checkRuns.map((r, i) => ({ id: i + 1, head_sha: sha, name: r.name, status: r.status, conclusion: r.conclusion, html_url: `https://github.com/${match[1]}/${match[2]}/runs/${i + 1}` })),
      });
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}
