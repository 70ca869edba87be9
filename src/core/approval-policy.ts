import { z } from 'zod';
import { duration } from './duration';
import { formatDuration } from './format-duration';

/**
 * Who may approve a release, how many must, and for how long a request stays open. Decisions are
 * pure: group membership comes in as a function and the time as an argument, so a flow can call
 * them on every button click and tests can stand at the exact millisecond a request expires.
 */

export interface ApprovalPolicy {
  /** How many different people must approve; at least 1. */
  required: number;
  /** Slack user IDs (U…/W…) and user group IDs (S…); anyone listed or in a listed group may approve. */
  approvers: { users: string[]; groups: string[] };
  /** Whether the person who asked for the release may count as one of its approvers. */
  allowSelfApproval: boolean;
  expiresAfterMs: number;
}

export interface Approval {
  userId: string;
  at: Date;
}

export type ApprovalDecision =
  | { kind: 'counted'; approvals: Approval[]; remaining: number; approved: boolean }
  /** Nothing changes: the clicker's approval is already counted, or the request already has every approval it needs. */
  | { kind: 'already-approved' }
  | { kind: 'not-an-approver'; message: string }
  | { kind: 'self-approval'; message: string }
  | { kind: 'expired'; message: string };

export type RejectionDecision =
  /** The requester called off their own request. */
  | { kind: 'withdrawn' }
  /** An approver said no; one is enough, even if others approved (or they approved earlier themselves). */
  | { kind: 'rejected' }
  | { kind: 'already-approved'; message: string }
  | { kind: 'not-an-approver'; message: string }
  | { kind: 'expired'; message: string };

export interface ApprovalRequest {
  policy: ApprovalPolicy;
  /** Slack user ID of the person who asked for the release. */
  requester: string;
  /** Approvals so far, oldest first. */
  approvals: readonly Approval[];
  /** Slack user ID of the person who clicked. */
  clicker: string;
  /** Members of a user group; the edge resolves them (usergroups.users.list). */
  groupMembers: (groupId: string) => readonly string[];
  now: Date;
  requestedAt: Date;
}

export interface ApprovalStatus {
  state: 'pending' | 'approved' | 'expired';
  remaining: number;
  expiresAt: Date;
}

const DEFAULT_EXPIRY_MS = 4 * 60 * 60 * 1000;

const slackUserId = z.string().regex(/^[UW][A-Z0-9]{6,}$/, 'expected a Slack user ID like U0123ABCD');
const userGroupId = z.string().regex(/^S[A-Z0-9]{6,}$/, 'expected a user group ID like S0123ABCD');

/** The `approval` block of shipmate.yml; parses to an ApprovalPolicy. */
export const approvalPolicySchema = z
  .strictObject({
    required: z
      .number({ error: 'must be a whole number, 1 or more' })
      .int('must be a whole number, 1 or more')
      .min(1, 'must be a whole number, 1 or more')
      .default(1),
    approvers: z
      .strictObject({
        users: z.array(slackUserId).default([]),
        groups: z.array(userGroupId).default([]),
      })
      .default({ users: [], groups: [] }),
    allowSelfApproval: z.boolean({ error: 'must be true or false' }).default(false),
    expiresAfter: duration.default(DEFAULT_EXPIRY_MS),
  })
  .superRefine((policy, ctx) => {
    const users = new Set(policy.approvers.users).size;
    const groups = policy.approvers.groups.length;
    if (users === 0 && groups === 0) {
      ctx.addIssue({ code: 'custom', path: ['approvers'], message: 'name at least one approver in users or groups' });
    } else if (groups === 0 && policy.required > users) {
      ctx.addIssue({
        code: 'custom',
        path: ['required'],
        message: `${policy.required} approvals are required but approvers.users lists only ${users}; lower required or add approvers`,
      });
    }
  })
  .transform(
    (policy): ApprovalPolicy => ({
      required: policy.required,
      approvers: { users: [...new Set(policy.approvers.users)], groups: [...new Set(policy.approvers.groups)] },
      allowSelfApproval: policy.allowSelfApproval,
      expiresAfterMs: policy.expiresAfter,
    }),
  );

export type ApprovalPolicyInput = z.input<typeof approvalPolicySchema>;

/**
 * Order matters: a finished request stays finished (a second click by anyone changes nothing),
 * then expiry, then who is clicking. Self-approval is checked before approver rights so the
 * requester learns the real reason even when they are also listed.
 */
