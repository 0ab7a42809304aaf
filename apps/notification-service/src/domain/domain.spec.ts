import { retryDelayMs } from './delivery-policy';
import { isValidEmail } from './email-address';
import { formatMoney } from './money';
import { smtpMessageIdOf } from './notification';
import { decodePageToken, encodePageToken, pageSize } from './pagination';
import { describeSyntaxError, TemplateRenderer } from './template-engine';
import { TokenBucket } from './token-bucket';
import Handlebars from 'handlebars';

describe('TokenBucket', () => {
  it('allows the burst, then one token per 1/rate seconds, and says how long to wait', () => {
    const bucket = new TokenBucket(10, 2, 0);
    expect(bucket.take(0)).toEqual({ ok: true });
    expect(bucket.take(0)).toEqual({ ok: true });
    expect(bucket.take(0)).toEqual({ ok: false, retryAfterMs: 100 });
    expect(bucket.take(100)).toEqual({ ok: true });
    expect(new TokenBucket(0, 0, 0).take(0)).toEqual({ ok: true });
  });

  it('reserve queues: the n-th reservation waits (n - burst) / rate', () => {
    const bucket = new TokenBucket(20, 1, 0);
    expect([0, 1, 2, 3].map(() => bucket.reserve(0))).toEqual([0, 50, 100, 150]);
  });
});

describe('templates', () => {
  it('reports line and column of a syntax error from the real source position', () => {
    const source = 'first line\nsecond {{name}';
    let message = '';
    try {
      Handlebars.parse(source);
    } catch (err) {
      message = describeSyntaxError(source, err);
    }
    expect(message).toBe("line 2, column 14: expected '}}' to close '{{name', found '}'");
  });

  it('says in one sentence what a template author left open, not the parser tokens', () => {
    const cases: Array<[string, string]> = [
      [
        'Hello {{name',
        "line 1, column 13: expected '}}' to close '{{name', found the end of the template",
      ],
      ['{{{x}}', "line 1, column 5: expected '}}}' to close '{{{x', found '}}'"],
      ['x {{}}', "line 1, column 5: expected a name or value after '{{', found '}}'"],
      [
        'a {{#if x}}\n{{else}}\n',
        "line 3, column 1: expected '{{/if}}' to close '{{#if x}}' from line 1, found the end of the template",
      ],
      [
        'ok {{!-- never closed',
        "line 1, column 4: a '{{!--' comment that is never closed with '--}}'",
      ],
    ];
    for (const [source, expected] of cases) {
      let message = '';
      try {
        Handlebars.parse(source);
      } catch (err) {
        message = describeSyntaxError(source, err);
      }
      expect(message).toBe(expected);
      expect(message).not.toMatch(/Expecting|'ID'|'CLOSE'|INVALID|EOF/);
    }
  });

  it('renders strictly: a missing nested variable names its full path', () => {
    const renderer = new TemplateRenderer();
    const template = {
      id: 't',
      version: 1,
      subject: 'Hi {{a.b}}',
      textBody: '',
      htmlBody: '<p>{{x}}</p>',
    };
    expect(() => renderer.render(template, { a: {}, x: 1 })).toThrow('variables.a.b');
    expect(renderer.render(template, { a: { b: '<B>' }, x: '<i>' })).toEqual({
      subject: 'Hi <B>',
      textBody: '',
      htmlBody: '<p>&lt;i&gt;</p>',
    });
  });
});

describe('small rules', () => {
  it('formats money in bigint minor units per currency exponent', () => {
    expect(formatMoney('EUR', 1250n)).toBe('EUR 12.50');
    expect(formatMoney('EUR', -5n)).toBe('EUR -0.05');
    expect(formatMoney('JPY', 1250n)).toBe('JPY 1250');
    expect(formatMoney('KWD', 1234567n)).toBe('KWD 1234.567');
  });

  it('extracts the queue id from an SMTP acceptance reply', () => {
    expect(smtpMessageIdOf('250 2.0.0 Ok: queued as ABC123')).toBe('ABC123');
    expect(smtpMessageIdOf('250 OK')).toBe('250 OK');
  });

  it('validates addresses', () => {
    expect(isValidEmail('a.b+c@example.co.uk')).toBe(true);
    for (const bad of ['a@b', '@x.test', 'a..b@x.test', 'a b@x.test', 'a@-x.test']) {
      expect(isValidEmail(bad)).toBe(false);
    }
  });

  it('backs off exponentially with jitter, capped', () => {
    const policy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1000 };
    expect([1, 2, 3, 4, 5].map((a) => retryDelayMs(policy, a, () => 0.5))).toEqual([
      100, 200, 400, 800, 1000,
    ]);
    expect(retryDelayMs(policy, 1, () => 0)).toBe(80);
  });

  it('pages: clamps, refuses negatives and foreign tokens', () => {
    expect(pageSize(0)).toBe(50);
    expect(pageSize(5000)).toBe(1000);
    expect(() => pageSize(-1)).toThrow('page_size');
    const token = encodePageToken(['a@x.test'], 'f1');
    expect(decodePageToken(token, 'f1')).toEqual(['a@x.test']);
    expect(() => decodePageToken(token, 'f2')).toThrow('page_token');
  });
});
