import type { View } from '@slack/types';
import { Blocks, Elements, HomeTab, Md } from 'slack-block-builder';
import type { HomeModel } from '../../flows/home-model';
import type { Deployment } from '../core/types';
import { ACTION_APPROVE_DEPLOY, ACTION_REJECT_DEPLOY, escapeMrkdwn, slackDate } from './render';

const line = (d: Deployment): string =>
  `${Md.bold(d.service)} ${Md.codeInline(d.version)} → ${d.environment} · ${d.status.replace('_', ' ')} · #${d.id} by ${Md.user(d.requestedBy)}`;

/** The App Home tab: what is moving, what waits for you, what is locked or frozen. */
export function renderHome(model: HomeModel): View {
  const section = (title: string, lines: string[], empty: string) => [
    Blocks.Header({ text: title }),
    Blocks.Section({ text: lines.length ? lines.join('\n') : `_${empty}_` }),
  ];
  return HomeTab()
    .blocks(
      ...model.awaitingMe.length
        ? [
            Blocks.Header({ text: 'Waiting for your approval' }),
            ...model.awaitingMe.flatMap((d) => [
              Blocks.Section({ text: `${line(d)}\n${d.approvals.length} of ${d.approvalsRequired} approvals${d.expiresAt ? ` · expires ${slackDate(d.expiresAt.toISOString())}` : ''}` }),
              Blocks.Actions().elements(
                Elements.Button({ text: 'Approve', actionId: ACTION_APPROVE_DEPLOY, value: String(d.id) }).primary(),
                Elements.Button({ text: 'Reject', actionId: ACTION_REJECT_DEPLOY, value: String(d.id) }).danger(),
              ),
            ]),
          ]
        : section('Waiting for your approval', [], 'Nothing waits for you.'),
      ...section('In progress', model.inProgress.map(line), 'No deploys in progress.'),
      ...section(
        'Releases',
        model.releases.map(
          (r) => `${Md.bold(r.name)} → ${r.environment} · ${r.status}${r.status === 'scheduled' && r.scheduledFor ? ` for ${slackDate(r.scheduledFor.toISOString())}` : ''} · #${r.id}`,
        ),
        'No releases running or scheduled.',
      ),
      ...section(
        'Locks',
        model.locks.map((l) => `:lock: ${l.service ? `${Md.bold(l.service)} in ${l.environment}` : Md.bold(l.environment)} by ${Md.user(l.lockedBy)} ${slackDate(l.lockedAt.toISOString())}: ${escapeMrkdwn(l.reason)}`),
        'Nothing is locked.',
      ),
      ...section(
        'Freezes',
        model.freezes.map((f) => `${f.active ? ':snowflake: *Now:*' : ':calendar:'} ${escapeMrkdwn(f.description)}`),
        'No freezes in the next 7 days.',
      ),
    )
    .buildToObject() as unknown as View;
}
