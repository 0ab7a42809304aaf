/**
 * Write concern against our one-member replica set, as mongod checks it after a write
 * (`checkIfWriteConcernCanBeSatisfied`): `w` 0/1 and `majority` are satisfied at once (one
 * data-bearing member, journaled before the reply), so `wtimeout` never expires; `w` above 1 can
 * never be satisfied and a tag set name is not configured. Those get a `writeConcernError` on an
 * otherwise successful reply — the write itself is applied, exactly as on mongod.
 */
import type { Document } from 'bson';
import { isPlainObject } from '../query/documents';

const UNSATISFIABLE_WRITE_CONCERN = 100;
const UNKNOWN_REPL_WRITE_CONCERN = 79;

/** The writeConcernError mongod would attach for `cmd.writeConcern`, or null if satisfied. */
export function writeConcernError(cmd: Document): Document | null {
  const wc: unknown = cmd.writeConcern;
  if (!isPlainObject(wc) || wc.w === undefined) return null;
  const w: unknown = wc.w;
  const errInfo = {
    writeConcern: { w, wtimeout: Number(wc.wtimeout ?? 0), provenance: 'clientSupplied' },
  };
  if (typeof w === 'number' || typeof w === 'bigint') {
    if (Number(w) <= 1) return null;
    return {
      code: UNSATISFIABLE_WRITE_CONCERN,
      codeName: 'UnsatisfiableWriteConcern',
      errmsg: 'Not enough data-bearing nodes',
      errInfo,
    };
  }
  if (typeof w === 'string' && w !== 'majority') {
    return {
      code: UNKNOWN_REPL_WRITE_CONCERN,
      codeName: 'UnknownReplWriteConcern',
      errmsg: `No write concern mode named '${w}' found in replica set configuration`,
      errInfo,
    };
  }
  return null;
}
