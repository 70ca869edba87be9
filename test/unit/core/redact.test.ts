import { createRedactor, REDACTED } from '../../../src/core/redact';

describe('createRedactor', () => {
  const r = createRedactor(['s3cret-value', 'deployer:pa ss"word', 'short']);

  it('replaces a secret as it is, URL-encoded, inside JSON, and as Basic credentials', () => {
    expect(r.text('token=s3cret-value;')).toBe(`token=${REDACTED};`);
    expect(r.text(`user=${encodeURIComponent('deployer:pa ss"word')}`)).toBe(`user=${REDACTED}`);
    expect(r.text(JSON.stringify({ echoed: 'deployer:pa ss"word' }))).toBe(`{"echoed":"${REDACTED}"}`);
    expect(r.text(`Authorization: Basic ${Buffer.from('deployer:pa ss"word').toString('base64')}`)).toBe(`Authorization: Basic ${REDACTED}`);
  });

  it('leaves values too short to be secrets, and text without secrets, as they are', () => {
    expect(r.text('a short answer')).toBe('a short answer');
    expect(createRedactor([]).text('nothing to hide')).toBe('nothing to hide');
  });

  it('replaces the longer of two overlapping secrets whole', () => {
    expect(createRedactor(['abcdef', 'abcdefghij']).text('xabcdefghijx')).toBe(`x${REDACTED}x`);
  });

  it("takes the userinfo out of any URL, known secret or not, and leaves other @'s", () => {
    expect(r.text('could not reach https://bob:hunter2@deploy.example.com/hook (mail ops@example.com)')).toBe(
      `could not reach https://${REDACTED}@deploy.example.com/hook (mail ops@example.com)`,
    );
    expect(r.text('see https://example.com/path?who=a@b')).toBe('see https://example.com/path?who=a@b');
  });

  it('copies values: strings in objects and arrays, errors with their class, stack and cause, cycles kept', () => {
    class TargetError extends Error {
      readonly retryable = true;
    }
    const error = new TargetError('answered 500: s3cret-value', { cause: new Error('inner s3cret-value') });
    const input: Record<string, unknown> = { detail: ['s3cret-value', 3, null], at: new Date(0), error };
    input.self = input;
    const out = r.value(input);
    expect(out.detail).toEqual([REDACTED, 3, null]);
    expect(out.at).toBe(input.at);
    expect(out.self).toBe(out);
    const copied = out.error as TargetError;
    expect(copied).toBeInstanceOf(TargetError);
    expect([copied.message, copied.retryable, (copied.cause as Error).message]).toEqual([`answered 500: ${REDACTED}`, true, `inner ${REDACTED}`]);
    expect(copied.stack).not.toContain('s3cret-value');
    expect(error.message).toBe('answered 500: s3cret-value'); // the original is untouched
  });
});
