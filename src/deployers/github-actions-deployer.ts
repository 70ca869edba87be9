import { Octokit } from '@octokit/rest';
import type { Clock } from '../core/clock';
import type { GithubActionsSpec } from '../core/deploy-specs';
import { formatDuration } from '../core/format-duration';
import type { Deployer, DeployOutcome, DeployRequest } from '../core/ports';
import { isTransient, pollUntil, PollTimeoutError, retryTransient } from './retry';

/**
 * GitHub stamps `created_at` in whole seconds by its own clock, so a run we started may look
 * slightly older than our dispatch. Runs listed before we dispatched are excluded by ID, so the
 * margin can be generous.
 */
export const CREATED_SKEW_MS = 60_000;
/** How far back to look for a run that an attempt before a crash or restart dispatched. */
export const RESUME_WINDOW_MS = 24 * 60 * 60_000;
/** Run conclusions after which the failed jobs are worth listing in the thread. */
const JOB_FAILURES = new Set(['failure', 'timed_out']);

export interface GithubActionsDeps {
  clock: Clock;
  /** Shared GitHub access; the spec's apiUrl and token win. `timeout` bounds each request. */
  github: { apiUrl: string; token?: string; timeout: number };
  /** First wait between retries of transient failures; tests make it short. */
  retryDelayMs?: number;
}

/** The fields of a workflow run this deployer reads (GET /repos/{owner}/{repo}/actions/runs/{run_id}). */
interface Run {
  id: number;
  run_number: number;
  display_title: string;
  status: string | null;
  conclusion: string | null;
  html_url: string;
  created_at: string;
}

/** A failure already put into words; `deploy` turns it into the outcome as it is. */
class GiveUp extends Error {}

const PLACEHOLDER = /\{\{\s*(service|environment|version|idempotencyKey)\s*\}\}/g;

export function fillInputs(inputs: Record<string, string>, request: DeployRequest): Record<string, string> {
  const values: Record<string, string> = { service: request.service, environment: request.environment, version: request.version, idempotencyKey: request.idempotencyKey };
  return Object.fromEntries(Object.entries(inputs).map(([name, value]) => [name, value.replace(PLACEHOLDER, (_, key: string) => values[key] ?? '')]));
}

/**
 * Whether a run title carries the key as a whole token: `deploy:1:api` must not match a run of
 * `deploy:1:api-gateway`.
 */
