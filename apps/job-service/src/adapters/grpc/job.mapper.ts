import { jobV1 } from '@trellis/contracts';
import { ValidationError } from '@trellis/platform/errors';
import type { BackoffPolicy } from '../../domain/backoff';
import type { ChildFailurePolicy, Job, JobState } from '../../domain/job';
import type { JobTypeDefinition } from '../../domain/job-type';
import type { JobLogLine } from '../../domain/job-log';
import type { RetentionRule } from '../../domain/retention';
import type { CreateJobInput } from '../../app/create-job.command';
import type { CreateFlowInput, FlowNode } from '../../app/create-flow.command';
import type { ClaimedJob } from '../../app/support/claimed-jobs';
import type { JobTypeInput } from '../../app/support/job-type-input';
import { fromDuration, toDuration } from '../proto-time';

// Proto ⇄ domain mapping of the job-service's messages (the handler only calls use cases).

export const STATE_TO_PROTO: Record<JobState, jobV1.JobState> = {
  PENDING: jobV1.JobState.JOB_STATE_PENDING,
  RUNNING: jobV1.JobState.JOB_STATE_RUNNING,
  SUCCEEDED: jobV1.JobState.JOB_STATE_SUCCEEDED,
  DEAD: jobV1.JobState.JOB_STATE_DEAD,
  CANCELLED: jobV1.JobState.JOB_STATE_CANCELLED,
  WAITING_CHILDREN: jobV1.JobState.JOB_STATE_WAITING_CHILDREN,
};

export const POLICY_TO_PROTO: Record<ChildFailurePolicy, jobV1.ChildFailurePolicy> = {
  FAIL_PARENT: jobV1.ChildFailurePolicy.CHILD_FAILURE_POLICY_FAIL_PARENT,
  IGNORE: jobV1.ChildFailurePolicy.CHILD_FAILURE_POLICY_IGNORE,
};

/** Unset (UNSPECIFIED) → undefined: the parent's policy. */
export function policyFromProto(
  policy: jobV1.ChildFailurePolicy,
  field: string,
): ChildFailurePolicy | undefined {
  if (policy === jobV1.ChildFailurePolicy.CHILD_FAILURE_POLICY_UNSPECIFIED) return undefined;
  const found = (Object.keys(POLICY_TO_PROTO) as ChildFailurePolicy[]).find(
    (key) => POLICY_TO_PROTO[key] === policy,
  );
  if (!found) throw ValidationError.field(field, 'is not a child failure policy');
  return found;
}

export function stateFromProto(state: jobV1.JobState): JobState | undefined {
  if (state === jobV1.JobState.JOB_STATE_UNSPECIFIED) return undefined;
  const found = (Object.keys(STATE_TO_PROTO) as JobState[]).find(
    (key) => STATE_TO_PROTO[key] === state,
  );
  if (!found) throw ValidationError.field('state', 'is not a job state');
  return found;
}

export function protoBackoff(policy: BackoffPolicy): jobV1.BackoffPolicy {
  return {
    initialDelay: toDuration(policy.initialDelayMs),
    maxDelay: toDuration(policy.maxDelayMs),
    multiplier: policy.multiplier,
    jitter: policy.jitter,
  };
}

export function toProtoJob(job: Job): jobV1.Job {
  return jobV1.Job.fromPartial({
    id: job.id,
    type: job.type,
    payload: job.payload,
    state: STATE_TO_PROTO[job.state],
    priority: job.priority,
    runAt: job.runAt,
    attempts: job.attempts,
    maxAttempts: job.maxAttempts,
    backoff: protoBackoff(job.backoff),
    leaseDuration: toDuration(job.leaseDurationMs),
    idempotencyKey: job.idempotencyKey,
    cancelRequested: job.cancelRequested,
    workerId: job.workerId,
    leaseExpiresAt: job.leaseExpiresAt ?? undefined,
    progress: job.progress ?? undefined,
    result: job.result ?? undefined,
    lastError: job.lastError ?? undefined,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    startedAt: job.startedAt ?? undefined,
    finishedAt: job.finishedAt ?? undefined,
    parentId: job.parentId ?? '',
    childCount: job.childCount,
    pendingChildren: job.pendingChildren,
    onChildFailure:
      job.childCount > 0
        ? POLICY_TO_PROTO[job.onChildFailure]
        : jobV1.ChildFailurePolicy.CHILD_FAILURE_POLICY_UNSPECIFIED,
  });
}

export function toClaimedJob({ job, leaseToken, children }: ClaimedJob): jobV1.ClaimedJob {
  return {
    job: toProtoJob(job),
    leaseToken,
    leaseExpiresAt: job.leaseExpiresAt ?? undefined,
    children: children.map(toProtoJob),
  };
}

export function toFlowNode(node: FlowNode): jobV1.FlowNode {
  return { job: toProtoJob(node.job), children: node.children.map(toFlowNode) };
}

