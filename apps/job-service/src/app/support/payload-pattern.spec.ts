import { ValidationError } from '@trellis/platform/errors';
import { jobTypeFromInput } from './job-type-input';
import { JobTypeRegistry } from '../../domain/job-type';

const type = (name: string, pattern: string) =>
  jobTypeFromInput({
    name,
    description: '',
    payloadSchema: { type: 'object', properties: { s: { type: 'string', pattern } } },
    maxPayloadBytes: 0,
    defaultMaxAttempts: 0,
    workers: [],
    maxLogLines: 0,
    maxLogBytes: 0,
  });

describe('payload schema patterns (RE2, linear time)', () => {
  it('a catastrophic-backtracking pattern checks a long hostile string without hanging the process', () => {
    // With JavaScript's RegExp, 30 characters took 30 s and each one more doubles it.
    const registry = new JobTypeRegistry([type('redos.check', '^(a+)+$')]);
    expect(() => registry.validatePayload('redos.check', { s: `${'a'.repeat(5_000)}!` })).toThrow(
      ValidationError,
    );
    expect(() => registry.validatePayload('redos.check', { s: 'aaaa' })).not.toThrow();
  });

  it('keeps JSON Schema pattern semantics (unanchored search), and refuses syntax RE2 lacks at registration', () => {
    const registry = new JobTypeRegistry([type('digits.check', '\\d{3}')]);
    expect(() => registry.validatePayload('digits.check', { s: 'ab123c' })).not.toThrow();
    expect(() => registry.validatePayload('digits.check', { s: 'ab12c' })).toThrow(ValidationError);
    expect(() => type('lookahead.check', '^(?=a)a$')).toThrow(/payload_schema/);
  });
});
