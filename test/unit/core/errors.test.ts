import { AppError, ConflictError, ExternalServiceError, NotFoundError, PermissionDeniedError, Refusal, ValidationError } from '../../../src/core/errors';

describe('errors', () => {
  it.each([
    ['ValidationError', () => new ValidationError('say which service'), 'validation'],
    ['NotFoundError', () => new NotFoundError('no deploy #7'), 'not_found'],
    ['ConflictError', () => new ConflictError('api is already being deployed'), 'conflict'],
    ['PermissionDeniedError', () => new PermissionDeniedError('you may not deploy to prod'), 'permission_denied'],
  ])('a refusal (%s) keeps its code, name and message, and no stack frames', (name, make, code) => {
    const limit = Error.stackTraceLimit;
    const error = make();
    expect(error).toBeInstanceOf(Refusal);
    expect(error).toBeInstanceOf(AppError);
    expect(error.code).toBe(code);
    expect(error.name).toBe(name);
    expect(error.stack).toBe(`${name}: ${error.userMessage}`);
    expect(Error.stackTraceLimit).toBe(limit);
  });

  it('a fault keeps the stack that says where it happened', () => {
    const error = new ExternalServiceError('Slack is down', true);
    expect(error.stack).toMatch(/^ExternalServiceError: Slack is down\n\s+at /);
    expect(new Error('ours').stack).toContain('errors.test.ts');
  });
});
