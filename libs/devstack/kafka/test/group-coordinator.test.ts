/**
 * The coordinator's state machine directly, for the error codes Kafka sends (22, 23, 25, 27),
 * session and rebalance timeouts, and offset-commit rules. Timeouts are a few tens of ms.
 */
import { GroupCoordinator, type JoinRequest } from '../src/group/group-coordinator';
import { type JoinResult } from '../src/group/group';
import { OffsetStore } from '../src/group/offset-store';
import { ErrorCode } from '../src/protocol/error-codes';
import { waitFor } from './support';

const meta = Buffer.from('meta');

function coordinator(initialRebalanceDelayMs = 0): GroupCoordinator {
  return new GroupCoordinator(new OffsetStore(null), {
    initialRebalanceDelayMs,
    minSessionTimeoutMs: 1,
    maxSessionTimeoutMs: 60000,
    log: () => undefined,
  });
}

function joinReq(overrides: Partial<JoinRequest> = {}): JoinRequest {
  return {
    groupId: 'g',
    sessionTimeoutMs: 5000,
    rebalanceTimeoutMs: 5000,
    memberId: '',
    protocolType: 'consumer',
    protocols: [{ name: 'roundrobin', metadata: meta }],
    clientId: 'client',
    clientHost: '127.0.0.1',
    ...overrides,
  };
}

let c: GroupCoordinator;
afterEach(() => c.stop());

/** Join one member and complete its sync; returns its id and generation. */
async function stableSingle(req: Partial<JoinRequest> = {}): Promise<JoinResult> {
  const joined = await c.join(joinReq(req));
  expect(joined.errorCode).toBe(0);
  const synced = await c.sync('g', joined.generationId, joined.memberId, [
    { memberId: joined.memberId, assignment: Buffer.from('a') },
  ]);
  expect(synced).toEqual({ errorCode: 0, assignment: Buffer.from('a') });
  return joined;
}

