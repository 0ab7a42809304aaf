import { replayable, requestHash, ValidationError } from '@trellis/platform/errors';
import {
  awaitChildren,
  childOf,
  MAX_FLOW_CHILDREN,
  MAX_FLOW_DEPTH,
  MAX_FLOW_JOBS,
} from '../domain/flow';
import type { ChildFailurePolicy, Job } from '../domain/job';
import type { JobTypeRegistry } from '../domain/job-type';
import type { JobRepository } from './ports/job.repository.port';
import type { Runtime } from './ports/runtime.port';
import type { ClaimNotifier } from './support/claim-notifier';
import { buildJob, type CreateJobInput } from './support/new-job';

/** A job of a flow with its children (CreateFlowRequest; BullMQ's FlowJob). */
export interface CreateFlowInput extends CreateJobInput {
  children: CreateFlowInput[];
  /** Unset: the parent's policy (the root's: FAIL_PARENT). */
  onChildFailure?: ChildFailurePolicy;
}

/** A job of a flow and its children, as created or stored. */
export interface FlowNode {
  job: Job;
  children: FlowNode[];
}

export interface CreateFlowDeps {
  jobs: JobRepository;
  types: JobTypeRegistry;
  notifier: ClaimNotifier;
  runtime: Runtime;
}

/**
 * CreateFlow: validates the whole tree first (a bad entry fails the call naming its path, e.g.
 * `children[3].type`), then inserts every job with its JobCreated in one transaction. Jobs with
 * children start WAITING_CHILDREN; the root's idempotency key stands for the whole flow.
 */
export class CreateFlow {
  constructor(private readonly deps: CreateFlowDeps) {}

  async execute(input: CreateFlowInput): Promise<{ flow: FlowNode; created: boolean }> {
    const count = countJobs(input);
    if (count > MAX_FLOW_JOBS)
      throw ValidationError.field(
        'children',
        `a flow holds at most ${MAX_FLOW_JOBS} jobs, not ${count}`,
      );
    const flow = this.build(input, '', 0, null, 'FAIL_PARENT');
    // The key covers the whole tree: the same key with other children is a different request.
    const root: Job = { ...flow.job, requestHash: requestHash(['flow', shapeOf(input)]) };
    const descendants = jobsOf(flow).slice(1);
    const saved = await this.deps.jobs.createFlow(
      root,
      descendants,
      [root, ...descendants].map((job) => ({ type: 'JobCreated', job })),
    );
    if (!saved.created) {
      const existing = replayable(saved.job, root.requestHash, 'JOB', saved.job.idempotencyKey);
      return { flow: await this.stored(existing), created: false };
    }
    for (const job of [root, ...descendants])
      if (job.state === 'PENDING') this.deps.notifier.notify(job.type, job.runAt);
    return { flow: { ...flow, job: root }, created: true };
  }

  /** One node and its subtree: `path` is its field path (empty for the root). */
  private build(
    input: CreateFlowInput,
    path: string,
    depth: number,
    parentId: string | null,
    inherited: ChildFailurePolicy,
  ): FlowNode {
    const field = (name: string) => (path === '' ? name : `${path}.${name}`);
    if (input.children.length > MAX_FLOW_CHILDREN)
      throw ValidationError.field(
        field('children'),
        `must hold at most ${MAX_FLOW_CHILDREN} children, not ${input.children.length}`,
      );
    if (input.children.length > 0 && depth >= MAX_FLOW_DEPTH)
      throw ValidationError.field(
        field('children'),
        `a flow is at most ${MAX_FLOW_DEPTH} levels deep below its root`,
      );
    if (parentId !== null && input.idempotencyKey !== '')
      throw ValidationError.field(
        field('idempotency_key'),
        'is allowed on the root of a flow only',
      );
    let job: Job;
    try {
      job = buildJob(this.deps.types, this.deps.runtime, input);
    } catch (err) {
      throw err instanceof ValidationError && path !== '' ? err.within(path) : err;
    }
    const policy = input.onChildFailure ?? inherited;
    job = awaitChildren(
      parentId === null ? job : childOf(job, parentId),
      input.children.length,
      policy,
    );
    const children = input.children.map((child, i) =>
      this.build(child, field(`children[${i}]`), depth + 1, job.id, policy),
    );
    return { job, children };
  }

  /** A stored flow (an idempotent replay), level by level. */
  private async stored(root: Job): Promise<FlowNode> {
    const top: FlowNode = { job: root, children: [] };
    let level = [top];
    while (level.length > 0) {
      const byId = new Map(level.map((node) => [node.job.id, node]));
      const parents = level.filter((node) => node.job.childCount > 0).map((node) => node.job.id);
      const children = await this.deps.jobs.listChildren(parents);
      level = children.map((job) => {
        const node: FlowNode = { job, children: [] };
        byId.get(job.parentId!)?.children.push(node);
        return node;
      });
    }
    return top;
  }
}

function countJobs(input: CreateFlowInput): number {
  return input.children.reduce((sum, child) => sum + countJobs(child), 1);
}

/** The jobs of a tree, each parent before its children. */
function jobsOf(node: FlowNode): Job[] {
  return [node.job, ...node.children.flatMap(jobsOf)];
}

/** What a replay must repeat: types, payloads and the tree's shape. */
function shapeOf(input: CreateFlowInput): unknown {
  return [input.type, input.payload ?? {}, input.children.map(shapeOf)];
}
