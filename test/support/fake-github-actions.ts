import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Conclusion = 'success' | 'failure' | 'neutral' | 'cancelled' | 'skipped' | 'timed_out' | 'action_required' | 'stale';

export interface FakeJob {
  name: string;
  conclusion: Conclusion;
}

/** How a dispatched run behaves. */
export interface RunScript {
  /** GETs of the run it answers as queued or in progress before it is completed; Infinity: never. */
  completeAfterPolls?: number;
  conclusion?: Conclusion;
  jobs?: FakeJob[];
  /** Listings that still leave the new run out, as GitHub does for a moment after a dispatch. */
  hiddenForLists?: number;
}

export interface FakeWorkflow {
  id: number;
  repository: string;
  file: string;
  name: string;
  /** Refs a dispatch may name. */
  refs: string[];
  /** Declared workflow_dispatch inputs; others get GitHub's 422. */
  inputs: string[];
  /** Whether the workflow has an `on: workflow_dispatch` trigger. */
  dispatchable: boolean;
  /** The workflow's `run-name`, from the inputs; the workflow name without one. */
  runName?: (inputs: Record<string, string>) => string;
}

export interface FakeRun {
  id: number;
  workflow: FakeWorkflow;
  runNumber: number;
  displayTitle: string;
  event: string;
  headBranch: string;
  createdAt: Date;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion: Conclusion | null;
  polls: number;
  listings: number;
  script: Required<Omit<RunScript, 'jobs'>> & { jobs?: FakeJob[] };
}

export type Route = 'dispatch' | 'list' | 'run' | 'jobs';
/** A scripted answer that replaces the real one: an HTTP status (with GitHub's body), or no answer at all. */
export type Scripted = 500 | 502 | 503 | 403 | 'hang' | { status: number; body: unknown };

export interface Recorded {
  method: string;
  route: Route | 'unknown';
  path: string;
  query: URLSearchParams;
  authorization: string | undefined;
}

const DOCS = 'https://docs.github.com/rest/actions';

/**
 * The GitHub Actions REST endpoints the github-actions deployer uses, answering as GitHub
 * documents them: POST /repos/{o}/{r}/actions/workflows/{workflow_id}/dispatches (204, no body),
 * GET .../workflows/{workflow_id}/runs ({ total_count, workflow_runs }, newest first, filtered by
 * event, branch and created), GET .../actions/runs/{run_id} and GET .../runs/{run_id}/jobs
 * ({ total_count, jobs }). `created_at` is in whole seconds, like GitHub's. Runs move from queued
 * to in_progress to completed as they are polled, following the scripts queued with `script()`.
 */
export class FakeGitHubActions {
  readonly workflows: FakeWorkflow[] = [];
  readonly runs: FakeRun[] = [];
  readonly dispatches: { repository: string; workflow: string; ref: string; inputs: Record<string, string> }[] = [];
  readonly requests: Recorded[] = [];
  /** What GitHub's clock says; a test with a manual clock passes it here. */
  clock: () => Date = () => new Date();
  /** Called after each dispatch creates its run: to let someone else dispatch at the same moment. */
  onDispatch: ((run: FakeRun) => void) | undefined;
  private readonly scripts: RunScript[] = [];
  private readonly failures = new Map<Route, Scripted[]>();
  private readonly arrivals: (() => void)[] = [];
  private nextRunId = 9_000_001;
  private server: Server | undefined;

  constructor(private readonly token: string) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  addWorkflow(repository: string, file: string, options: Partial<Omit<FakeWorkflow, 'id' | 'repository' | 'file'>> = {}): FakeWorkflow {
    const workflow: FakeWorkflow = {
      id: 161_335 + this.workflows.length,
      repository,
      file,
      name: options.name ?? 'Deploy',
      refs: options.refs ?? ['main'],
      inputs: options.inputs ?? ['service', 'environment', 'version'],
      dispatchable: options.dispatchable ?? true,
      ...(options.runName ? { runName: options.runName } : {}),
    };
    this.workflows.push(workflow);
    return workflow;
  }

  /** How the next dispatched runs behave, in order; after them, runs succeed on the first poll. */
  script(...scripts: RunScript[]): this {
    this.scripts.push(...scripts);
    return this;
  }

  /** The next requests to a route get these answers instead of the real one. */
  failNext(route: Route, ...answers: Scripted[]): this {
    this.failures.set(route, [...(this.failures.get(route) ?? []), ...answers]);
    return this;
  }

