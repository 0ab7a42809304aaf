import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { linearRegExp } from './linear-regexp';
import { AbortedError, AlreadyExistsError, ValidationError } from '@trellis/platform/errors';
import { backoffProblems, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff';
import type { JsonObject } from './job';
import type { JobRetention } from './retention';

export const DEFAULT_MAX_PAYLOAD_BYTES = 256 * 1024;

/** A declared job type (trellis.job.v1.JobType). */
export interface JobTypeDefinition {
  name: string;
  description: string;
  /** JSON Schema (draft 2020-12) of the payload. */
  payloadSchema: JsonObject;
  maxPayloadBytes: number;
  defaultMaxAttempts: number;
  defaultLeaseMs: number;
  defaultBackoff: BackoffPolicy;
  /**
   * Services allowed to claim jobs of this type when callers are authenticated (service tokens);
   * empty means any authenticated worker. E.g. only the notification-service works campaigns.
   */
  workers?: string[];
  /** Log lines / bytes of messages a job keeps; unset: the service's JOB_LOG_MAX_LINES / _BYTES. */
  maxLogLines?: number;
  maxLogBytes?: number;
  /**
   * How long its SUCCEEDED, DEAD and CANCELLED jobs are kept (by age and by count); what it leaves
   * unset: the service's JOB_RETENTION.
   */
  retention?: JobRetention;
  /** Where the stored definition came from: JOB_TYPES ('config') or the API ('api'). */
  source?: JobTypeSource;
  /** The catalog revision of its last change (0 or unset: not stored yet). */
  revision?: number;
  updatedAt?: Date;
}

export type JobTypeSource = 'config' | 'api';

export const JOB_TYPE_NAME = /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/;

/** Field violations naming each failing JSON pointer under `payload`, e.g. `payload/campaign_id`. */
function schemaViolations(errors: ErrorObject[]): Array<{ field: string; description: string }> {
  return errors.map((e) => {
    let pointer = e.instancePath;
    const params = e.params as Record<string, unknown>;
    if (e.keyword === 'required' && typeof params.missingProperty === 'string')
      pointer += `/${params.missingProperty}`;
    if (e.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string')
      pointer += `/${params.additionalProperty}`;
    return { field: `payload${pointer}`, description: e.message ?? 'is invalid' };
  });
}

/** RegisterJobType of a name already declared (UpdateJobType changes a type). */
export function jobTypeExists(name: string): AlreadyExistsError {
  return new AlreadyExistsError('JOB.JOB_TYPE_EXISTS', `job type ${name} exists already`, {
    type: name,
  });
}

/** UpdateJobType based on a revision that is no longer the stored one. */
export function jobTypeRevisionMismatch(name: string, expected: number): AbortedError {
  return new AbortedError(
    'JOB.REVISION_MISMATCH',
    `job type ${name} changed since revision ${expected}`,
    { type: name, expected_revision: String(expected) },
  );
}

/** The declared types with their compiled payload validators. */
export class JobTypeRegistry {
  private readonly types = new Map<
    string,
    { def: JobTypeDefinition; validate: ValidateFunction }
  >();
  private readonly ajv = new Ajv2020({
    allErrors: true,
    strict: false,
    code: { regExp: linearRegExp },
  });

  constructor(definitions: JobTypeDefinition[]) {
    addFormats(this.ajv);
    for (const def of definitions) {
      if (this.types.has(def.name)) throw new Error(`job type ${def.name} is declared twice`);
      this.put(def);
    }
  }

  /**
   * Adds or replaces a type (a type registered or updated at run time, on any replica); throws
   * when the definition is invalid (the API validates it before, naming the field).
   */
  put(def: JobTypeDefinition): void {
    // A refresh that read an older revision must not undo a newer one applied meanwhile.
    if ((this.types.get(def.name)?.def.revision ?? 0) > (def.revision ?? 0)) return;
    if (!JOB_TYPE_NAME.test(def.name))
      throw new Error(
        `job type name ${JSON.stringify(def.name)}: expected lower-case, dot-separated`,
      );
    const problems = backoffProblems(def.defaultBackoff);
    if (problems.length > 0)
      throw new Error(
        `job type ${def.name}: backoff ${problems.map((p) => p.join(' ')).join('; ')}`,
      );
    let validate: ValidateFunction;
    try {
      // An updated schema with the same $id would otherwise clash with the one compiled before.
      const id = def.payloadSchema.$id;
      if (typeof id === 'string') this.ajv.removeSchema(id);
      validate = this.ajv.compile(def.payloadSchema);
    } catch (err) {
      throw new Error(`job type ${def.name}: invalid payload_schema: ${(err as Error).message}`);
    }
    this.types.set(def.name, { def, validate });
  }

  list(): JobTypeDefinition[] {
    return [...this.types.values()].map((t) => t.def).sort((a, b) => a.name.localeCompare(b.name));
  }

  has(name: string): boolean {
    return this.types.has(name);
  }

  /** The type, or INVALID_ARGUMENT UNKNOWN_JOB_TYPE naming `field`. */
  get(name: string, field = 'type'): JobTypeDefinition {
    const entry = this.types.get(name);
    if (!entry) {
      throw new ValidationError(
        [{ field, description: `unknown job type ${JSON.stringify(name)}` }],
        'JOB.UNKNOWN_JOB_TYPE',
        { type: name },
      );
    }
    return entry.def;
  }

  /** Checks size and schema; INVALID_ARGUMENT PAYLOAD_TOO_LARGE / PAYLOAD_SCHEMA_VIOLATION. */
  validatePayload(name: string, payload: JsonObject): void {
    const entry = this.types.get(name);
    if (!entry) throw this.get(name);
    const bytes = Buffer.byteLength(JSON.stringify(payload), 'utf8');
    if (bytes > entry.def.maxPayloadBytes) {
      throw new ValidationError(
        [
          {
            field: 'payload',
            description: `${bytes} bytes of JSON exceed the ${entry.def.maxPayloadBytes}-byte limit of ${name}`,
          },
        ],
        'JOB.PAYLOAD_TOO_LARGE',
        { type: name, max_bytes: String(entry.def.maxPayloadBytes) },
      );
    }
    if (!entry.validate(payload)) {
      throw new ValidationError(
        schemaViolations(entry.validate.errors ?? []),
        'JOB.PAYLOAD_SCHEMA_VIOLATION',
        { type: name },
      );
    }
  }
}

/** The types declared when JOB_TYPES / JOB_TYPES_FILE is not set. */
export const DEFAULT_JOB_TYPES: JobTypeDefinition[] = [
  {
    name: 'email.campaign',
    description: 'Sends one bulk email campaign of the notification-service.',
    payloadSchema: {
      type: 'object',
      required: ['campaign_id'],
      properties: { campaign_id: { type: 'string', minLength: 1 } },
    },
    maxPayloadBytes: DEFAULT_MAX_PAYLOAD_BYTES,
    defaultMaxAttempts: 5,
    defaultLeaseMs: 60_000,
    defaultBackoff: DEFAULT_BACKOFF,
    workers: ['notification-service'],
  },
  {
    name: 'demo.echo',
    description: 'Echoes its message back as the result (README walkthrough).',
    payloadSchema: {
      type: 'object',
      required: ['message'],
      properties: {
        message: { type: 'string', maxLength: 1000 },
        fail_times: { type: 'integer', minimum: 0 },
        sleep_ms: { type: 'integer', minimum: 0, maximum: 600000 },
      },
    },
    maxPayloadBytes: DEFAULT_MAX_PAYLOAD_BYTES,
    defaultMaxAttempts: 3,
    defaultLeaseMs: 30_000,
    defaultBackoff: DEFAULT_BACKOFF,
  },
];
