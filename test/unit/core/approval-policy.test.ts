import {
  approvalPolicySchema,
  approvalStatus,
  decideApproval,
  decideRejection,
  describeApprovals,
  type Approval,
  type ApprovalPolicy,
  type ApprovalRequest,
} from '../../../src/core/approval-policy';
import { formatIssues } from '../../../src/core/config';

const ALICE = 'U0ALICE01';
const BOB = 'U0BOB0001';
const ERIN = 'U0ERIN001'; // in the SRE group only
const MALLORY = 'U0MALLORY'; // no approver rights anywhere
const DAVE = 'U0DAVE001'; // asks for releases
const SRE = 'S0SRE0001';
const DBA = 'S0DBA0001';

const HOUR = 3_600_000;
const requestedAt = new Date('2024-05-01T10:00:00Z');
const at = (minutes: number) => new Date(requestedAt.getTime() + minutes * 60_000);

const policyWith = (overrides: Partial<ApprovalPolicy> = {}): ApprovalPolicy => ({
  required: 1,
  approvers: { users: [ALICE, BOB], groups: [SRE] },
  allowSelfApproval: false,
  expiresAfterMs: 4 * HOUR,
  ...overrides,
});

const groups: Record<string, string[]> = { [SRE]: [ERIN, DAVE], [DBA]: [MALLORY] };
const groupMembers = (groupId: string): readonly string[] => groups[groupId] ?? [];

/** A click by `clicker` ten minutes after DAVE asked, on a policy with the given overrides. */
const click = (clicker: string, overrides: Partial<ApprovalRequest> = {}): ApprovalRequest => ({
  policy: policyWith(),
  requester: DAVE,
  approvals: [],
  clicker,
  groupMembers,
  now: at(10),
  requestedAt,
  ...overrides,
});

const approval = (userId: string, minutes: number): Approval => ({ userId, at: at(minutes) });

const WHO = `It can be approved by <@${ALICE}>, <@${BOB}> or anyone in <!subteam^${SRE}>.`;
const EXPIRED =
  'This approval request expired 4h after it was made, so it can no longer be approved or rejected. Ask for the release again to start a new request.';

