import { randomBytes } from 'node:crypto';
import {
  PermissionDeniedError,
  ValidationError,
  type FieldViolation,
} from '@trellis/platform/errors';
import { startAttempt } from '../../domain/job';
import type { JobTypeRegistry } from '../../domain/job-type';
import type { ClaimSpec } from '../ports/job.repository.port';

/** What a worker asks to claim (ClaimJobs, and CompleteJobs' `claim_next`). */
export interface ClaimRequest {
  workerId: string;
  types: string[];
  /** 0 = 1. */
  maxJobs: number;
  /** How long to wait when nothing is due (ClaimJobs' long-poll; none for `claim_next`). */
  waitMs?: number;
  /** The authenticated calling service, when the server checks service tokens. */
  caller?: string;
}

/**
 * Throws what a claim of `request` is refused with, naming fields under `path` (e.g.
 * `claim_next.`), so a caller can check a claim before writing anything else.
 */
export function validateClaim(types: JobTypeRegistry, request: ClaimRequest, path = ''): void {
  const violations: FieldViolation[] = [];
  if (request.workerId.length < 1 || request.workerId.length > 128)
    violations.push({ field: `${path}worker_id`, description: 'must be 1-128 characters' });
  if (request.types.length < 1 || request.types.length > 32)
    violations.push({ field: `${path}types`, description: 'must name 1-32 job types' });
  if (request.maxJobs < 0 || request.maxJobs > 100)
    violations.push({ field: `${path}max_jobs`, description: 'must be between 1 and 100' });
  if (request.waitMs !== undefined && request.waitMs < 0)
    violations.push({ field: `${path}wait`, description: 'must not be negative' });
  if (violations.length > 0) throw new ValidationError(violations);
  request.types.forEach((name, i) => {
    const type = types.get(name, `${path}types[${i}]`);
    const workers = type.workers ?? [];
    if (request.caller !== undefined && workers.length > 0 && !workers.includes(request.caller)) {
      throw new PermissionDeniedError(`${request.caller} may not work ${name} jobs`);
    }
  });
}

/** The repository's claim for a validated `request` at `now`: each job gets a fresh lease token. */
export function claimSpecOf(request: ClaimRequest, now: Date): ClaimSpec {
  return {
    types: [...new Set(request.types)],
    maxJobs: request.maxJobs || 1,
    now,
    start: (job) => startAttempt(job, request.workerId, randomBytes(18).toString('base64url'), now),
  };
}
