/**
 * Transport-agnostic domain errors. Each carries a stable string `code` (e.g.
 * `ACCOUNT.INSUFFICIENT_FUNDS`) and a `kind`; the gRPC kit maps kinds to status codes once, and
 * `reason` becomes google.rpc.ErrorInfo.reason (documented in trellis.common.v1.ErrorReason).
 */
export type DomainErrorKind =
  | 'validation'
  | 'not_found'
  | 'already_exists'
  | 'failed_precondition'
  | 'aborted'
  | 'rate_limited'
  | 'unavailable'
  | 'unauthenticated'
  | 'permission_denied';

export interface FieldViolation {
  /** Path of the offending request field in proto (snake_case) naming, e.g. `amount.units`. */
  field: string;
  description: string;
}

export abstract class DomainError extends Error {
  abstract readonly kind: DomainErrorKind;
  /** Extra key/values for google.rpc.ErrorInfo.metadata; never secrets. */
  readonly metadata: Record<string, string>;

  protected constructor(
    readonly code: string,
    message: string,
    metadata: Record<string, string> = {},
  ) {
    super(message);
    this.name = new.target.name;
    this.metadata = metadata;
  }

  /** The ErrorInfo reason: the part of `code` after the last dot. */
  get reason(): string {
    return this.code.slice(this.code.lastIndexOf('.') + 1);
  }
}

export class ValidationError extends DomainError {
  readonly kind = 'validation';
  constructor(
    readonly fieldViolations: FieldViolation[],
    code = 'REQUEST.INVALID_ARGUMENT',
    metadata?: Record<string, string>,
  ) {
    super(code, fieldViolations.map((v) => `${v.field}: ${v.description}`).join('; '), metadata);
  }

  static field(field: string, description: string): ValidationError {
    return new ValidationError([{ field, description }]);
  }

  /** The same error about a part of a larger request, e.g. `within('jobs[2]')` of a batch. */
  within(prefix: string): ValidationError {
    return new ValidationError(
      this.fieldViolations.map((v) => ({
        field: `${prefix}.${v.field}`,
        description: v.description,
      })),
      this.code,
      this.metadata,
    );
  }
}

export class NotFoundError extends DomainError {
  readonly kind = 'not_found';
  constructor(
    readonly resourceType: string,
    readonly resourceName: string,
  ) {
    super(`${resourceType.toUpperCase()}.NOT_FOUND`, `${resourceType} ${resourceName} not found`);
  }
}

export class AlreadyExistsError extends DomainError {
  readonly kind = 'already_exists';
  constructor(code: string, message: string, metadata?: Record<string, string>) {
    super(code, message, metadata);
  }
}

/** The request is valid but the system is not in a state that allows it (FAILED_PRECONDITION). */
export class PreconditionFailedError extends DomainError {
  readonly kind = 'failed_precondition';
  constructor(code: string, message: string, metadata?: Record<string, string>) {
    super(code, message, metadata);
  }
}

/** A concurrency or idempotency conflict the caller should resolve (ABORTED). */
export class AbortedError extends DomainError {
  readonly kind = 'aborted';
  constructor(code: string, message: string, metadata?: Record<string, string>) {
    super(code, message, metadata);
  }
}

export class RateLimitedError extends DomainError {
  readonly kind = 'rate_limited';
  constructor(
    readonly retryAfterMs: number,
    code = 'REQUEST.RATE_LIMITED',
    message = 'rate limit exceeded',
    metadata?: Record<string, string>,
  ) {
    super(code, message, metadata);
  }
}

export class UnavailableError extends DomainError {
  readonly kind = 'unavailable';
  constructor(code: string, message: string) {
    super(code, message);
  }
}

export class UnauthenticatedError extends DomainError {
  readonly kind = 'unauthenticated';
  constructor(message = 'missing or invalid credentials') {
    super('AUTH.UNAUTHENTICATED', message);
  }
}

export class PermissionDeniedError extends DomainError {
  readonly kind = 'permission_denied';
  constructor(message = 'caller is not allowed to call this method') {
    super('AUTH.PERMISSION_DENIED', message);
  }
}
