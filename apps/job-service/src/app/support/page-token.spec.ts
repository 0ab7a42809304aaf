import { createHash } from 'node:crypto';
import { decodePageToken, encodePageToken } from './page-token';

const json = (token: string) =>
  JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Record<string, unknown>;
const tokenOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('ListJobs page tokens', () => {
  const cursor = { createdAt: new Date(1_700_000_000_000), id: 'job-1' };
  const filter = { type: 'demo.echo', state: 'PENDING' as const };

  it('carry the cursor back for the same filters only', () => {
    const token = encodePageToken(cursor, filter);
    expect(decodePageToken(token, filter)).toEqual(cursor);
    expect(decodePageToken('', filter)).toBeNull();
    expect(() => decodePageToken(token, { type: 'demo.other' })).toThrow('page_token');
  });

  it('still read tokens issued before the shared codec ({c, i, f})', () => {
    const scope = json(encodePageToken(cursor, filter)).s;
    // How tokens fingerprinted their filters before: the same value.
    expect(scope).toBe(
      createHash('sha256')
        .update(JSON.stringify(['demo.echo', 'PENDING', null, null]))
        .digest('base64url')
        .slice(0, 12),
    );
    const old = tokenOf({ c: cursor.createdAt.getTime(), i: cursor.id, f: scope });
    expect(decodePageToken(old, filter)).toEqual(cursor);
    expect(() => decodePageToken(old, { type: 'demo.other' })).toThrow('page_token');
  });
});
