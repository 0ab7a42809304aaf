import { KeyRing } from './key-ring';
import { ListUnsubscribeHeaders } from './list-unsubscribe-headers';
import { UnsubscribeTokens } from './unsubscribe-token';

const DAY = 86_400_000;
const now = new Date('2026-12-01T00:00:00Z');
const ring = (spec: string, current?: string) => KeyRing.parse(spec, current);
const annsMail = '0b6c9f52-3f7e-4c55-9d7a-3f0b1a2c4d5e';
const bobsMail = '7d1e2f30-aaaa-4bbb-8ccc-0123456789ab';

describe('KeyRing', () => {
  it('refuses bad key specs with a sentence', () => {
    expect(() => ring('')).toThrow(/no keys/);
    expect(() => ring('k1:short')).toThrow(/at least 16/);
    expect(() => ring('k 1:0123456789abcdef')).toThrow(/key id/);
    expect(() => ring('k1:0123456789abcdef,k1:0123456789abcdeg')).toThrow(/twice/);
    expect(() => ring('k1:0123456789abcdef', 'k2')).toThrow(/not among/);
  });
});

describe('UnsubscribeTokens', () => {
  const tokens = new UnsubscribeTokens(
    ring('k2:second-secret-0123456789,k1:first-secret-0123456789'),
    30 * DAY,
  );

  it('round-trips the notification, list and expiry', () => {
    const check = tokens.verify(tokens.issue(annsMail, 'newsletter', now), now);
    expect(check).toEqual({
      ok: true,
      claim: {
        notificationId: annsMail,
        list: 'newsletter',
        expiresAt: new Date(now.getTime() + 30 * DAY),
      },
    });
  });

  it('carries no address: only an opaque id, readable or not', () => {
    const [, , body] = tokens.issue(annsMail, 'newsletter', now).split('.');
    expect(JSON.parse(Buffer.from(body, 'base64url').toString('utf8'))).toEqual({
      n: annsMail,
      l: 'newsletter',
      x: expect.any(Number),
    });
  });

  it('refuses an expired token', () => {
    const token = tokens.issue(annsMail, 'newsletter', now);
    expect(tokens.verify(token, new Date(now.getTime() + 30 * DAY))).toEqual({
      ok: false,
      reason: 'expired',
    });
  });

  it('refuses a token whose payload was changed (another mail or list)', () => {
    const [v, kid, , mac] = tokens.issue(annsMail, 'newsletter', now).split('.');
    const other = Buffer.from(
      JSON.stringify({ n: bobsMail, l: 'newsletter', x: now.getTime() / 1000 + 1000 }),
    ).toString('base64url');
    expect(tokens.verify([v, kid, other, mac].join('.'), now)).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
  });

  it('refuses a correctly signed token whose list is not a category (it would be stored and shown)', () => {
    for (const list of ['NOT A LIST <script>', '', '../newsletter']) {
      expect(tokens.verify(tokens.issue(annsMail, list, now), now)).toEqual({
        ok: false,
        reason: 'malformed',
      });
    }
  });

  it('refuses a token signed with a key not in the ring, and garbage', () => {
    const forged = new UnsubscribeTokens(ring('k2:someone-elses-secret-0000'), DAY).issue(
      bobsMail,
      'news',
      now,
    );
    expect(tokens.verify(forged, now)).toEqual({ ok: false, reason: 'bad-signature' });
    const unknown = new UnsubscribeTokens(ring('k9:first-secret-0123456789'), DAY).issue(
      bobsMail,
      'news',
      now,
    );
    expect(tokens.verify(unknown, now)).toEqual({ ok: false, reason: 'unknown-key' });
    for (const bad of ['', 'u2', 'u2.k2.x', 'u1.k2.e30.AAAA', 'u2.k2.!!.AAAA']) {
      expect(tokens.verify(bad, now)).toMatchObject({ ok: false });
    }
  });

  it('keeps verifying tokens of an older key after rotation, until that key is dropped', () => {
    const old = new UnsubscribeTokens(ring('k1:first-secret-0123456789'), DAY).issue(
      bobsMail,
      'news',
      now,
    );
    expect(tokens.verify(old, now)).toMatchObject({ ok: true });
    const dropped = new UnsubscribeTokens(ring('k2:second-secret-0123456789'), DAY);
    expect(dropped.verify(old, now)).toEqual({ ok: false, reason: 'unknown-key' });
  });
});

describe('ListUnsubscribeHeaders', () => {
  const tokens = new UnsubscribeTokens(ring('k1:first-secret-0123456789'), DAY);
  const headers = new ListUnsubscribeHeaders(tokens, {
    publicUrl: 'https://mail.example.com',
    mailto: 'unsubscribe@example.com',
  });

  it('gives marketing mail an https one-click URL, a mailto and List-Unsubscribe-Post', () => {
    const h = headers.for(annsMail, { kind: 'marketing', list: 'newsletter' }, now);
    expect(h['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
    const [https, mailto] = h['List-Unsubscribe'].split(', ');
    expect(mailto).toMatch(/^<mailto:unsubscribe@example\.com\?subject=unsubscribe%20u2\./);
    const url = new URL(https.slice(1, -1));
    expect(url.origin + url.pathname).toBe('https://mail.example.com/unsubscribe');
    expect(tokens.verify(url.searchParams.get('token') ?? '', now)).toMatchObject({
      ok: true,
      claim: { notificationId: annsMail, list: 'newsletter' },
    });
  });

  it('gives transactional mail none', () => {
    expect(headers.for(annsMail, { kind: 'transactional' }, now)).toEqual({});
  });
});
