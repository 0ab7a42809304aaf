import { decodePageToken, encodePageToken } from './pagination';

describe('notification page tokens', () => {
  it('still read tokens issued before the shared codec ({k, f}), for their filter only', () => {
    const old = Buffer.from(JSON.stringify({ k: ['a@x.test'], f: 'f1' })).toString('base64url');
    expect(decodePageToken(old, 'f1')).toEqual(['a@x.test']);
    expect(() => decodePageToken(old, 'f2')).toThrow('page_token');
  });

  it('refuse a token whose key is not a sort key', () => {
    expect(decodePageToken(encodePageToken(['a', 1], 'f1'), 'f1')).toEqual(['a', 1]);
    const notArray = Buffer.from(JSON.stringify({ k: 'a', s: 'f1' })).toString('base64url');
    expect(() => decodePageToken(notArray, 'f1')).toThrow('page_token');
  });
});