describe('decideApproval', () => {
  it.each<[string, ApprovalRequest, ReturnType<typeof decideApproval>]>([
    [
      'a listed approver is counted',
      click(ALICE),
      { kind: 'counted', approvals: [approval(ALICE, 10)], remaining: 0, approved: true },
    ],
    [
      'a member of an approver group is counted',
      click(ERIN),
      { kind: 'counted', approvals: [approval(ERIN, 10)], remaining: 0, approved: true },
    ],
    [
      'someone with no rights is refused, and told who can approve',
      click(MALLORY),
      { kind: 'not-an-approver', message: `You aren't an approver for this release. ${WHO}` },
    ],
    [
      'a member of a group that is not an approver group is refused',
      click(MALLORY, { policy: policyWith({ approvers: { users: [ALICE], groups: [SRE] } }) }),
      { kind: 'not-an-approver', message: `You aren't an approver for this release. It can be approved by <@${ALICE}> or anyone in <!subteam^${SRE}>.` },
    ],
    [
      'the requester, even as a listed approver, may not approve their own release by default',
      click(ALICE, { requester: ALICE }),
      {
        kind: 'self-approval',
        message: `You asked for this release, so someone else has to approve it. It can be approved by <@${BOB}> or anyone in <!subteam^${SRE}>.`,
      },
    ],
    [
      'the requester who is an approver through a group may not approve it either',
      click(DAVE),
      {
        kind: 'self-approval',
        message: `You asked for this release, so someone else has to approve it. ${WHO}`,
      },
    ],
    [
      'the requester who is the only listed approver is told to add others',
      click(ALICE, { requester: ALICE, policy: policyWith({ approvers: { users: [ALICE], groups: [] } }) }),
      {
        kind: 'self-approval',
        message:
          'You asked for this release, so someone else has to approve it. No one else is listed as an approver; add approvers to the approval policy in shipmate.yml.',
      },
    ],
    [
      'with self-approval allowed, a requester who is an approver is counted',
      click(ALICE, { requester: ALICE, policy: policyWith({ allowSelfApproval: true }) }),
      { kind: 'counted', approvals: [approval(ALICE, 10)], remaining: 0, approved: true },
    ],
    [
      'with self-approval allowed, a requester who is a group member is counted',
      click(DAVE, { policy: policyWith({ allowSelfApproval: true }) }),
      { kind: 'counted', approvals: [approval(DAVE, 10)], remaining: 0, approved: true },
    ],
    [
      'self-approval allowed does not make a requester an approver',
      click(MALLORY, { requester: MALLORY, policy: policyWith({ allowSelfApproval: true }) }),
      { kind: 'not-an-approver', message: `You aren't an approver for this release. ${WHO}` },
    ],
    [
      'the same person twice counts once',
      click(ALICE, { policy: policyWith({ required: 2 }), approvals: [approval(ALICE, 5)] }),
      { kind: 'already-approved' },
    ],
    [
      'a click after the request is approved changes nothing',
      click(BOB, { approvals: [approval(ALICE, 5)] }),
      { kind: 'already-approved' },
    ],
  ])('%s', (_title, request, expected) => {
    expect(decideApproval(request)).toEqual(expected);
  });

  it('needs two different people when required is 2', () => {
    const policy = policyWith({ required: 2 });
    const first = decideApproval(click(ALICE, { policy, now: at(2) }));
    expect(first).toEqual({ kind: 'counted', approvals: [approval(ALICE, 2)], remaining: 1, approved: false });
    if (first.kind !== 'counted') throw new Error('expected counted');

    expect(decideApproval(click(ALICE, { policy, approvals: first.approvals, now: at(3) }))).toEqual({ kind: 'already-approved' });

    const second = decideApproval(click(ERIN, { policy, approvals: first.approvals, now: at(5) }));
    expect(second).toEqual({ kind: 'counted', approvals: [approval(ALICE, 2), approval(ERIN, 5)], remaining: 0, approved: true });
  });

  it('counts a person listed twice in earlier approvals once', () => {
    const decision = decideApproval(
      click(BOB, { policy: policyWith({ required: 3 }), approvals: [approval(ALICE, 1), approval(ALICE, 2)] }),
    );
    expect(decision).toMatchObject({ kind: 'counted', remaining: 1, approved: false });
  });

  it('does not change the approvals it was given', () => {
    const approvals = [approval(ALICE, 1)];
    decideApproval(click(BOB, { policy: policyWith({ required: 2 }), approvals }));
    expect(approvals).toEqual([approval(ALICE, 1)]);
  });

  describe('expiry', () => {
    const expiresAt = requestedAt.getTime() + 4 * HOUR;

    it.each<[string, number, string]>([
      ['a millisecond before expiry counts', expiresAt - 1, 'counted'],
      ['exactly at expiry is expired', expiresAt, 'expired'],
      ['after expiry is expired', expiresAt + 1, 'expired'],
    ])('%s', (_title, now, kind) => {
      expect(decideApproval(click(ALICE, { now: new Date(now) })).kind).toBe(kind);
    });

    it('says why and what to do, whoever clicks', () => {
      for (const clicker of [ALICE, ERIN, MALLORY, DAVE]) {
        expect(decideApproval(click(clicker, { now: new Date(expiresAt) }))).toEqual({ kind: 'expired', message: EXPIRED });
      }
    });

    it('names the policy’s own expiry in the message', () => {
      const decision = decideApproval(click(ALICE, { policy: policyWith({ expiresAfterMs: 30 * 60_000 }), now: at(30) }));
      expect(decision).toEqual({ kind: 'expired', message: EXPIRED.replace('4h', '30m') });
    });

    it('keeps an approval that completed in time, even when asked after expiry', () => {
      expect(decideApproval(click(BOB, { approvals: [approval(ALICE, 5)], now: new Date(expiresAt + 1) }))).toEqual({
        kind: 'already-approved',
      });
    });
  });

  it.each<[string, ApprovalPolicy['approvers'], string]>([
    ['one user', { users: [ALICE], groups: [] }, `It can be approved by <@${ALICE}>.`],
    ['two users', { users: [ALICE, BOB], groups: [] }, `It can be approved by <@${ALICE}> or <@${BOB}>.`],
    ['one group', { users: [], groups: [SRE] }, `It can be approved by anyone in <!subteam^${SRE}>.`],
    [
      'users and groups',
      { users: [ALICE], groups: [SRE, DBA] },
      `It can be approved by <@${ALICE}>, anyone in <!subteam^${SRE}> or anyone in <!subteam^${DBA}>.`,
    ],
  ])('lists approvers for %s', (_title, approvers, who) => {
    const decision = decideApproval(click('U0NOBODY1', { policy: policyWith({ approvers }) }));
    expect(decision).toEqual({ kind: 'not-an-approver', message: `You aren't an approver for this release. ${who}` });
  });
});