  /** A run that exists already: one an earlier attempt dispatched, or someone else's. */
  addRun(workflow: FakeWorkflow, run: { displayTitle?: string; event?: string; headBranch?: string; createdAt?: Date; status?: FakeRun['status']; conclusion?: Conclusion | null } & RunScript = {}): FakeRun {
    const created: FakeRun = {
      id: this.nextRunId++,
      workflow,
      runNumber: this.runs.filter((r) => r.workflow === workflow).length + 1,
      displayTitle: run.displayTitle ?? workflow.name,
      event: run.event ?? 'workflow_dispatch',
      headBranch: run.headBranch ?? workflow.refs[0] ?? 'main',
      createdAt: wholeSeconds(run.createdAt ?? this.clock()),
      status: run.status ?? 'queued',
      conclusion: run.conclusion ?? null,
      polls: 0,
      listings: 0,
      script: { completeAfterPolls: run.completeAfterPolls ?? 1, conclusion: run.conclusion ?? 'success', hiddenForLists: run.hiddenForLists ?? 0, ...(run.jobs ? { jobs: run.jobs } : {}) },
    };
    this.runs.push(created);
    return created;
  }

  requestsTo(route: Route): Recorded[] {
    return this.requests.filter((r) => r.route === route);
  }

  /** Resolves once `count` requests to the route have arrived. */
  async arrived(route: Route, count: number): Promise<void> {
    while (this.requestsTo(route).length < count) await new Promise<void>((resolve) => this.arrivals.push(resolve));
  }

