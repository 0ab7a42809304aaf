import { type Handler } from './handler';
import { ADVERTISED_APIS } from '../protocol/api-keys';
import { ErrorCode } from '../protocol/error-codes';
import { Writer } from '../protocol/writer';

/**
 * ApiVersions v0..v3. kafkajs starts at v2; librdkafka sends v3 (flexible: compact strings and
 * tagged fields in the body, header v2) and gets a v3 body behind response header v0. A higher
 * version gets UNSUPPORTED_VERSION in the v0 layout with our list, as Kafka answers it, so the
 * client can retry with a version we know.
 */
export const apiVersions: Handler = (ctx, r) => {
  const v = ctx.apiVersion;
  const w = new Writer();
  if (v > 3) {
    return w.int16(ErrorCode.UNSUPPORTED_VERSION).array(ADVERTISED_APIS, (w, a) => {
      w.int16(a.key).int16(a.minVersion).int16(a.maxVersion);
    });
  }
  if (v === 3) {
    r.compactNullableString(); // client_software_name
    r.compactNullableString(); // client_software_version
    r.skipTaggedFields();
    w.int16(ErrorCode.NONE);
    w.compactArray(ADVERTISED_APIS, (w, a) => {
      w.int16(a.key).int16(a.minVersion).int16(a.maxVersion).emptyTaggedFields();
    });
    return w.int32(0).emptyTaggedFields();
  }
  w.int16(ErrorCode.NONE).array(ADVERTISED_APIS, (w, a) => {
    w.int16(a.key).int16(a.minVersion).int16(a.maxVersion);
  });
  if (v >= 1) w.int32(0); // throttle_time_ms
  return w;
};
