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

  it('not found names the resource', () => {
    const err = new NotFoundError('account', 'acc_1');
    expect(err.code).toBe('ACCOUNT.NOT_FOUND');
    expect(err.message).toBe('account acc_1 not found');
  });
});
