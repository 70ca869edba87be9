import { Octokit } from '@octokit/rest';
import { ExternalServiceError } from '../core/errors';
import type { ChecksVerdict, CommitChecks } from '../core/ports';

/** Check-run conclusions that do not block a deploy. */
const PASSING = new Set(['success', 'neutral', 'skipped']);

/**
 * Reads a ref's combined commit status and its check runs
 * (GET /repos/{owner}/{repo}/commits/{ref}/status and /check-runs). Green means every status
 * succeeded and every check run completed without failing, and at least one of them exists.
 */
export function createGitHubCommitChecks(options: { apiUrl: string; token?: string; timeoutMs: number }): CommitChecks {
  const octokit = new Octokit({
    baseUrl: options.apiUrl.replace(/\/$/, ''),
    userAgent: 'Shipmate',
    ...(options.token ? { auth: options.token } : {}),
  });
  return {
    async verify(repository: string, ref: string): Promise<ChecksVerdict> {
      const [owner = '', repo = ''] = repository.split('/');
      try {
        // @octokit/request 8 ignores a `timeout` option; an abort signal bounds each call.
        const request = () => ({ signal: AbortSignal.timeout(options.timeoutMs) });
        const { data: combined } = await octokit.rest.repos.getCombinedStatusForRef({ owner, repo, ref, per_page: 100, request: request() });
        const runs = await octokit.paginate(octokit.rest.checks.listForRef, { owner, repo, ref, per_page: 100, request: request() });
        const problems = [
          ...combined.statuses.filter((s) => s.state !== 'success').map((s) => `${s.context}: ${s.state}${s.description ? ` (${s.description})` : ''}`),
          ...runs
            .filter((r) => r.status !== 'completed' || !PASSING.has(r.conclusion ?? ''))
            .map((r) => `${r.name}: ${r.status === 'completed' ? r.conclusion : r.status}`),
        ];
        if (combined.statuses.length === 0 && runs.length === 0) problems.push(`no checks have reported on ${ref} yet`);
        if (problems.length > 0) return { green: false, problems };
        return { green: true, summary: `${combined.statuses.length + runs.length} checks green on ${repository}@${ref}` };
      } catch (error) {
        const status = (error as { status?: number }).status;
        if (status === 404 || status === 422) return { green: false, problems: [`${ref} is not a tag or commit in ${repository}`] };
        if (status === 401 || status === 403) {
          throw new ExternalServiceError(`GitHub refused to show the checks of ${repository} (HTTP ${status}): check github.token in shipmate.yml.`, false, { cause: error });
        }
        throw new ExternalServiceError(`Could not read the checks of ${repository}@${ref} from GitHub: ${(error as Error).message}`, true, { cause: error });
      }
    },
  };
}