export function titleHasKey(title: string | null | undefined, key: string): boolean {
  const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![\\w:.@/-])${escaped}(?![\\w:.@/-])`).test(title ?? '');
}

/** GitHub's date search syntax wants seconds, without milliseconds. */
const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * Runs a workflow through `workflow_dispatch` and follows the run it started until it completes
 * (POST .../actions/workflows/{workflow}/dispatches, then GET .../runs and .../runs/{id}).
 *
 * The dispatch answers 204 with no run ID, so the run is found by listing the workflow's
 * dispatched runs on the ref created since the dispatch, excluding those listed before it. GitHub
 * rejects inputs the workflow does not declare (422), so Shipmate sends only `inputs`. To make
 * the match exact, and to make a retried deploy follow the run an earlier attempt started instead
 * of dispatching again, the workflow should declare an input for the key and show it in its
 * `run-name`, and shipmate.yml should pass it:
 *
 *     on: { workflow_dispatch: { inputs: { ..., shipmate_key: { required: false } } } }
 *     run-name: Deploy ${{ inputs.service }} ${{ inputs.version }} [${{ inputs.shipmate_key }}]
 *     # shipmate.yml: inputs: { ..., shipmate_key: '{{idempotencyKey}}' }
 *
 * Without the key in the title, Shipmate follows the newest run created after its dispatch; if
 * someone else dispatches the same workflow on the same ref at the same moment, it may follow
 * theirs, and a retry after a crash dispatches again.
 */
export function createGithubActionsDeployer(spec: GithubActionsSpec, deps: GithubActionsDeps): Deployer {
  const [owner = '', repo = ''] = spec.repository.split('/');
  const token = spec.token ?? deps.github.token;
  const apiUrl = (spec.apiUrl ?? deps.github.apiUrl).replace(/\/$/, '');
  const octokit = new Octokit({ baseUrl: apiUrl, userAgent: 'Shipmate', ...(token ? { auth: token } : {}) });
  const branch = spec.ref.replace(/^refs\/(heads|tags)\//, '');
  const what = `${spec.workflow} in ${spec.repository}`;
  const retryOptions = { retries: spec.retries, ...(deps.retryDelayMs !== undefined ? { initialDelayMs: deps.retryDelayMs } : {}) };
  const perRequest = () => ({ request: { signal: AbortSignal.timeout(deps.github.timeout) } });
  const call = <T>(fn: () => Promise<T>): Promise<T> => retryTransient(fn, retryOptions);
  const redact = (text: string) => (token ? text.split(token).join('***') : text);

  const listRuns = async (filter: { created: string; branch?: string }): Promise<Run[]> => {
    const { data } = await call(() =>
      octokit.rest.actions.listWorkflowRuns({ owner, repo, workflow_id: spec.workflow, event: 'workflow_dispatch', per_page: 100, exclude_pull_requests: true, ...filter, ...perRequest() }),
    );
    return data.workflow_runs;
  };

  /** Polls `check` until the deadline; transient errors that outlast their retries just mean "ask again". */
  const pollWithin = <T>(deadline: number, check: () => Promise<T | undefined>, state: { lastError?: unknown }) =>
    pollUntil(
      async () => {
        try {
          return await check();
        } catch (error) {
          if (!isTransient(error)) throw error;
          state.lastError = error;
          return undefined;
        }
      },
      { intervalMs: spec.pollInterval, timeoutMs: Math.max(0, deadline - Date.now()), what },
    );

  const describe = (error: unknown, doing: 'dispatch' | 'read'): string => {
    const e = error as { status?: number; response?: { data?: { message?: string } }; message?: string };
    const said = e.response?.data?.message ?? e.message ?? String(error);
    if (!e.response) return `could not reach GitHub at ${new URL(apiUrl).host} for ${what}: ${said}`;
    const http = `HTTP ${e.status}: ${said}`;
    switch (e.status) {
      case 401:
        return `GitHub rejected the token for ${spec.repository} (${http}): check github.token, or the deploy's token, in shipmate.yml.`;
      case 403:
        return `GitHub refused access to ${what} (${http}): the token needs the actions:write permission (classic tokens: the repo scope).`;
      case 404:
        return `GitHub found no workflow ${spec.workflow} in ${spec.repository} (${http}): check the repository and the workflow file name, and that the token can see the repository.`;
      case 422:
        return doing === 'dispatch'
          ? `GitHub refused to dispatch ${what} on ${spec.ref} (${http}): check that the workflow has a workflow_dispatch trigger, that ${spec.ref} exists, and that it declares every input in shipmate.yml.`
          : `GitHub refused the request for the runs of ${what} (${http}).`;
      default:
        return `GitHub answered ${http} for ${what}${isTransient(error) ? `, also after ${spec.retries} retries` : ''}.`;
    }
  };

  const failedJobs = async (run: Run): Promise<string | undefined> => {
    try {
      const { data } = await call(() => octokit.rest.actions.listJobsForWorkflowRun({ owner, repo, run_id: run.id, filter: 'latest', per_page: 100, ...perRequest() }));
      const failed = data.jobs.filter((job) => JOB_FAILURES.has(job.conclusion ?? ''));
      return failed.length > 0 ? failed.map((job) => `${job.name}: ${job.conclusion}`).join('\n') : undefined;
    } catch {
      return undefined; // the run's conclusion and link say enough without the job names
    }
  };

  async function run(request: DeployRequest, deadline: number): Promise<DeployOutcome> {
    const key = request.idempotencyKey;
    const now = deps.clock().getTime();
    let earlier: Run[];
    try {
      earlier = await listRuns({ created: `>=${isoSeconds(now - RESUME_WINDOW_MS)}` });
    } catch (error) {
      throw new GiveUp(describe(error, 'read'));
    }
    let found = earlier.find((r) => titleHasKey(r.display_title, key));
    const resumed = found !== undefined;

    if (!found) {
      const dispatchedAt = deps.clock().getTime();
      try {
        // A 5xx may hide a dispatch GitHub did accept; a retry then starts a second run. With
        // the key in the run name, the one found below is still one of ours.
        await call(() => octokit.rest.actions.createWorkflowDispatch({ owner, repo, workflow_id: spec.workflow, ref: spec.ref, inputs: fillInputs(spec.inputs, request), ...perRequest() }));
      } catch (error) {
        throw new GiveUp(describe(error, 'dispatch'));
      }
      const seen = new Set(earlier.map((r) => r.id));
      const since = dispatchedAt - CREATED_SKEW_MS;
      const state: { lastError?: unknown } = {};
      try {
        found = await pollWithin(
          deadline,
          async () => {
            const fresh = (await listRuns({ branch, created: `>=${isoSeconds(since)}` }))
              .filter((r) => !seen.has(r.id) && Date.parse(r.created_at) >= since)
              .sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at) || b.id - a.id);
            return fresh.find((r) => titleHasKey(r.display_title, key)) ?? fresh[0];
          },
          state,
        );
      } catch (error) {
        if (!(error instanceof PollTimeoutError)) throw new GiveUp(describe(error, 'read'));
        const last = state.lastError ? ` (last error: ${describe(state.lastError, 'read')})` : '';
        throw new GiveUp(`GitHub accepted the dispatch of ${what} on ${spec.ref}, but no run of it appeared within ${formatDuration(spec.timeout)}${last}.`);
      }
    }

    const started = found;
    const label = `${spec.repository} ${spec.workflow} run #${started.run_number}`;
    const state: { lastError?: unknown } = {};
    let done: Run;
    try {
      done =
        started.status === 'completed'
          ? started
          : await pollWithin(
              deadline,
              async () => {
                const { data } = await call(() => octokit.rest.actions.getWorkflowRun({ owner, repo, run_id: started.id, exclude_pull_requests: true, ...perRequest() }));
                return data.status === 'completed' ? data : undefined;
              },
              state,
            );
    } catch (error) {
      if (!(error instanceof PollTimeoutError)) throw new GiveUp(`${describe(error, 'read')} Run: ${started.html_url}`);
      const last = state.lastError ? ` (last error: ${describe(state.lastError, 'read')})` : '';
      return { ok: false, error: `${label} did not finish within ${formatDuration(spec.timeout)}${last}: ${started.html_url}` };
    }

    const note = resumed ? ' (a run an earlier attempt started)' : '';
    if (done.conclusion === 'success') return { ok: true, summary: `${label} succeeded${note}: ${done.html_url}` };
    const outcome: DeployOutcome = { ok: false, error: `${label} concluded ${done.conclusion ?? 'without a conclusion'}${note}: ${done.html_url}` };
    const tail = JOB_FAILURES.has(done.conclusion ?? '') ? await failedJobs(done) : undefined;
    return tail ? { ...outcome, outputTail: tail } : outcome;
  }

  return {
    async deploy(request: DeployRequest): Promise<DeployOutcome> {
      try {
        const outcome = await run(request, Date.now() + spec.timeout);
        return outcome.ok
          ? { ok: true, summary: redact(outcome.summary) }
          : { ok: false, error: redact(outcome.error), ...(outcome.outputTail ? { outputTail: redact(outcome.outputTail) } : {}) };
      } catch (error) {
        const message = error instanceof GiveUp ? error.message : `the GitHub Actions deploy of ${what} failed: ${error instanceof Error ? error.message : String(error)}`;
        return { ok: false, error: redact(message) };
      }
    },
  };
}