describe('decideRejection', () => {
  it.each<[string, ApprovalRequest, ReturnType<typeof decideRejection>]>([
    ['a listed approver rejects', click(BOB), { kind: 'rejected' }],
    ['a group member rejects', click(ERIN), { kind: 'rejected' }],
    [
      'an approver who approved earlier may still reject',
      click(ALICE, { policy: policyWith({ required: 2 }), approvals: [approval(ALICE, 5)] }),
      { kind: 'rejected' },
    ],
    ['the requester withdraws their own request', click(DAVE), { kind: 'withdrawn' }],
    [
      'the requester withdraws even with no approver rights at all',
      click(MALLORY, { requester: MALLORY }),
      { kind: 'withdrawn' },
    ],
    [
      'someone with no rights may not reject',
      click(MALLORY),
      {
        kind: 'not-an-approver',
        message: `You aren't an approver for this release, so you can't reject it. It can be approved or rejected by <@${ALICE}>, <@${BOB}> or anyone in <!subteam^${SRE}>.`,
      },
    ],
    [
      'nothing is left to reject once approved',
      click(BOB, { approvals: [approval(ALICE, 5)] }),
      { kind: 'already-approved', message: 'This release already has the approvals it needs, so it can no longer be rejected.' },
    ],
    [
      'the requester cannot withdraw an approved request here either',
      click(DAVE, { approvals: [approval(ALICE, 5)] }),
      { kind: 'already-approved', message: 'This release already has the approvals it needs, so it can no longer be rejected.' },
    ],
    ['exactly at expiry is expired', click(BOB, { now: at(240) }), { kind: 'expired', message: EXPIRED }],
    ['the requester gets the same after expiry', click(DAVE, { now: at(241) }), { kind: 'expired', message: EXPIRED }],
    ['a millisecond before expiry still rejects', click(BOB, { now: new Date(at(240).getTime() - 1) }), { kind: 'rejected' }],
  ])('%s', (_title, request, expected) => {
    expect(decideRejection(request)).toEqual(expected);
  });
});

describe('approvalStatus', () => {
  const expiresAt = at(240);

  it.each<[string, Partial<ApprovalPolicy>, Approval[], Date, ReturnType<typeof approvalStatus>]>([
    ['nothing yet', {}, [], at(10), { state: 'pending', remaining: 1, expiresAt }],
    ['one of two', { required: 2 }, [approval(ALICE, 2)], at(10), { state: 'pending', remaining: 1, expiresAt }],
    ['the same person twice is still one of two', { required: 2 }, [approval(ALICE, 2), approval(ALICE, 3)], at(10), { state: 'pending', remaining: 1, expiresAt }],
    ['two of two', { required: 2 }, [approval(ALICE, 2), approval(BOB, 3)], at(10), { state: 'approved', remaining: 0, expiresAt }],
    ['a millisecond before expiry', {}, [], new Date(expiresAt.getTime() - 1), { state: 'pending', remaining: 1, expiresAt }],
    ['exactly at expiry', {}, [], expiresAt, { state: 'expired', remaining: 1, expiresAt }],
    ['approved in time stays approved after expiry', {}, [approval(ALICE, 2)], at(500), { state: 'approved', remaining: 0, expiresAt }],
    ['expiry follows the policy', { expiresAfterMs: 30 * 60_000 }, [], at(30), { state: 'expired', remaining: 1, expiresAt: at(30) }],
  ])('%s', (_title, overrides, approvals, now, expected) => {
    expect(approvalStatus(policyWith(overrides), approvals, now, requestedAt)).toEqual(expected);
  });
});

