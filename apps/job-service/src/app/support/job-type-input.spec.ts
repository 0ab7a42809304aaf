import { ValidationError } from '@trellis/platform/errors';
import { DEFAULT_BACKOFF } from '../../domain/backoff';
import { jobTypeFromInput, type JobTypeInput } from './job-type-input';

const valid: JobTypeInput = {
  name: 'report.render',
  description: 'Renders a report',
  payloadSchema: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } },
  maxPayloadBytes: 0,
  defaultMaxAttempts: 0,
  workers: [],
  maxLogLines: 0,
  maxLogBytes: 0,
};

function fieldsOf(input: Partial<JobTypeInput>): string[] {
  try {
    jobTypeFromInput({ ...valid, ...input });
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).fieldViolations.map((v) => v.field);
  }
  return [];
}

describe('jobTypeFromInput', () => {
  it('fills in the defaults', () => {
    expect(jobTypeFromInput(valid)).toEqual({
      name: 'report.render',
      description: 'Renders a report',
      payloadSchema: valid.payloadSchema,
      maxPayloadBytes: 256 * 1024,
      defaultMaxAttempts: 5,
      defaultLeaseMs: 60_000,
      defaultBackoff: DEFAULT_BACKOFF,
      workers: undefined,
      maxLogLines: undefined,
      maxLogBytes: undefined,
    });
  });

  it('names every bad field under job_type', () => {
    expect(fieldsOf({ name: '' })).toEqual(['job_type.name']);
    expect(fieldsOf({ name: 'Bad Name' })).toEqual(['job_type.name']);
    expect(fieldsOf({ payloadSchema: undefined })).toEqual(['job_type.payload_schema']);
    expect(
      fieldsOf({
        defaultMaxAttempts: -1,
        maxPayloadBytes: -5,
        maxLogLines: -1,
        maxLogBytes: 10,
        defaultLeaseMs: 10,
      }),
    ).toEqual([
      'job_type.max_payload_bytes',
      'job_type.default_max_attempts',
      'job_type.max_log_lines',
      'job_type.max_log_bytes',
      'job_type.default_lease_duration',
    ]);
    expect(fieldsOf({ workers: ['ok', ''] })).toEqual(['job_type.workers[1]']);
    expect(fieldsOf({ defaultBackoff: { multiplier: 0.5, jitter: 2 } })).toEqual([
      'job_type.default_backoff.multiplier',
      'job_type.default_backoff.jitter',
    ]);
  });

  it('refuses a JSON Schema that does not compile or has unknown keywords', () => {
    expect(fieldsOf({ payloadSchema: { type: 'no-such-type' } })).toEqual([
      'job_type.payload_schema',
    ]);
    expect(fieldsOf({ payloadSchema: { type: 'object', requird: ['id'] } })).toEqual([
      'job_type.payload_schema',
    ]);
    expect(fieldsOf({ payloadSchema: { $ref: '#/nowhere' } })).toEqual(['job_type.payload_schema']);
  });

  it('accepts what JOB_TYPES accepts, e.g. required properties it does not describe', () => {
    expect(fieldsOf({ payloadSchema: { type: 'object', required: ['title'] } })).toEqual([]);
  });

  it('accepts a schema with an $id twice (validation compiles nothing it keeps)', () => {
    const payloadSchema = { $id: 'https://example.org/report', type: 'object' };
    expect(jobTypeFromInput({ ...valid, payloadSchema }).payloadSchema).toEqual(payloadSchema);
    expect(jobTypeFromInput({ ...valid, payloadSchema }).payloadSchema).toEqual(payloadSchema);
  });
});
