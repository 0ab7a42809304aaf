/**
 * API keys and the version ranges this broker implements and advertises in ApiVersions.
 *
 * The highest implemented version of each API is the one kafkajs 2.2.4 picks (it uses
 * min(its max, our max)); librdkafka 2.0.x (Debian's kcat) picks the highest version both sides
 * know, which is never above kafkajs's max for the APIs it uses (shared/reference/wire-protocols.md
 * §1.2), so every version either client sends lies in [min, max] below. No version here is
 * flexible except ApiVersions v3, which librdkafka sends first.
 *
 * `minVersion` is advertised as 0 for every key, although only `min..max` is implemented:
 * librdkafka enables features (balanced consumer groups, message format v2, ...) only when our
 * advertised range overlaps fixed version ranges such as JoinGroup 0..0, and neither client ever
 * picks a version below our max. A request at any other version is answered as the real broker
 * does for a version it cannot parse: the connection is closed with a logged reason.
 */
export const ApiKey = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  OffsetCommit: 8,
  OffsetFetch: 9,
  FindCoordinator: 10,
  JoinGroup: 11,
  Heartbeat: 12,
  LeaveGroup: 13,
  SyncGroup: 14,
  DescribeGroups: 15,
  ListGroups: 16,
  ApiVersions: 18,
  CreateTopics: 19,
  DeleteTopics: 20,
  DeleteRecords: 21,
  InitProducerId: 22,
  AddPartitionsToTxn: 24,
  AddOffsetsToTxn: 25,
  EndTxn: 26,
  TxnOffsetCommit: 28,
  DescribeConfigs: 32,
  AlterConfigs: 33,
  CreatePartitions: 37,
  DeleteGroups: 42,
} as const;

export type ApiKeyValue = (typeof ApiKey)[keyof typeof ApiKey];

export interface AdvertisedApi {
  readonly key: ApiKeyValue;
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
}

export interface VersionRange {
  readonly min: number;
  readonly max: number;
}

/** Implemented versions per API (both ends included). */
export const IMPLEMENTED_VERSIONS: Readonly<Record<ApiKeyValue, VersionRange>> = {
  [ApiKey.Produce]: { min: 3, max: 7 },
  [ApiKey.Fetch]: { min: 4, max: 11 },
  [ApiKey.ListOffsets]: { min: 0, max: 3 },
  [ApiKey.Metadata]: { min: 4, max: 6 },
  [ApiKey.OffsetCommit]: { min: 2, max: 5 },
  [ApiKey.OffsetFetch]: { min: 1, max: 4 },
  [ApiKey.FindCoordinator]: { min: 0, max: 2 },
  [ApiKey.JoinGroup]: { min: 1, max: 5 },
  [ApiKey.Heartbeat]: { min: 0, max: 3 },
  [ApiKey.LeaveGroup]: { min: 1, max: 3 },
  [ApiKey.SyncGroup]: { min: 0, max: 3 },
  [ApiKey.DescribeGroups]: { min: 0, max: 2 },
  [ApiKey.ListGroups]: { min: 0, max: 2 },
  [ApiKey.ApiVersions]: { min: 0, max: 3 },
  [ApiKey.CreateTopics]: { min: 0, max: 3 },
  [ApiKey.DeleteTopics]: { min: 0, max: 1 },
  [ApiKey.DeleteRecords]: { min: 0, max: 1 },
  [ApiKey.InitProducerId]: { min: 0, max: 1 },
  [ApiKey.AddPartitionsToTxn]: { min: 0, max: 1 },
  [ApiKey.AddOffsetsToTxn]: { min: 0, max: 1 },
  [ApiKey.EndTxn]: { min: 0, max: 1 },
  [ApiKey.TxnOffsetCommit]: { min: 0, max: 1 },
  [ApiKey.DescribeConfigs]: { min: 0, max: 2 },
  [ApiKey.AlterConfigs]: { min: 0, max: 1 },
  [ApiKey.CreatePartitions]: { min: 0, max: 1 },
  [ApiKey.DeleteGroups]: { min: 0, max: 1 },
};

export const API_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(ApiKey).map(([name, key]) => [key, name]),
);

export const ADVERTISED_APIS: readonly AdvertisedApi[] = (
  Object.entries(IMPLEMENTED_VERSIONS) as unknown as [string, VersionRange][]
)
  .map(([key, range]) => ({
    key: Number(key) as ApiKeyValue,
    name: API_NAMES[Number(key)] ?? String(key),
    minVersion: 0,
    maxVersion: range.max,
  }))
  .sort((a, b) => a.key - b.key);

export function isApiKey(key: number): key is ApiKeyValue {
  return key in IMPLEMENTED_VERSIONS;
}

/** Request header v2 (with tagged fields) is used by flexible versions; here only ApiVersions v3+. */
export function usesFlexibleHeader(key: number, version: number): boolean {
  return key === ApiKey.ApiVersions && version >= 3;
}
