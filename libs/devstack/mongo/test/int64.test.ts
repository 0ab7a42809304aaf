/**
 * reviveNumbers (query/int64.ts) in process: integral numbers at recorded paths come back as Int64
 * or Double, through embedded documents and arrays; everything else is returned untouched.
 */
import { Double, Long, ObjectId } from 'bson';
import { emptyNumberPaths, reviveNumbers } from '../src/query/int64';

describe('reviveNumbers', () => {
  it('revives recorded paths at any depth and leaves other values alone', () => {
    const paths = emptyNumberPaths();
    paths.long.add('units');
    paths.long.add('lines.units');
    paths.double.add('meta.rate.value');
    const id = new ObjectId();
    const when = new Date(0);
    const other = { units: 1, deep: { units: 2 } };
    const doc = {
      _id: id,
      units: 5,
      half: 2.5,
      name: 'x',
      when,
      lines: [{ units: 7 }, { units: 1.5 }, 3],
      meta: { rate: { value: 2, other: 4 }, rates: [1] },
      other,
    };
    const out = reviveNumbers(doc, paths);
    expect(out).toEqual({
      _id: id,
      units: Long.fromNumber(5),
      half: 2.5,
      name: 'x',
      when,
      lines: [{ units: Long.fromNumber(7) }, { units: 1.5 }, 3],
      meta: { rate: { value: new Double(2), other: 4 }, rates: [1] },
      other: { units: 1, deep: { units: 2 } },
    });
    expect(out.other).toBe(other); // no recorded path under it: shared, not copied
    expect(doc.units).toBe(5); // the stored document is never changed
    paths.double.add('other.deep.units'); // path sets grow: later replies see the new path
    expect(reviveNumbers(doc, paths).other).toEqual({ units: 1, deep: { units: new Double(2) } });
  });
});
