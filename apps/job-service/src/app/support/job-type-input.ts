import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { linearRegExp } from '../../domain/linear-regexp';
import { ValidationError, type FieldViolation } from '@trellis/platform/errors';
import { backoffProblems, DEFAULT_BACKOFF, type BackoffPolicy } from '../../domain/backoff';
import type { JsonObject } from '../../domain/job';
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  JOB_TYPE_NAME,
  type JobTypeDefinition,
} from '../../domain/job-type';
import { TERMINAL_STATES, type JobRetention } from '../../domain/retention';

/** A job type as RegisterJobType / UpdateJobType give it: 0 or unset means the default. */
export interface JobTypeInput {
  name: string;
  description: string;
  payloadSchema: JsonObject | undefined;
  maxPayloadBytes: number;
  defaultMaxAttempts: number;
  defaultLeaseMs?: number;
  /** Unset: DEFAULT_BACKOFF; unset parts inside: DEFAULT_BACKOFF's; multiplier 0: 2.0. */
  defaultBackoff?: {
    initialDelayMs?: number;
    maxDelayMs?: number;
    multiplier: number;
    jitter: number;
  };
  workers: string[];
  maxLogLines: number;
  maxLogBytes: number;
  /** Per terminal state: maxAgeMs unset and maxCount 0 mean the service default. */
  retention?: Partial<
    Record<keyof JobRetention, { maxAgeMs: number | undefined; maxCount: number }>
  >;
}

/** The longest a retention rule keeps a job: 100 years (keep "for ever"). */
const MAX_RETENTION_MS = 100 * 365 * 24 * 3600 * 1000;
const MAX_RETENTION_COUNT = 1_000_000_000;

export const MAX_TYPE_LOG_LINES = 100_000;
export const MAX_TYPE_LOG_BYTES = 8 * 1024 * 1024;
const MAX_WORKERS = 32;

// strictSchema: a keyword ajv does not know ("requird") is a mistake to name, not a schema to
// accept; the other strict checks (e.g. `required` naming an undeclared property) stay off, as
// for JOB_TYPES.
const strictAjv = new Ajv2020({
  allErrors: true,
  strict: false,
  strictSchema: true,
  strictNumbers: true,
  code: { regExp: linearRegExp },
});
addFormats(strictAjv);

/** Why `schema` is not a usable JSON Schema (draft 2020-12), or undefined. */
function schemaProblem(schema: JsonObject): string | undefined {
  try {
    strictAjv.compile({ ...schema, $id: undefined });
    return undefined;
  } catch (err) {
    return (err as Error).message.slice(0, 512);
  } finally {
    strictAjv.removeSchema();
  }
}

/**
 * The definition `input` asks for, defaults filled in; INVALID_ARGUMENT naming every bad field
 * under `job_type.` otherwise.
 */
export function jobTypeFromInput(input: JobTypeInput): JobTypeDefinition {
  const violations: FieldViolation[] = [];
  const bad = (field: string, description: string) =>
    violations.push({ field: `job_type.${field}`, description });
  if (input.name === '') bad('name', 'is required');
  else if (input.name.length > 128 || !JOB_TYPE_NAME.test(input.name))
    bad('name', 'must be lower-case and dot-separated, e.g. "email.campaign", <= 128 characters');
  if (input.description.length > 1024) bad('description', 'must be at most 1024 characters');
  if (input.payloadSchema === undefined) bad('payload_schema', 'is required');
  else {
    const problem = schemaProblem(input.payloadSchema);
    if (problem) bad('payload_schema', `is not a valid JSON Schema: ${problem}`);
  }
  const inRange = (field: string, value: number, min: number, max: number) => {
    if (value !== 0 && !(Number.isInteger(value) && value >= min && value <= max))
      bad(field, `must be between ${min} and ${max} (0 = the default)`);
  };
  inRange('max_payload_bytes', input.maxPayloadBytes, 2, 4 * 1024 * 1024);
  inRange('default_max_attempts', input.defaultMaxAttempts, 1, 100);
  inRange('max_log_lines', input.maxLogLines, 1, MAX_TYPE_LOG_LINES);
  inRange('max_log_bytes', input.maxLogBytes, 1024, MAX_TYPE_LOG_BYTES);
  const lease = input.defaultLeaseMs;
  if (lease !== undefined && !(lease >= 1000 && lease <= 3_600_000))
    bad('default_lease_duration', 'must be between 1 s and 1 h');
  if (input.workers.length > MAX_WORKERS) bad('workers', `at most ${MAX_WORKERS} entries`);
  input.workers.forEach((worker, i) => {
    if (worker === '' || worker.length > 128) bad(`workers[${i}]`, 'must be 1-128 characters');
  });
  const retention: JobRetention = {};
  for (const state of TERMINAL_STATES) {
    const rule = input.retention?.[state];
    if (!rule) continue;
    const field = `${state.toLowerCase()}_retention`;
    if (rule.maxAgeMs !== undefined && !(rule.maxAgeMs >= 0 && rule.maxAgeMs <= MAX_RETENTION_MS))
      bad(`${field}.max_age`, 'must be between 0 s and 100 years');
    inRange(`${field}.max_count`, rule.maxCount, 1, MAX_RETENTION_COUNT);
    retention[state] = {
      ...(rule.maxAgeMs !== undefined && { maxAgeMs: rule.maxAgeMs }),
      ...(rule.maxCount !== 0 && { maxCount: rule.maxCount }),
    };
  }
  let backoff: BackoffPolicy = DEFAULT_BACKOFF;
  if (input.defaultBackoff) {
    const b = input.defaultBackoff;
    backoff = {
      initialDelayMs: b.initialDelayMs ?? DEFAULT_BACKOFF.initialDelayMs,
      maxDelayMs: b.maxDelayMs ?? DEFAULT_BACKOFF.maxDelayMs,
      multiplier: b.multiplier === 0 ? DEFAULT_BACKOFF.multiplier : b.multiplier,
      jitter: b.jitter,
    };
    for (const [field, description] of backoffProblems(backoff))
      bad(`default_backoff.${field}`, description);
  }
  if (violations.length > 0) throw new ValidationError(violations);
  return {
    name: input.name,
    description: input.description,
    payloadSchema: input.payloadSchema ?? {},
    maxPayloadBytes: input.maxPayloadBytes || DEFAULT_MAX_PAYLOAD_BYTES,
    defaultMaxAttempts: input.defaultMaxAttempts || 5,
    defaultLeaseMs: lease ?? 60_000,
    defaultBackoff: backoff,
    workers: input.workers.length > 0 ? [...input.workers] : undefined,
    maxLogLines: input.maxLogLines || undefined,
    maxLogBytes: input.maxLogBytes || undefined,
    retention: Object.keys(retention).length > 0 ? retention : undefined,
  };
}
