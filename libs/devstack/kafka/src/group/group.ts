/** Consumer-group state, named as Kafka's GroupMetadata states (DescribeGroups returns these). */
export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface GroupProtocol {
  readonly name: string;
  readonly metadata: Buffer;
}

export interface JoinResult {
  readonly errorCode: number;
  readonly generationId: number;
  readonly protocol: string;
  readonly leaderId: string;
  readonly memberId: string;
  /** All members with their metadata for the chosen protocol; only the leader gets them. */
  readonly members: readonly { memberId: string; metadata: Buffer }[];
}

export interface SyncResult {
  readonly errorCode: number;
  readonly assignment: Buffer;
}

export interface Member {
  readonly id: string;
  readonly clientId: string;
  readonly clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocols: readonly GroupProtocol[];
  assignment: Buffer;
  /** Set while a JoinGroup of this member is parked until the rebalance completes. */
  awaitingJoin: ((r: JoinResult) => void) | null;
  /** Set while a SyncGroup of this member is parked until the leader's assignment arrives. */
  awaitingSync: ((r: SyncResult) => void) | null;
  sessionTimer: NodeJS.Timeout | null;
}

export class Group {
  state: GroupState = 'Empty';
  generation = 0;
  protocolType: string | null = null;
  protocol: string | null = null;
  leaderId: string | null = null;
  /** Insertion order = join order; the first member becomes leader when there is none. */
  readonly members = new Map<string, Member>();
  /** Ids handed out with MEMBER_ID_REQUIRED (JoinGroup v4+) and not yet used to join. */
  readonly pendingMembers = new Set<string>();
  rebalanceTimer: NodeJS.Timeout | null = null;
  /** Initial rebalance delay (group.initial.rebalance.delay.ms): no completion before this time. */
  joinNotBefore = 0;
  joinDelayDeadline = 0;
  delayTimer: NodeJS.Timeout | null = null;

  constructor(readonly id: string) {}

  /** Protocols every current member supports. */
  candidateProtocols(): Set<string> {
    let common: string[] | null = null;
    for (const m of this.members.values()) {
      const names = m.protocols.map((p) => p.name);
      common = common === null ? names : common.filter((n) => names.includes(n));
    }
    return new Set(common ?? []);
  }

  /** Kafka's supportsProtocols: same protocol type and at least one protocol in common. */
  supports(protocolType: string, protocols: readonly GroupProtocol[]): boolean {
    if (protocolType === '' || protocols.length === 0) return false;
    if (this.members.size === 0) return true;
    if (protocolType !== this.protocolType) return false;
    const candidates = this.candidateProtocols();
    return protocols.some((p) => candidates.has(p.name));
  }

  /** Each member votes for its most preferred candidate; the most votes wins. */
  selectProtocol(): string {
    const candidates = this.candidateProtocols();
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const choice = m.protocols.find((p) => candidates.has(p.name));
      if (choice) votes.set(choice.name, (votes.get(choice.name) ?? 0) + 1);
    }
    let best = '';
    let bestVotes = -1;
    for (const [name, n] of votes) {
      if (n > bestVotes) {
        best = name;
        bestVotes = n;
      }
    }
    return best;
  }

  metadataFor(member: Member): Buffer {
    return member.protocols.find((p) => p.name === this.protocol)?.metadata ?? Buffer.alloc(0);
  }

  clearTimers(): void {
    if (this.rebalanceTimer) clearTimeout(this.rebalanceTimer);
    if (this.delayTimer) clearTimeout(this.delayTimer);
    this.rebalanceTimer = null;
    this.delayTimer = null;
  }
}
