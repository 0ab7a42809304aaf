import { NotFoundError, PreconditionFailedError, ValidationError } from './domain-error';

describe('DomainError', () => {
  it('derives the ErrorInfo reason from the stable code', () => {
    const err = new PreconditionFailedError('ACCOUNT.INSUFFICIENT_FUNDS', 'balance too low');
    expect(err.reason).toBe('INSUFFICIENT_FUNDS');
    expect(err.kind).toBe('failed_precondition');
    expect(err.name).toBe('PreconditionFailedError');
    expect(err).toBeInstanceOf(Error);
  });

  it('validation errors list every field violation in the message', () => {
    const err = new ValidationError([
      { field: 'amount.units', description: 'must be > 0' },
      { field: 'email', description: 'must be an email address' },
    ]);
    expect(err.message).toBe('amount.units: must be > 0; email: must be an email address');
    expect(ValidationError.field('x', 'y').fieldViolations).toEqual([
      { field: 'x', description: 'y' },
    ]);
  });

  it('within() puts every field under the part of a batch request it is about', () => {
    const err = new ValidationError(
      [{ field: 'payload/n', description: 'must be integer' }],
      'JOB.PAYLOAD_SCHEMA_VIOLATION',
      { type: 'demo' },
    ).within('jobs[2]');
    expect(err.fieldViolations).toEqual([
      { field: 'jobs[2].payload/n', description: 'must be integer' },
    ]);
    expect([err.reason, err.metadata]).toEqual(['PAYLOAD_SCHEMA_VIOLATION', { type: 'demo' }]);
    expect(err.message).toBe('jobs[2].payload/n: must be integer');
  });

  it('not found names the resource', () => {
    const err = new NotFoundError('account', 'acc_1');
    expect(err.code).toBe('ACCOUNT.NOT_FOUND');
    expect(err.message).toBe('account acc_1 not found');
  });
});