export function decideApproval(request: ApprovalRequest): ApprovalDecision {
  const { policy, requester, approvals, clicker, now, requestedAt } = request;
  const status = approvalStatus(policy, approvals, now, requestedAt);
  if (status.state === 'approved' || approvals.some((a) => a.userId === clicker)) return { kind: 'already-approved' };
  if (status.state === 'expired') return { kind: 'expired', message: expiredMessage(policy) };
  if (clicker === requester && !policy.allowSelfApproval) {
    return {
      kind: 'self-approval',
      message: `You asked for this release, so someone else has to approve it. ${whoCan('approved', policy, requester)}`,
    };
  }
  if (!isApprover(request)) {
    return { kind: 'not-an-approver', message: `You aren't an approver for this release. ${whoCan('approved', policy)}` };
  }
  const next = [...approvals, { userId: clicker, at: now }];
  const remaining = remainingFor(policy, next);
  return { kind: 'counted', approvals: next, remaining, approved: remaining === 0 };
}

/**
 * The requester may always withdraw their own request while it is open, whatever the policy says
 * about self-approval: calling off your own release needs no one's permission. Anyone else needs
 * approver rights to reject. Once approved or expired there is nothing left to reject.
 */
export function decideRejection(request: ApprovalRequest): RejectionDecision {
  const { policy, requester, approvals, clicker, now, requestedAt } = request;
  const status = approvalStatus(policy, approvals, now, requestedAt);
  if (status.state === 'approved') {
    return { kind: 'already-approved', message: 'This release already has the approvals it needs, so it can no longer be rejected.' };
  }
  if (status.state === 'expired') return { kind: 'expired', message: expiredMessage(policy) };
  if (clicker === requester) return { kind: 'withdrawn' };
  if (!isApprover(request)) {
    return {
      kind: 'not-an-approver',
      message: `You aren't an approver for this release, so you can't reject it. ${whoCan('approved or rejected', policy)}`,
    };
  }
  return { kind: 'rejected' };
}

/** Approved wins over expired: approvals are only ever counted before the deadline. */
export function approvalStatus(
  policy: ApprovalPolicy,
  approvals: readonly Approval[],
  now: Date,
  requestedAt: Date,
): ApprovalStatus {
  const expiresAt = new Date(requestedAt.getTime() + policy.expiresAfterMs);
  const remaining = remainingFor(policy, approvals);
  const state = remaining === 0 ? 'approved' : now.getTime() >= expiresAt.getTime() ? 'expired' : 'pending';
  return { state, remaining, expiresAt };
}

/**
 * `Approved by <@U1> (10:02), <@U2> (10:05) · 1 more needed · expires 14:00`. `formatTime` lets
 * Slack render times in each reader's zone (`<!date^…^{time}|…>`) and the console use its own.
 */
export function describeApprovals(
  policy: ApprovalPolicy,
  approvals: readonly Approval[],
  now: Date,
  requestedAt: Date,
  formatTime: (at: Date) => string,
): string {
  const { state, remaining, expiresAt } = approvalStatus(policy, approvals, now, requestedAt);
  const given = uniqueApprovals(approvals);
  const more = given.length > 0 ? ' more' : '';
  const parts = [
    given.length > 0
      ? `Approved by ${given.map((a) => `<@${a.userId}> (${formatTime(a.at)})`).join(', ')}`
      : state === 'expired' ? 'No approvals' : 'No approvals yet',
  ];
  if (state === 'pending') {
    parts.push(`${remaining}${more} needed`, `expires ${formatTime(expiresAt)}`);
  } else if (state === 'expired') {
    parts.push(`${remaining}${more} ${remaining === 1 ? 'was' : 'were'} needed`, `expired ${formatTime(expiresAt)}`);
  }
  return parts.join(' · ');
}

function isApprover({ policy, clicker, groupMembers }: ApprovalRequest): boolean {
  return policy.approvers.users.includes(clicker) || policy.approvers.groups.some((group) => groupMembers(group).includes(clicker));
}

/** First approval per person; the same person twice counts once. */
function uniqueApprovals(approvals: readonly Approval[]): Approval[] {
  const seen = new Set<string>();
  return approvals.filter((a) => !seen.has(a.userId) && seen.add(a.userId));
}

function remainingFor(policy: ApprovalPolicy, approvals: readonly Approval[]): number {
  return Math.max(0, policy.required - uniqueApprovals(approvals).length);
}

/** `It can be approved by <@U1>, <@U2> or anyone in <!subteam^S1>.`, leaving out `except`. */
function whoCan(verb: string, policy: ApprovalPolicy, except?: string): string {
  const names = [
    ...policy.approvers.users.filter((user) => user !== except).map((user) => `<@${user}>`),
    ...policy.approvers.groups.map((group) => `anyone in <!subteam^${group}>`),
  ];
  if (names.length === 0) return 'No one else is listed as an approver; add approvers to the approval policy in shipmate.yml.';
  const list = names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]!}`;
  return `It can be ${verb} by ${list}.`;
}

function expiredMessage(policy: ApprovalPolicy): string {
  const after = formatDuration(policy.expiresAfterMs);
  return `This approval request expired ${after} after it was made, so it can no longer be approved or rejected. Ask for the release again to start a new request.`;
}