  htmlUrl(run: FakeRun): string {
    return `https://github.com/${run.workflow.repository}/actions/runs/${run.id}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req, res).catch((error: Error) => send(res, 500, { message: error.message }));
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://x');
    const m = /^\/repos\/([^/]+\/[^/]+)\/actions\/(?:workflows\/([^/]+)\/(dispatches|runs)|runs\/(\d+)(\/jobs)?)$/.exec(url.pathname);
    const route: Route | 'unknown' = !m ? 'unknown' : m[3] === 'dispatches' ? 'dispatch' : m[3] === 'runs' ? 'list' : m[5] ? 'jobs' : 'run';
    const expectedMethod = route === 'dispatch' ? 'POST' : 'GET';
    this.requests.push({ method: req.method ?? '', route, path: url.pathname, query: url.searchParams, authorization: req.headers.authorization });
    this.arrivals.splice(0).forEach((notify) => notify());

    const auth = req.headers.authorization ?? '';
    if (auth !== `token ${this.token}` && auth !== `bearer ${this.token}` && auth !== `Bearer ${this.token}`) {
      return send(res, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' });
    }
    if (route === 'unknown' || req.method !== expectedMethod) return notFound(res);
    const scripted = this.failures.get(route)?.shift();
    if (scripted === 'hang') return; // no answer: the client's timeout must end it
    if (scripted === 403) return send(res, 403, { message: 'Resource not accessible by integration', documentation_url: `${DOCS}/workflows#create-a-workflow-dispatch-event`, status: '403' });
    if (typeof scripted === 'object') return send(res, scripted.status, scripted.body);
    if (scripted !== undefined) return send(res, scripted, { message: 'Server Error' });

    const repository = decodeURIComponent(m![1]!);
    if (route === 'dispatch' || route === 'list') {
      const id = decodeURIComponent(m![2]!);
      const workflow = this.workflows.find((w) => w.repository === repository && (w.file === id || String(w.id) === id));
      if (!workflow) return notFound(res);
      if (route === 'dispatch') return this.dispatch(res, workflow, JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'));
      return this.list(res, workflow, url.searchParams);
    }
    const run = this.runs.find((r) => r.id === Number(m![4]) && r.workflow.repository === repository);
    if (!run) return notFound(res);
    if (route === 'jobs') return send(res, 200, { total_count: this.jobsOf(run).length, jobs: this.jobsOf(run) });
    run.polls += 1;
    if (run.status !== 'completed') {
      if (run.polls >= run.script.completeAfterPolls) {
        run.status = 'completed';
        run.conclusion = run.script.conclusion;
      } else {
        run.status = 'in_progress';
      }
    }
    return send(res, 200, this.json(run));
  }

  private dispatch(res: ServerResponse, workflow: FakeWorkflow, body: { ref?: string; inputs?: Record<string, string> }): void {
    const inputs = body.inputs ?? {};
    if (!workflow.dispatchable) return unprocessable(res, "Workflow does not have 'workflow_dispatch' trigger");
    // Like GitHub, a dispatch may name a ref in full (refs/heads/main); runs show the short name.
    const ref = (body.ref ?? '').replace(/^refs\/(heads|tags)\//, '');
    if (!workflow.refs.includes(ref)) return unprocessable(res, `No ref found for: ${body.ref ?? ''}`);
    const unexpected = Object.keys(inputs).filter((name) => !workflow.inputs.includes(name));
    if (unexpected.length > 0) return unprocessable(res, `Unexpected inputs provided: ${JSON.stringify(unexpected)}`);
    this.dispatches.push({ repository: workflow.repository, workflow: workflow.file, ref: body.ref!, inputs });
    const run = this.addRun(workflow, { displayTitle: workflow.runName?.(inputs) ?? workflow.name, headBranch: ref, ...(this.scripts.shift() ?? {}) });
    this.onDispatch?.(run);
    res.writeHead(204);
    res.end();
  }

  private list(res: ServerResponse, workflow: FakeWorkflow, query: URLSearchParams): void {
    const created = parseCreated(query.get('created'));
    if (!created) return send(res, 422, { message: `Invalid created: ${query.get('created')}`, documentation_url: `${DOCS}/workflow-runs#list-workflow-runs-for-a-workflow`, status: '422' });
    const perPage = Math.min(Number(query.get('per_page') ?? 30), 100);
    const matching = this.runs
      .filter((r) => r.workflow === workflow)
      .filter((r) => !query.has('event') || r.event === query.get('event'))
      .filter((r) => !query.has('branch') || r.headBranch === query.get('branch'))
      .filter((r) => created(r.createdAt))
      .filter((r) => r.listings++ >= r.script.hiddenForLists)
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.id - a.id);
    send(res, 200, { total_count: matching.length, workflow_runs: matching.slice(0, perPage).map((r) => this.json(r)) });
  }

  private jobsOf(run: FakeRun): object[] {
    const jobs = run.script.jobs ?? [{ name: 'deploy', conclusion: run.script.conclusion }];
    return jobs.map((job, i) => ({
      id: run.id * 10 + i,
      run_id: run.id,
      name: job.name,
      status: run.status,
      conclusion: run.status === 'completed' ? job.conclusion : null,
      html_url: `${this.htmlUrl(run)}/job/${run.id * 10 + i}`,
      started_at: run.createdAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      completed_at: null,
    }));
  }

  private json(run: FakeRun): object {
    const { repository } = run.workflow;
    return {
      id: run.id,
      name: run.workflow.name,
      display_title: run.displayTitle,
      run_number: run.runNumber,
      run_attempt: 1,
      event: run.event,
      status: run.status,
      conclusion: run.conclusion,
      workflow_id: run.workflow.id,
      head_branch: run.headBranch,
      head_sha: 'a'.repeat(40),
      path: `.github/workflows/${run.workflow.file}`,
      url: `https://api.github.com/repos/${repository}/actions/runs/${run.id}`,
      html_url: this.htmlUrl(run),
      jobs_url: `https://api.github.com/repos/${repository}/actions/runs/${run.id}/jobs`,
      pull_requests: [],
      created_at: run.createdAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      updated_at: run.createdAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    };
  }
}

const wholeSeconds = (date: Date) => new Date(Math.floor(date.getTime() / 1000) * 1000);

/** GitHub's date qualifiers: >=T, >T, <=T, <T and A..B. */
function parseCreated(value: string | null): ((date: Date) => boolean) | undefined {
  if (!value) return () => true;
  const range = /^(.+)\.\.(.+)$/.exec(value);
  if (range && (Number.isNaN(Date.parse(range[1]!)) || Number.isNaN(Date.parse(range[2]!)))) return undefined;
  if (range) return (d) => d.getTime() >= Date.parse(range[1]!) && d.getTime() <= Date.parse(range[2]!);
  const m = /^(>=|>|<=|<)?(.+)$/.exec(value)!;
  const at = Date.parse(m[2]!);
  if (Number.isNaN(at)) return undefined;
  const op = m[1] ?? '';
  return (d) => (op === '>=' ? d.getTime() >= at : op === '>' ? d.getTime() > at : op === '<=' ? d.getTime() <= at : op === '<' ? d.getTime() < at : wholeDay(d, at));
}

const wholeDay = (d: Date, at: number) => d.toISOString().slice(0, 10) === new Date(at).toISOString().slice(0, 10);

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function notFound(res: ServerResponse): void {
  send(res, 404, { message: 'Not Found', documentation_url: `${DOCS}/workflows#create-a-workflow-dispatch-event`, status: '404' });
}

function unprocessable(res: ServerResponse, message: string): void {
  send(res, 422, { message, documentation_url: `${DOCS}/workflows#create-a-workflow-dispatch-event`, status: '422' });
}
