import { isDeepStrictEqual } from 'node:util';
import type { ClientSession, Collection, Db, MongoClient } from 'mongodb';
import { isDuplicateKeyError, withTransaction } from '@trellis/platform/mongo';
import type { JobTypeDefinition, JobTypeSource } from '../../domain/job-type';
import { TERMINAL_STATES, type JobRetention, type RetentionRule } from '../../domain/retention';
import type { JobTypeRepository, StoredJobType } from '../../app/ports/job-type.repository.port';

/** A job type as stored in `job_types` (`_id` = its name). */
export interface JobTypeDocument {
  _id: string;
  description: string;
  /** JSON text: a schema's `$id`, `$ref`... are not valid MongoDB field names. */
  payload_schema_json: string;
  max_payload_bytes: number;
  default_max_attempts: number;
  default_lease_ms: number;
  default_backoff: {
    initial_delay_ms: number;
    max_delay_ms: number;
    multiplier: number;
    jitter: number;
  };
  workers: string[] | null;
  max_log_lines: number | null;
  max_log_bytes: number | null;
  /** Per terminal state (`SUCCEEDED`...), the parts of a rule the type sets; null: none. */
  retention: Partial<
    Record<keyof JobRetention, { max_age_ms?: number; max_count?: number }>
  > | null;
  source: JobTypeSource;
  /** The catalog revision of the type's last change. */
  revision: number;
  updated_at: Date;
}

type Definition = Omit<JobTypeDocument, 'source' | 'revision' | 'updated_at'>;

export const JOB_TYPES_COLLECTION = 'job_types';
/** One counter document: the catalog revision the next change takes. */
const CATALOG_COLLECTION = 'job_type_catalog';

function retentionOf(retention: JobRetention | undefined): JobTypeDocument['retention'] {
  if (!retention) return null;
  const doc: NonNullable<JobTypeDocument['retention']> = {};
  // No undefined values: seeding compares a stored definition with a fresh one.
  for (const state of TERMINAL_STATES) {
    const rule = retention[state];
    if (!rule) continue;
    doc[state] = {
      ...(rule.maxAgeMs !== undefined && { max_age_ms: rule.maxAgeMs }),
      ...(rule.maxCount !== undefined && { max_count: rule.maxCount }),
    };
  }
  return doc;
}

function retentionFrom(doc: JobTypeDocument['retention'] | undefined): JobRetention | undefined {
  if (!doc) return undefined;
  const retention: JobRetention = {};
  for (const state of TERMINAL_STATES) {
    const rule = doc[state];
    if (!rule) continue;
    const parts: Partial<RetentionRule> = {};
    if (rule.max_age_ms !== undefined) parts.maxAgeMs = rule.max_age_ms;
    if (rule.max_count !== undefined) parts.maxCount = rule.max_count;
    retention[state] = parts;
  }
  return retention;
}

function definitionOf(def: JobTypeDefinition): Definition {
  return {
    _id: def.name,
    description: def.description,
    payload_schema_json: JSON.stringify(def.payloadSchema),
    max_payload_bytes: def.maxPayloadBytes,
    default_max_attempts: def.defaultMaxAttempts,
    default_lease_ms: def.defaultLeaseMs,
    default_backoff: {
      initial_delay_ms: def.defaultBackoff.initialDelayMs,
      max_delay_ms: def.defaultBackoff.maxDelayMs,
      multiplier: def.defaultBackoff.multiplier,
      jitter: def.defaultBackoff.jitter,
    },
    workers: def.workers ?? null,
    max_log_lines: def.maxLogLines ?? null,
    max_log_bytes: def.maxLogBytes ?? null,
    retention: retentionOf(def.retention),
  };
}

