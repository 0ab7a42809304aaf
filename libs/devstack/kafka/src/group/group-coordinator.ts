import { randomUUID } from 'node:crypto';
import {
  Group,
  type GroupProtocol,
  type GroupState,
  type JoinResult,
  type Member,
  type SyncResult,
} from './group';
import { type OffsetStore } from './offset-store';
import { ErrorCode } from '../protocol/error-codes';

export interface CoordinatorOptions {
  /** group.initial.rebalance.delay.ms: how long a rebalance of an Empty group waits for joiners. */
  readonly initialRebalanceDelayMs: number;
  readonly minSessionTimeoutMs: number;
  readonly maxSessionTimeoutMs: number;
  readonly log: (msg: string, fields?: Record<string, unknown>) => void;
}

export interface JoinRequest {
  readonly groupId: string;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly memberId: string;
  readonly protocolType: string;
  readonly protocols: readonly GroupProtocol[];
  readonly clientId: string;
  readonly clientHost: string;
  /** JoinGroup v4+ (KIP-394): a join without member id first gets MEMBER_ID_REQUIRED and an id. */
  readonly requireKnownMemberId?: boolean;
}

export interface CommitRequest {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
}

export interface GroupDescription {
  readonly errorCode: number;
  readonly groupId: string;
  readonly state: GroupState;
  readonly protocolType: string;
  readonly protocol: string;
  readonly members: readonly {
    memberId: string;
    clientId: string;
    clientHost: string;
    metadata: Buffer;
    assignment: Buffer;
  }[];
}

const EMPTY = Buffer.alloc(0);

/**
 * The group coordinator, following Kafka's GroupCoordinator state machine:
 *
 *   Empty ──join──▶ PreparingRebalance ──all rejoined / rebalance timeout──▶ CompletingRebalance
 *     ▲                    ▲  │                                                   │ leader's SyncGroup
 *     └── last member ─────┘  └──── join / leave / session timeout ◀── Stable ◀───┘
 *
 * Requests that must wait (JoinGroup until the rebalance completes, SyncGroup until the leader's
 * assignment) return promises that the state machine resolves.
 */
