/**
 * API keys and the versions this broker advertises in ApiVersions.
 *
 * Each API is implemented at exactly one version (`version`), chosen so that both kafkajs 2.x
 * (which uses min(its max, our max) and ignores our min) and librdkafka 2.0.x (which uses the
 * highest version in the intersection of both ranges) pick it. See
 * shared/reference/wire-protocols.md §1.2.
 *
 * `minVersion` is advertised as 0 for every key, although only `version` is implemented:
 * librdkafka enables features (balanced consumer groups, message format v2, ...) only when our
 * advertised range overlaps fixed version ranges such as JoinGroup 0..0, and neither client ever
 * picks a version below our max. A request at any other version is answered as the real broker
 * does for a version it cannot parse: the connection is closed with a logged reason. ApiVersions is
 * the exception and implements v0 to v3.
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
  InitProducerId: 22,
} as const;

export type ApiKeyValue = (typeof ApiKey)[keyof typeof ApiKey];

export interface AdvertisedApi {
  readonly key: ApiKeyValue;
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
}

/** Implemented version per API (ApiVersions: 0..3). */
export const IMPLEMENTED_VERSION: Readonly<Record<ApiKeyValue, number>> = {
  [ApiKey.Produce]: 3,
  [ApiKey.Fetch]: 4,
  [ApiKey.ListOffsets]: 2,
  [ApiKey.Metadata]: 4,
  [ApiKey.OffsetCommit]: 2,
  [ApiKey.OffsetFetch]: 1,
  [ApiKey.FindCoordinator]: 0,
  [ApiKey.JoinGroup]: 1,
  [ApiKey.Heartbeat]: 0,
  [ApiKey.LeaveGroup]: 1,
  [ApiKey.SyncGroup]: 0,
  [ApiKey.DescribeGroups]: 0,
  [ApiKey.ListGroups]: 0,
  [ApiKey.ApiVersions]: 3,
  [ApiKey.CreateTopics]: 0,
  [ApiKey.DeleteTopics]: 0,
  [ApiKey.InitProducerId]: 0,
};

export const API_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(ApiKey).map(([name, key]) => [key, name]),
);

export const ADVERTISED_APIS: readonly AdvertisedApi[] = (
  Object.entries(IMPLEMENTED_VERSION) as unknown as [string, number][]
)
  .map(([key, maxVersion]) => ({
    key: Number(key) as ApiKeyValue,
    name: API_NAMES[Number(key)] ?? String(key),
    minVersion: 0,
    maxVersion,
  }))
  .sort((a, b) => a.key - b.key);

export function isApiKey(key: number): key is ApiKeyValue {
  return key in IMPLEMENTED_VERSION;
}

/** Request header v2 (with tagged fields) is used by flexible versions; here only ApiVersions v3+. */
export function usesFlexibleHeader(key: number, version: number): boolean {
  return key === ApiKey.ApiVersions && version >= 3;
}