function fromDocument(doc: JobTypeDocument): StoredJobType {
  return {
    name: doc._id,
    description: doc.description,
    payloadSchema: JSON.parse(doc.payload_schema_json) as StoredJobType['payloadSchema'],
    maxPayloadBytes: doc.max_payload_bytes,
    defaultMaxAttempts: doc.default_max_attempts,
    defaultLeaseMs: doc.default_lease_ms,
    defaultBackoff: {
      initialDelayMs: doc.default_backoff.initial_delay_ms,
      maxDelayMs: doc.default_backoff.max_delay_ms,
      multiplier: doc.default_backoff.multiplier,
      jitter: doc.default_backoff.jitter,
    },
    workers: doc.workers ?? undefined,
    maxLogLines: doc.max_log_lines ?? undefined,
    maxLogBytes: doc.max_log_bytes ?? undefined,
    retention: retentionFrom(doc.retention),
    source: doc.source,
    revision: doc.revision,
    updatedAt: doc.updated_at,
  };
}

/**
 * The job type catalog in MongoDB. Every change increments the one counter document in its
 * transaction, so changes conflict with each other and commit in revision order: a replica that
 * has seen revision r has seen every change up to r.
 */
export class MongoJobTypeRepository implements JobTypeRepository {
  private readonly types: Collection<JobTypeDocument>;
  private readonly catalog: Collection<{ _id: string; revision: number }>;

  constructor(
    private readonly client: MongoClient,
    db: Db,
  ) {
    this.types = db.collection<JobTypeDocument>(JOB_TYPES_COLLECTION);
    this.catalog = db.collection(CATALOG_COLLECTION);
  }

  async ensureIndexes(): Promise<void> {
    await this.types.createIndex({ revision: 1 });
  }

  private async nextRevision(session: ClientSession): Promise<number> {
    const counter = await this.catalog.findOneAndUpdate(
      { _id: 'revision' },
      { $inc: { revision: 1 } },
      { session, upsert: true, returnDocument: 'after' },
    );
    return counter?.revision ?? 1;
  }

  private async write(
    session: ClientSession,
    definition: Definition,
    source: JobTypeSource,
    now: Date,
  ): Promise<StoredJobType> {
    const doc: JobTypeDocument = {
      ...definition,
      source,
      revision: await this.nextRevision(session),
      updated_at: now,
    };
    await this.types.replaceOne({ _id: doc._id }, doc, { session, upsert: true });
    return fromDocument(doc);
  }

  async seed(definitions: JobTypeDefinition[], now: Date): Promise<void> {
    for (const def of definitions) {
      const definition = definitionOf(def);
      const seedOne = () =>
        withTransaction(this.client, async (session) => {
          const existing = await this.types.findOne({ _id: def.name }, { session });
          if (existing) {
            const { source, revision: _r, updated_at: _u, ...stored } = existing;
            if (source === 'api' || isDeepStrictEqual(stored, definition)) return;
          }
          await this.write(session, definition, 'config', now);
        });
      // Two replicas starting at once may both insert a missing type: the loser reads it again.
      await seedOne().catch((err: unknown) => {
        if (!isDuplicateKeyError(err)) throw err;
        return seedOne();
      });
    }
  }

  async insert(def: JobTypeDefinition, now: Date): Promise<StoredJobType | null> {
    try {
      return await withTransaction(this.client, async (session) => {
        const doc: JobTypeDocument = {
          ...definitionOf(def),
          source: 'api',
          revision: await this.nextRevision(session),
          updated_at: now,
        };
        await this.types.insertOne(doc, { session });
        return fromDocument(doc);
      });
    } catch (err) {
      if (isDuplicateKeyError(err)) return null;
      throw err;
    }
  }

  replace(
    def: JobTypeDefinition,
    expectedRevision: number,
    now: Date,
  ): Promise<{ stored: StoredJobType | null; exists: boolean }> {
    return withTransaction(this.client, async (session) => {
      const existing = await this.types.findOne({ _id: def.name }, { session });
      if (!existing) return { stored: null, exists: false };
      if (expectedRevision !== 0 && existing.revision !== expectedRevision)
        return { stored: null, exists: true };
      return { stored: await this.write(session, definitionOf(def), 'api', now), exists: true };
    });
  }

  async changedSince(revision: number): Promise<{ types: StoredJobType[]; revision: number }> {
    const docs = await this.types
      .find({ revision: { $gt: revision } })
      .sort({ revision: 1 })
      .toArray();
    const types = docs.map(fromDocument);
    return { types, revision: docs[docs.length - 1]?.revision ?? revision };
  }
}