describe('describeApprovals', () => {
  const hhmm = (date: Date) => date.toISOString().slice(11, 16);

  it.each<[string, Partial<ApprovalPolicy>, Approval[], Date, string]>([
    ['nothing yet', { required: 2 }, [], at(1), 'No approvals yet · 2 needed · expires 14:00'],
    ['one of two', { required: 2 }, [approval(ALICE, 2)], at(3), `Approved by <@${ALICE}> (10:02) · 1 more needed · expires 14:00`],
    [
      'two of three',
      { required: 3 },
      [approval(ALICE, 2), approval(BOB, 5)],
      at(6),
      `Approved by <@${ALICE}> (10:02), <@${BOB}> (10:05) · 1 more needed · expires 14:00`,
    ],
    ['approved', { required: 2 }, [approval(ALICE, 2), approval(BOB, 5)], at(6), `Approved by <@${ALICE}> (10:02), <@${BOB}> (10:05)`],
    ['approved, read after expiry', {}, [approval(ALICE, 2)], at(300), `Approved by <@${ALICE}> (10:02)`],
    ['the same person twice shows once, at the first time', { required: 2 }, [approval(ALICE, 2), approval(ALICE, 4)], at(5), `Approved by <@${ALICE}> (10:02) · 1 more needed · expires 14:00`],
    ['expired with none', {}, [], at(240), 'No approvals · 1 was needed · expired 14:00'],
    ['expired with one of three', { required: 3 }, [approval(ALICE, 2)], at(240), `Approved by <@${ALICE}> (10:02) · 2 more were needed · expired 14:00`],
  ])('%s', (_title, overrides, approvals, now, expected) => {
    expect(describeApprovals(policyWith(overrides), approvals, now, requestedAt, hhmm)).toBe(expected);
  });

  it('formats every time with the given formatter, so Slack can render local times', () => {
    const slackDate = (date: Date) => `<!date^${date.getTime() / 1000}^{time}|${hhmm(date)} UTC>`;
    expect(describeApprovals(policyWith({ required: 2 }), [approval(ALICE, 2)], at(3), requestedAt, slackDate)).toBe(
      `Approved by <@${ALICE}> (<!date^1714557720^{time}|10:02 UTC>) · 1 more needed · expires <!date^1714572000^{time}|14:00 UTC>`,
    );
  });
});

