import { alterConfigs } from './alter-configs';
import { apiVersions } from './api-versions';
import { createPartitions } from './create-partitions';
import { createTopics } from './create-topics';
import { deleteGroups } from './delete-groups';
import { deleteRecords } from './delete-records';
import { deleteTopics } from './delete-topics';
import { describeConfigs } from './describe-configs';
import { describeGroups } from './describe-groups';
import { fetch } from './fetch';
import { findCoordinator } from './find-coordinator';
import { type Handler } from './handler';
import { heartbeat } from './heartbeat';
import { initProducerId } from './init-producer-id';
import { joinGroup } from './join-group';
import { leaveGroup } from './leave-group';
import { listGroups } from './list-groups';
import { listOffsets } from './list-offsets';
import { metadata } from './metadata';
import { offsetCommit } from './offset-commit';
import { offsetFetch } from './offset-fetch';
import { produce } from './produce';
import { syncGroup } from './sync-group';
import { addOffsetsToTxn, addPartitionsToTxn, endTxn, txnOffsetCommit } from './transactions';
import { ApiKey, type ApiKeyValue } from '../protocol/api-keys';

export type { Handler } from './handler';

/** One handler per API key; versions are checked by the connection (see api-keys.ts). */
export const HANDLERS: Readonly<Record<ApiKeyValue, Handler>> = {
  [ApiKey.Produce]: produce,
  [ApiKey.Fetch]: fetch,
  [ApiKey.ListOffsets]: listOffsets,
  [ApiKey.Metadata]: metadata,
  [ApiKey.OffsetCommit]: offsetCommit,
  [ApiKey.OffsetFetch]: offsetFetch,
  [ApiKey.FindCoordinator]: findCoordinator,
  [ApiKey.JoinGroup]: joinGroup,
  [ApiKey.Heartbeat]: heartbeat,
  [ApiKey.LeaveGroup]: leaveGroup,
  [ApiKey.SyncGroup]: syncGroup,
  [ApiKey.DescribeGroups]: describeGroups,
  [ApiKey.ListGroups]: listGroups,
  [ApiKey.ApiVersions]: apiVersions,
  [ApiKey.CreateTopics]: createTopics,
  [ApiKey.DeleteTopics]: deleteTopics,
  [ApiKey.DeleteRecords]: deleteRecords,
  [ApiKey.InitProducerId]: initProducerId,
  [ApiKey.AddPartitionsToTxn]: addPartitionsToTxn,
  [ApiKey.AddOffsetsToTxn]: addOffsetsToTxn,
  [ApiKey.EndTxn]: endTxn,
  [ApiKey.TxnOffsetCommit]: txnOffsetCommit,
  [ApiKey.DescribeConfigs]: describeConfigs,
  [ApiKey.AlterConfigs]: alterConfigs,
  [ApiKey.CreatePartitions]: createPartitions,
  [ApiKey.DeleteGroups]: deleteGroups,
};