/** A type's own retention rule of one state (unset parts: the service default). */
export function toProtoRetention(
  rule: Partial<RetentionRule> | undefined,
): jobV1.RetentionRule | undefined {
  if (!rule) return undefined;
  return {
    maxAge: rule.maxAgeMs === undefined ? undefined : toDuration(rule.maxAgeMs),
    maxCount: BigInt(rule.maxCount ?? 0),
  };
}

export function fromProtoRetention(rule: jobV1.RetentionRule | undefined) {
  if (!rule) return undefined;
  return {
    maxAgeMs: rule.maxAge ? fromDuration(rule.maxAge) : undefined,
    maxCount: Number(rule.maxCount),
  };
}

export function toProtoJobType(def: JobTypeDefinition): jobV1.JobType {
  return jobV1.JobType.fromPartial({
    name: def.name,
    description: def.description,
    payloadSchema: def.payloadSchema,
    maxPayloadBytes: def.maxPayloadBytes,
    defaultMaxAttempts: def.defaultMaxAttempts,
    defaultLeaseDuration: toDuration(def.defaultLeaseMs),
    defaultBackoff: protoBackoff(def.defaultBackoff),
    workers: def.workers ?? [],
    maxLogLines: def.maxLogLines ?? 0,
    maxLogBytes: def.maxLogBytes ?? 0,
    succeededRetention: toProtoRetention(def.retention?.SUCCEEDED),
    deadRetention: toProtoRetention(def.retention?.DEAD),
    cancelledRetention: toProtoRetention(def.retention?.CANCELLED),
    revision: BigInt(def.revision ?? 0),
    source: def.source ?? '',
    updatedAt: def.updatedAt,
  });
}

/** A JobType of RegisterJobType / UpdateJobType as the use cases' input. */
export function jobTypeInput(type: jobV1.JobType | undefined): JobTypeInput {
  const backoff = type?.defaultBackoff;
  return {
    name: type?.name ?? '',
    description: type?.description ?? '',
    payloadSchema: type?.payloadSchema,
    maxPayloadBytes: type?.maxPayloadBytes ?? 0,
    defaultMaxAttempts: type?.defaultMaxAttempts ?? 0,
    defaultLeaseMs: type?.defaultLeaseDuration
      ? fromDuration(type.defaultLeaseDuration)
      : undefined,
    defaultBackoff: backoff
      ? {
          initialDelayMs: backoff.initialDelay ? fromDuration(backoff.initialDelay) : undefined,
          maxDelayMs: backoff.maxDelay ? fromDuration(backoff.maxDelay) : undefined,
          multiplier: backoff.multiplier,
          jitter: backoff.jitter,
        }
      : undefined,
    workers: type?.workers ?? [],
    maxLogLines: type?.maxLogLines ?? 0,
    maxLogBytes: type?.maxLogBytes ?? 0,
    retention: {
      SUCCEEDED: fromProtoRetention(type?.succeededRetention),
      DEAD: fromProtoRetention(type?.deadRetention),
      CANCELLED: fromProtoRetention(type?.cancelledRetention),
    },
  };
}

export function toProtoLogLine(line: JobLogLine): jobV1.JobLogLine {
  return {
    seq: BigInt(line.seq),
    message: line.message,
    loggedAt: line.loggedAt,
    attempt: line.attempt,
  };
}

/** A CreateFlowRequest (a job and its children) as the use case's input. */
export function createFlowInput(request: jobV1.CreateFlowRequest, path = ''): CreateFlowInput {
  const field = (name: string) => (path === '' ? name : `${path}.${name}`);
  return {
    ...createJobInput(request),
    onChildFailure: policyFromProto(request.onChildFailure, field('on_child_failure')),
    children: request.children.map((child, i) => createFlowInput(child, field(`children[${i}]`))),
  };
}

/** A CreateJobRequest (or a node of a CreateFlowRequest) as the use case's input. */
export function createJobInput(request: jobV1.CreateJobRequest): CreateJobInput {
  return {
    type: request.type,
    payload: request.payload,
    priority: request.priority,
    runAt: request.runAt,
    delayMs: request.delay ? fromDuration(request.delay) : undefined,
    maxAttempts: request.maxAttempts,
    backoff: request.backoff
      ? {
          initialDelayMs: request.backoff.initialDelay
            ? fromDuration(request.backoff.initialDelay)
            : undefined,
          maxDelayMs: request.backoff.maxDelay ? fromDuration(request.backoff.maxDelay) : undefined,
          multiplier: request.backoff.multiplier,
          jitter: request.backoff.jitter,
        }
      : undefined,
    leaseDurationMs: request.leaseDuration ? fromDuration(request.leaseDuration) : undefined,
    idempotencyKey: request.idempotencyKey,
  };
}