describe('approvalPolicySchema', () => {
  const parse = (raw: unknown) => approvalPolicySchema.safeParse(raw);
  const problemsOf = (raw: unknown): string[] => {
    const result = parse(raw);
    if (result.success) throw new Error(`expected problems, got ${JSON.stringify(result.data)}`);
    return formatIssues(result.error.issues);
  };
  const policyOf = (raw: unknown): ApprovalPolicy => {
    const result = parse(raw);
    if (!result.success) throw new Error(formatIssues(result.error.issues).join('\n'));
    return result.data;
  };

  describe('a valid policy', () => {
    it('fills in the defaults: one approval, no self-approval, 4h', () => {
      expect(policyOf({ approvers: { users: ['U0123ABCD'] } })).toEqual({
        required: 1,
        approvers: { users: ['U0123ABCD'], groups: [] },
        allowSelfApproval: false,
        expiresAfterMs: 4 * HOUR,
      });
    });

    it('reads every field, turning expiresAfter into milliseconds', () => {
      expect(
        policyOf({
          required: 2,
          approvers: { users: ['U0123ABCD', 'W0123ABCD'], groups: ['S0123ABCD'] },
          allowSelfApproval: true,
          expiresAfter: '30m',
        }),
      ).toEqual({
        required: 2,
        approvers: { users: ['U0123ABCD', 'W0123ABCD'], groups: ['S0123ABCD'] },
        allowSelfApproval: true,
        expiresAfterMs: 30 * 60_000,
      });
    });

    it('accepts groups alone, whatever required is: their size is only known at run time', () => {
      expect(policyOf({ required: 5, approvers: { groups: ['S0123ABCD'] } })).toMatchObject({
        required: 5,
        approvers: { users: [], groups: ['S0123ABCD'] },
      });
    });

    it('accepts required equal to the number of listed users', () => {
      expect(policyOf({ required: 2, approvers: { users: ['U0123ABCD', 'U0456EFGH'] } }).required).toBe(2);
    });

    it('lists a repeated approver once', () => {
      expect(policyOf({ approvers: { users: ['U0123ABCD', 'U0123ABCD'], groups: ['S0123ABCD', 'S0123ABCD'] } }).approvers).toEqual({
        users: ['U0123ABCD'],
        groups: ['S0123ABCD'],
      });
    });
  });

  describe('problems', () => {
    const users = { users: ['U0123ABCD'] };

    it.each<[string, unknown, string[]]>([
      ['no approvers at all', {}, ['approvers: name at least one approver in users or groups']],
      ['empty approver lists', { approvers: { users: [], groups: [] } }, ['approvers: name at least one approver in users or groups']],
      ['a user name instead of an ID', { approvers: { users: ['alice'] } }, ['approvers.users.0: expected a Slack user ID like U0123ABCD']],
      ['a lowercase user ID', { approvers: { users: ['U0123ABCD', 'u0456efgh'] } }, ['approvers.users.1: expected a Slack user ID like U0123ABCD']],
      ['a channel ID as a user', { approvers: { users: ['C0123ABCD'] } }, ['approvers.users.0: expected a Slack user ID like U0123ABCD']],
      ['a user ID as a group', { approvers: { groups: ['U0123ABCD'] } }, ['approvers.groups.0: expected a user group ID like S0123ABCD']],
      ['a group handle instead of an ID', { approvers: { groups: ['@sre'] } }, ['approvers.groups.0: expected a user group ID like S0123ABCD']],
      ['required 0', { required: 0, approvers: users }, ['required: must be a whole number, 1 or more']],
      ['required 1.5', { required: 1.5, approvers: users }, ['required: must be a whole number, 1 or more']],
      ['required as text', { required: '2', approvers: users }, ['required: must be a whole number, 1 or more']],
      [
        'required more than the listed users with no groups',
        { required: 3, approvers: { users: ['U0123ABCD', 'U0456EFGH'] } },
        ['required: 3 approvals are required but approvers.users lists only 2; lower required or add approvers'],
      ],
      [
        'a repeated user does not count twice toward required',
        { required: 2, approvers: { users: ['U0123ABCD', 'U0123ABCD'] } },
        ['required: 2 approvals are required but approvers.users lists only 1; lower required or add approvers'],
      ],
      ['allowSelfApproval as text', { approvers: users, allowSelfApproval: 'yes' }, ['allowSelfApproval: must be true or false']],
      [
        'expiresAfter without a unit',
        { approvers: users, expiresAfter: '4' },
        ['expiresAfter: "4" is not a duration: use a number and a unit, like 30s, 5m or 1h'],
      ],
      ['an unknown key', { approvers: users, expiresAfterMs: 1000 }, ['Unrecognized key: "expiresAfterMs"']],
      [
        'several problems at once',
        { required: 0, approvers: { users: ['alice'] }, expiresAfter: 'soon' },
        [
          'required: must be a whole number, 1 or more',
          'approvers.users.0: expected a Slack user ID like U0123ABCD',
          'expiresAfter: "soon" is not a duration: use a number and a unit, like 30s, 5m or 1h',
        ],
      ],
    ])('%s', (_title, raw, expected) => {
      expect(problemsOf(raw)).toEqual(expected);
    });
  });
});
