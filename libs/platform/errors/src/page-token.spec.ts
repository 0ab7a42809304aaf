import { ValidationError } from './domain-error';
import {
  decodePageToken,
  encodePageToken,
  INVALID_PAGE_TOKEN,
  pageSizeOf,
  pageSizeViolation,
  validPageSize,
} from './page-token';

const isString = (key: unknown): key is string => typeof key === 'string';

function failure(work: () => unknown): ValidationError {
  try {
    work();
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error('did not fail');
}

describe('page sizes', () => {
  it('default at 0, are clamped above the maximum, and refused when negative', () => {
    expect(pageSizeOf(0)).toBe(50);
    expect(pageSizeOf(7)).toBe(7);
    expect(pageSizeOf(5000)).toBe(1000);
    expect(pageSizeViolation('page_size', 0)).toBeUndefined();
    expect(pageSizeViolation('page_size', -1)).toEqual({
      field: 'page_size',
      description: 'must not be negative',
    });
    expect(validPageSize('page_size', 5000)).toBe(1000);
    expect(() => validPageSize('page_size', -1)).toThrow('page_size: must not be negative');
  });
});

describe('page tokens', () => {
  it('carry the sort key back for the same scope; no token is the first page', () => {
    const token = encodePageToken('acc-9', 'accounts:EUR');
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodePageToken(token, 'accounts:EUR', { isKey: isString })).toBe('acc-9');
    expect(decodePageToken('', 'accounts:EUR', { isKey: isString })).toBeUndefined();
  });

  it('refuse a token of another scope, key shape or no token at all, with one code', () => {
    const token = encodePageToken('acc-9', 'accounts:EUR');
    const isNumber = (key: unknown): key is number => typeof key === 'number';
    const scope = 'accounts:EUR';
    const decodings = [
      () => decodePageToken(token, scope, { isKey: isNumber }),
      () => decodePageToken(encodePageToken('acc-9', 'accounts:USD'), scope, { isKey: isString }),
      () => decodePageToken('garbage!', scope, { isKey: isString }),
      () => decodePageToken(Buffer.from('[1]').toString('base64url'), scope, { isKey: isString }),
      () =>
        decodePageToken(Buffer.from('{"k":"acc-9"}').toString('base64url'), scope, {
          isKey: isString,
        }),
    ];
    for (const decode of decodings) {
      const error = failure(decode);
      expect(error.code).toBe(INVALID_PAGE_TOKEN);
      expect(error.fieldViolations.map((v) => v.field)).toEqual(['page_token']);
    }
  });

  it('read an older token shape through `legacy`', () => {
    const old = Buffer.from(JSON.stringify({ k: 'acc-3', f: 'accounts:EUR' })).toString(
      'base64url',
    );
    const legacy = (t: Record<string, unknown>, scope: string) =>
      t.f === scope && typeof t.k === 'string' ? t.k : undefined;
    expect(decodePageToken(old, 'accounts:EUR', { isKey: isString, legacy })).toBe('acc-3');
    expect(() => decodePageToken(old, 'accounts:USD', { isKey: isString, legacy })).toThrow(
      'page_token',
    );
    expect(() => decodePageToken(old, 'accounts:EUR', { isKey: isString })).toThrow('page_token');
  });
});