describe('group coordinator', () => {
  it('assigns a member id, makes the first member leader and hands the leader all metadata', async () => {
    c = coordinator();
    const joined = await c.join(joinReq());
    expect(joined.memberId).toMatch(/^client-/);
    expect(joined).toMatchObject({ errorCode: 0, generationId: 1, protocol: 'roundrobin' });
    expect(joined.leaderId).toBe(joined.memberId);
    expect(joined.members).toEqual([{ memberId: joined.memberId, metadata: meta }]);
    expect(c.describe('g').state).toBe('CompletingRebalance');
  });

  it('answers heartbeats with 25, 22, 27 and 0 where Kafka does', async () => {
    c = coordinator();
    const a = await stableSingle();
    expect(c.heartbeat('g', a.generationId, 'nobody')).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(c.heartbeat('other', a.generationId, a.memberId)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(c.heartbeat('g', a.generationId + 1, a.memberId)).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(c.heartbeat('g', a.generationId, a.memberId)).toBe(ErrorCode.NONE);

    // A second member joining starts a rebalance: the first learns it from its heartbeat.
    const bJoin = c.join(joinReq({ clientId: 'b' }));
    expect(c.heartbeat('g', a.generationId, a.memberId)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    expect(c.describe('g').state).toBe('PreparingRebalance');
    // Sync and commits of the old generation during the rebalance:
    expect((await c.sync('g', a.generationId, a.memberId, [])).errorCode).toBe(
      ErrorCode.REBALANCE_IN_PROGRESS,
    );
    expect(
      c.validateCommit({ groupId: 'g', generationId: a.generationId, memberId: a.memberId }),
    ).toBe(ErrorCode.NONE); // the previous generation may still commit while preparing

    const aJoin = c.join(joinReq({ memberId: a.memberId }));
    const [aj, bj] = await Promise.all([aJoin, bJoin]);
    expect(aj.generationId).toBe(a.generationId + 1);
    expect(bj.generationId).toBe(a.generationId + 1);
    expect(aj.leaderId).toBe(a.memberId); // the existing leader stays leader
    expect(aj.members).toHaveLength(2);
    expect(bj.members).toEqual([]);
    expect(c.heartbeat('g', a.generationId, a.memberId)).toBe(ErrorCode.ILLEGAL_GENERATION);
    // Awaiting the leader's assignment: commits get 27.
    expect(
      c.validateCommit({ groupId: 'g', generationId: aj.generationId, memberId: a.memberId }),
    ).toBe(ErrorCode.REBALANCE_IN_PROGRESS);

    const bSync = c.sync('g', bj.generationId, bj.memberId, []);
    const aSync = c.sync('g', aj.generationId, aj.memberId, [
      { memberId: aj.memberId, assignment: Buffer.from('A') },
      { memberId: bj.memberId, assignment: Buffer.from('B') },
    ]);
    expect((await bSync).assignment.toString()).toBe('B');
    expect((await aSync).assignment.toString()).toBe('A');
    expect(c.describe('g').state).toBe('Stable');
  });

  it('rejects a member whose protocols share nothing with the group (23)', async () => {
    c = coordinator();
    await stableSingle();
    const other = await c.join(joinReq({ protocols: [{ name: 'range', metadata: meta }] }));
    expect(other.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const otherType = await c.join(joinReq({ protocolType: 'connect' }));
    expect(otherType.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  });

  it('answers an unknown member id on JoinGroup and SyncGroup with 25', async () => {
    c = coordinator();
    await stableSingle();
    expect((await c.join(joinReq({ memberId: 'ghost' }))).errorCode).toBe(
      ErrorCode.UNKNOWN_MEMBER_ID,
    );
    expect((await c.sync('g', 1, 'ghost', [])).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('removes a member whose session expires and rebalances the rest', async () => {
    c = coordinator();
    const a = await stableSingle({ sessionTimeoutMs: 60 });
    const bJoin = c.join(
      joinReq({ clientId: 'b', sessionTimeoutMs: 60, rebalanceTimeoutMs: 5000 }),
    );
    await waitFor(() => c.describe('g').members.length === 2, 'b to be a member');
    // a neither heartbeats nor rejoins: its 60 ms session expires long before the 5 s rebalance
    // timeout, so the rebalance completes with b alone.
    const bj = await bJoin;
    expect(bj.errorCode).toBe(0);
    expect(bj.leaderId).toBe(bj.memberId);
    expect(c.describe('g').members.map((m) => m.memberId)).toEqual([bj.memberId]);
    expect(c.heartbeat('g', a.generationId, a.memberId)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('drops members that do not rejoin within the rebalance timeout', async () => {
    c = coordinator();
    const a = await stableSingle({ sessionTimeoutMs: 10000, rebalanceTimeoutMs: 80 });
    const started = Date.now();
    const bj = await c.join(
      joinReq({ clientId: 'b', sessionTimeoutMs: 10000, rebalanceTimeoutMs: 80 }),
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(70);
    expect(bj.members.map((m) => m.memberId)).toEqual([bj.memberId]);
    expect(c.heartbeat('g', a.generationId, a.memberId)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('empties the group when the last member leaves, then allows simple commits', async () => {
    c = coordinator();
    const a = await stableSingle();
    expect(c.validateCommit({ groupId: 'g', generationId: -1, memberId: '' })).toBe(
      ErrorCode.UNKNOWN_MEMBER_ID,
    );
    expect(c.leave('g', a.memberId)).toBe(ErrorCode.NONE);
    expect(c.leave('g', a.memberId)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(c.describe('g')).toMatchObject({ state: 'Empty', members: [] });
    expect(c.validateCommit({ groupId: 'g', generationId: -1, memberId: '' })).toBe(0);
    expect(c.validateCommit({ groupId: 'new', generationId: -1, memberId: '' })).toBe(0);
    expect(c.validateCommit({ groupId: 'new2', generationId: 3, memberId: 'x' })).toBe(
      ErrorCode.ILLEGAL_GENERATION,
    );
  });

  it('stores negative offsets verbatim and returns -1 when nothing is committed', () => {
    c = coordinator();
    expect(c.fetchOffset('g', 't', 0)).toEqual({ offset: -1, metadata: '' });
    c.commitOffset('g', 't', 0, -2, null);
    expect(c.fetchOffset('g', 't', 0)).toEqual({ offset: -2, metadata: '' });
    c.commitOffset('g', 't', 1, 42, 'm');
    expect(c.fetchOffset('g', 't', 1)).toEqual({ offset: 42, metadata: 'm' });
  });

  it('waits the initial rebalance delay so members starting together share one generation', async () => {
    c = coordinator(60);
    const joins = [c.join(joinReq({ clientId: 'x' })), c.join(joinReq({ clientId: 'y' }))];
    const [x, y] = await Promise.all(joins);
    expect(x?.generationId).toBe(1);
    expect(y?.generationId).toBe(1);
  });
});