export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();

  constructor(
    private readonly offsets: OffsetStore,
    private readonly opts: CoordinatorOptions,
  ) {}

  // ---- JoinGroup -------------------------------------------------------------------------

  join(req: JoinRequest): Promise<JoinResult> {
    const fail = (errorCode: number): Promise<JoinResult> =>
      Promise.resolve(joinError(errorCode, req.memberId));
    if (req.groupId === '') return fail(ErrorCode.INVALID_GROUP_ID);
    if (
      req.sessionTimeoutMs < this.opts.minSessionTimeoutMs ||
      req.sessionTimeoutMs > this.opts.maxSessionTimeoutMs
    ) {
      return fail(ErrorCode.INVALID_SESSION_TIMEOUT);
    }
    const group = this.getOrCreate(req.groupId);
    if (!group.supports(req.protocolType, req.protocols)) {
      return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }

    if (req.memberId === '' && req.requireKnownMemberId === true) {
      const id = `${req.clientId}-${randomUUID()}`;
      group.pendingMembers.add(id);
      return fail(ErrorCode.MEMBER_ID_REQUIRED).then((res) => ({ ...res, memberId: id }));
    }
    if (req.memberId === '' || group.pendingMembers.delete(req.memberId)) {
      const member: Member = {
        id: req.memberId === '' ? `${req.clientId}-${randomUUID()}` : req.memberId,
        clientId: req.clientId,
        clientHost: req.clientHost,
        sessionTimeoutMs: req.sessionTimeoutMs,
        rebalanceTimeoutMs: req.rebalanceTimeoutMs,
        protocols: req.protocols,
        assignment: EMPTY,
        awaitingJoin: null,
        awaitingSync: null,
        sessionTimer: null,
      };
      if (group.members.size === 0) group.protocolType = req.protocolType;
      group.members.set(member.id, member);
      this.opts.log('member joined', { group: group.id, member: member.id });
      return this.parkJoin(group, member, `new member ${member.id} joined`);
    }

    const member = group.members.get(req.memberId);
    if (!member) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    member.sessionTimeoutMs = req.sessionTimeoutMs;
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    const sameProtocols = sameMetadata(member.protocols, req.protocols);
    switch (group.state) {
      case 'PreparingRebalance':
        member.protocols = req.protocols;
        return this.parkJoin(group, member, null);
      case 'CompletingRebalance':
      case 'Stable':
        // A follower re-sending an unchanged join (e.g. after a lost response) gets the current
        // generation back; the leader or a member with new metadata triggers a rebalance.
        if (
          sameProtocols &&
          (group.state === 'CompletingRebalance' || group.leaderId !== member.id)
        ) {
          this.resetSession(group, member);
          return Promise.resolve(this.joinResponse(group, member));
        }
        member.protocols = req.protocols;
        return this.parkJoin(group, member, `member ${member.id} rejoined with new metadata`);
      default:
        return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    }
  }

  private parkJoin(group: Group, member: Member, reason: string | null): Promise<JoinResult> {
    return new Promise((resolve) => {
      member.awaitingJoin?.(joinError(ErrorCode.UNKNOWN_MEMBER_ID, member.id)); // superseded
      member.awaitingJoin = resolve;
      if (group.state !== 'PreparingRebalance') this.prepareRebalance(group, reason ?? 'rejoin');
      else if (reason && group.joinDelayDeadline > Date.now()) this.extendInitialDelay(group);
      this.tryCompleteJoin(group);
    });
  }

  private prepareRebalance(group: Group, reason: string): void {
    if (group.state === 'CompletingRebalance') {
      // Members waiting in SyncGroup for an assignment that will never come must rejoin.
      for (const m of group.members.values()) {
        this.answerSync(m, { errorCode: ErrorCode.REBALANCE_IN_PROGRESS, assignment: EMPTY });
      }
    }
    const wasEmpty = group.state === 'Empty';
    group.state = 'PreparingRebalance';
    this.opts.log('preparing rebalance', { group: group.id, generation: group.generation, reason });
    const rebalanceTimeout = Math.max(
      0,
      ...[...group.members.values()].map((m) => m.rebalanceTimeoutMs),
    );
    group.clearTimers();
    group.rebalanceTimer = setTimeout(() => this.onRebalanceTimeout(group), rebalanceTimeout);
    group.joinNotBefore = 0;
    group.joinDelayDeadline = 0;
    if (wasEmpty && this.opts.initialRebalanceDelayMs > 0) {
      const now = Date.now();
      group.joinNotBefore = now + this.opts.initialRebalanceDelayMs;
      group.joinDelayDeadline = now + rebalanceTimeout;
    }
  }

  /** Like Kafka's InitialDelayedJoin: each new member extends the wait, up to the rebalance timeout. */
  private extendInitialDelay(group: Group): void {
    group.joinNotBefore = Math.min(
      Date.now() + this.opts.initialRebalanceDelayMs,
      group.joinDelayDeadline,
    );
  }

  private tryCompleteJoin(group: Group): void {
    if (group.state !== 'PreparingRebalance') return;
    for (const m of group.members.values()) if (!m.awaitingJoin) return;
    const wait = group.joinNotBefore - Date.now();
    if (wait > 0) {
      if (group.delayTimer) clearTimeout(group.delayTimer);
      group.delayTimer = setTimeout(() => this.tryCompleteJoin(group), wait);
      return;
    }
    this.completeJoin(group);
  }

  private onRebalanceTimeout(group: Group): void {
    if (group.state !== 'PreparingRebalance') return;
    for (const m of [...group.members.values()]) {
      if (!m.awaitingJoin)
        this.removeMember(group, m, 'did not rejoin before the rebalance timeout');
    }
    this.completeJoin(group);
  }

  private completeJoin(group: Group): void {
    if (group.state !== 'PreparingRebalance') return;
    group.clearTimers();
    group.generation++;
    if (group.members.size === 0) {
      group.state = 'Empty';
      group.protocol = null;
      group.leaderId = null; // protocolType is kept, as Kafka lists Empty groups with it
      this.opts.log('group is empty', { group: group.id, generation: group.generation });
      return;
    }
    group.protocol = group.selectProtocol();
    if (group.leaderId === null || !group.members.has(group.leaderId)) {
      group.leaderId = (group.members.keys().next().value as string | undefined) ?? null;
    }
    group.state = 'CompletingRebalance';
    this.opts.log('rebalance completed', {
      group: group.id,
      generation: group.generation,
      members: group.members.size,
      leader: group.leaderId,
      protocol: group.protocol,
    });
    for (const m of group.members.values()) {
      const resolve = m.awaitingJoin;
      m.awaitingJoin = null;
      m.assignment = EMPTY;
      this.resetSession(group, m);
      resolve?.(this.joinResponse(group, m));
    }
  }

  private joinResponse(group: Group, member: Member): JoinResult {
    const isLeader = group.leaderId === member.id;
    return {
      errorCode: ErrorCode.NONE,
      generationId: group.generation,
      protocol: group.protocol ?? '',
      leaderId: group.leaderId ?? '',
      memberId: member.id,
      members: isLeader
        ? [...group.members.values()].map((m) => ({
            memberId: m.id,
            metadata: group.metadataFor(m),
          }))
        : [],
    };
  }

  // ---- SyncGroup -------------------------------------------------------------------------

  sync(
    groupId: string,
    generationId: number,
    memberId: string,
    assignments: readonly { memberId: string; assignment: Buffer }[],
  ): Promise<SyncResult> {
    const fail = (errorCode: number): Promise<SyncResult> =>
      Promise.resolve({ errorCode, assignment: EMPTY });
    const group = this.groups.get(groupId);
    const member = group?.members.get(memberId);
    if (!group || !member) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    if (generationId !== group.generation) return fail(ErrorCode.ILLEGAL_GENERATION);
    switch (group.state) {
      case 'PreparingRebalance':
        return fail(ErrorCode.REBALANCE_IN_PROGRESS);
      case 'Stable':
        this.resetSession(group, member);
        return Promise.resolve({ errorCode: ErrorCode.NONE, assignment: member.assignment });
      case 'CompletingRebalance':
        return new Promise((resolve) => {
          member.awaitingSync?.({ errorCode: ErrorCode.REBALANCE_IN_PROGRESS, assignment: EMPTY });
          member.awaitingSync = resolve;
          this.resetSession(group, member);
          if (group.leaderId !== memberId) return;
          const byMember = new Map(assignments.map((a) => [a.memberId, a.assignment]));
          group.state = 'Stable';
          this.opts.log('group stable', { group: group.id, generation: group.generation });
          for (const m of group.members.values()) {
            m.assignment = byMember.get(m.id) ?? EMPTY;
            this.answerSync(m, { errorCode: ErrorCode.NONE, assignment: m.assignment });
          }
        });
      default:
        return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    }
  }

  private answerSync(member: Member, result: SyncResult): void {
    const resolve = member.awaitingSync;
    member.awaitingSync = null;
    resolve?.(result);
  }

  // ---- Heartbeat / LeaveGroup / session timeout -----------------------------------------

  heartbeat(groupId: string, generationId: number, memberId: string): number {
    const group = this.groups.get(groupId);
    const member = group?.members.get(memberId);
    if (!group || !member) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (generationId !== group.generation) return ErrorCode.ILLEGAL_GENERATION;
    this.resetSession(group, member);
    return group.state === 'PreparingRebalance' ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE;
  }

  leave(groupId: string, memberId: string): number {
    const group = this.groups.get(groupId);
    const member = group?.members.get(memberId);
    if (!group || !member) return ErrorCode.UNKNOWN_MEMBER_ID;
    this.removeMember(group, member, 'left the group');
    return ErrorCode.NONE;
  }

  private resetSession(group: Group, member: Member): void {
    if (member.sessionTimer) clearTimeout(member.sessionTimer);
    member.sessionTimer = setTimeout(() => {
      member.sessionTimer = null;
      if (group.members.get(member.id) !== member) return;
      // Like Kafka, a member parked in JoinGroup/SyncGroup is kept alive; the rebalance timeout
      // deals with members that never rejoin.
      if (member.awaitingJoin || member.awaitingSync) return this.resetSession(group, member);
      this.removeMember(group, member, 'session timeout expired');
    }, member.sessionTimeoutMs);
  }

  private removeMember(group: Group, member: Member, reason: string): void {
    if (member.sessionTimer) clearTimeout(member.sessionTimer);
    member.sessionTimer = null;
    group.members.delete(member.id);
    if (group.leaderId === member.id) group.leaderId = null;
    this.opts.log('member removed', { group: group.id, member: member.id, reason });
    const joinWaiter = member.awaitingJoin;
    member.awaitingJoin = null;
    joinWaiter?.(joinError(ErrorCode.UNKNOWN_MEMBER_ID, member.id));
    this.answerSync(member, { errorCode: ErrorCode.UNKNOWN_MEMBER_ID, assignment: EMPTY });
    switch (group.state) {
      case 'Stable':
      case 'CompletingRebalance':
        this.prepareRebalance(group, `member ${member.id} ${reason}`);
        this.tryCompleteJoin(group);
        break;
      case 'PreparingRebalance':
        this.tryCompleteJoin(group);
        break;
      default:
        break;
    }
  }

  // ---- Offsets ---------------------------------------------------------------------------

  /**
   * Validate an OffsetCommit against group membership; returns the error for every partition.
   * Generation -1 with an empty member id is a "simple" commit (admin, manual assignment), allowed
   * when the group is Empty or does not exist.
   */
  validateCommit(req: CommitRequest): number {
    const group = this.groups.get(req.groupId);
    if (req.groupId === '') return ErrorCode.INVALID_GROUP_ID;
    if (!group) {
      if (req.generationId < 0) {
        this.getOrCreate(req.groupId);
        return ErrorCode.NONE;
      }
      return ErrorCode.ILLEGAL_GENERATION;
    }
    if (req.generationId < 0 && group.state === 'Empty') return ErrorCode.NONE;
    if (group.state === 'CompletingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;
    const member = group.members.get(req.memberId);
    if (!member) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (req.generationId !== group.generation) return ErrorCode.ILLEGAL_GENERATION;
    this.resetSession(group, member);
    return ErrorCode.NONE;
  }

  commitOffset(
    groupId: string,
    topic: string,
    partition: number,
    offset: number,
    metadata: string | null,
  ): void {
    this.offsets.commit(groupId, topic, partition, { offset, metadata });
  }

  fetchOffset(
    groupId: string,
    topic: string,
    partition: number,
  ): { offset: number; metadata: string } {
    const c = this.offsets.get(groupId, topic, partition);
    return c ? { offset: c.offset, metadata: c.metadata ?? '' } : { offset: -1, metadata: '' };
  }

  /** OffsetFetch with null topics (v2+): everything the group has committed. */
  committedOffsets(
    groupId: string,
  ): { topic: string; partition: number; offset: number; metadata: string }[] {
    return this.offsets.committed(groupId).map((c) => ({
      topic: c.topic,
      partition: c.partition,
      offset: c.value.offset,
      metadata: c.value.metadata ?? '',
    }));
  }

  /**
   * DeleteGroups, as Kafka: a group with members is NON_EMPTY_GROUP (68), an unknown one
   * GROUP_ID_NOT_FOUND (69); otherwise the group and its committed offsets are removed.
   */
  deleteGroup(groupId: string): number {
    const group = this.groups.get(groupId);
    if (!group && !this.offsets.hasGroup(groupId)) return ErrorCode.GROUP_ID_NOT_FOUND;
    if (group && group.members.size > 0) return ErrorCode.NON_EMPTY_GROUP;
    if (group) {
      group.clearTimers();
      this.groups.delete(groupId);
    }
    this.offsets.deleteGroup(groupId);
    return ErrorCode.NONE;
  }

  deleteTopicOffsets(topic: string): void {
    this.offsets.deleteTopic(topic);
  }

  // ---- DescribeGroups / ListGroups -------------------------------------------------------

  describe(groupId: string): GroupDescription {
    const group = this.groups.get(groupId);
    if (!group && !this.offsets.hasGroup(groupId)) {
      return { errorCode: 0, groupId, state: 'Dead', protocolType: '', protocol: '', members: [] };
    }
    const stable = group?.state === 'Stable';
    return {
      errorCode: 0,
      groupId,
      state: group?.state ?? 'Empty',
      protocolType: group?.protocolType ?? '',
      protocol: stable ? (group?.protocol ?? '') : '',
      members: [...(group?.members.values() ?? [])].map((m) => ({
        memberId: m.id,
        clientId: m.clientId,
        clientHost: m.clientHost,
        metadata: stable && group ? group.metadataFor(m) : EMPTY,
        assignment: stable ? m.assignment : EMPTY,
      })),
    };
  }

  list(): { groupId: string; protocolType: string }[] {
    const ids = new Set([...this.groups.keys(), ...this.offsets.groups()]);
    return [...ids].sort().map((groupId) => ({
      groupId,
      protocolType: this.groups.get(groupId)?.protocolType ?? '',
    }));
  }

  stop(): void {
    for (const group of this.groups.values()) {
      group.clearTimers();
      for (const m of group.members.values()) if (m.sessionTimer) clearTimeout(m.sessionTimer);
    }
  }

  private getOrCreate(groupId: string): Group {
    let group = this.groups.get(groupId);
    if (!group) {
      group = new Group(groupId);
      this.groups.set(groupId, group);
    }
    return group;
  }
}

function joinError(errorCode: number, memberId: string): JoinResult {
  return { errorCode, generationId: -1, protocol: '', leaderId: '', memberId, members: [] };
}

function sameMetadata(a: readonly GroupProtocol[], b: readonly GroupProtocol[]): boolean {
  return (
    a.length === b.length &&
    a.every((p, i) => p.name === b[i]?.name && p.metadata.equals(b[i]?.metadata ?? EMPTY))
  );
}
