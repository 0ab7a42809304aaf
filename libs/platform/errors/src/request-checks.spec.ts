import { ValidationError } from './domain-error';
import { idViolation, requireFields, timeRangeViolation, uuidIdFormat } from './request-checks';

const JOB = uuidIdFormat('job');

describe('request checks', () => {
  it('an id is required, then must have its format; the message says which kind and shape', () => {
    expect(idViolation('job_id', '', JOB)).toEqual({ field: 'job_id', description: 'is required' });
    expect(idViolation('job_id', '', JOB, true)).toBeUndefined();
    expect(idViolation('job_id', 'not-a-uuid', JOB)).toEqual({
      field: 'job_id',
      description: 'is not a valid job id (expected a UUID)',
    });
    expect(idViolation('job_id', '0b7f5a4e-8d1c-4d3a-9f2e-6a1b2c3d4e5f', JOB)).toBeUndefined();
  });

  it('requireFields names every missing field and malformed id in one INVALID_ARGUMENT', () => {
    let thrown: unknown;
    try {
      requireFields({ job_id: ['x', JOB], lease_token: '', worker_id: 'w' });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ValidationError);
    expect((thrown as ValidationError).fieldViolations.map((v) => v.field)).toEqual([
      'job_id',
      'lease_token',
    ]);
  });

  it('a time range nothing can match names its lower bound', () => {
    const at = new Date('2026-01-01T00:00:00Z');
    const later = new Date('2026-01-02T00:00:00Z');
    const range = (after?: Date, before?: Date) =>
      timeRangeViolation(
        { field: 'created_after', value: after },
        { field: 'created_before', value: before },
      );
    expect(range(at, later)).toBeUndefined();
    expect(range(undefined, at)).toBeUndefined();
    expect(range(later, at)?.field).toBe('created_after');
    expect(range(at, at)?.description).toBe(
      'must be earlier than created_before (2026-01-01T00:00:00.000Z); no record can match',
    );
  });
});
