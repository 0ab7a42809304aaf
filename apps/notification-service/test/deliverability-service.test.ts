import { ListUnsubscribeHeaders } from '../src/app/support/list-unsubscribe-headers';
import { KeyRing } from '../src/app/support/key-ring';
import { UnsubscribeTokens } from '../src/app/support/unsubscribe-token';
import { loadServiceConfig } from '../src/config';
import { waitFor } from '@trellis/platform/testing';
import { MongoClient } from 'mongodb';
import { startInfra, startTestService, type Infra, type StartedService } from './support';

const KEYS = 'k1:unsubscribe-secret-0123456789';

describe('the notification-service starts its HTTP endpoint and bounce intake from config', () => {
  let infra: Infra;
  let svc: StartedService;

  beforeAll(async () => {
    infra = await startInfra();
    svc = await startTestService(infra, {
      UNSUBSCRIBE_KEYS: KEYS,
      NOTIFICATION_HTTP_HOST: '127.0.0.1',
      NOTIFICATION_HTTP_PORT: '0',
      BOUNCE_KEYS: 'b1:bounce-secret-0123456789',
      BOUNCE_SMTP_ENABLED: 'true',
      BOUNCE_SMTP_HOST: '127.0.0.1',
      BOUNCE_SMTP_PORT: '0',
    });
  });

  afterAll(async () => {
    await svc.stop();
    await infra.stop();
  });

  const listening = (msg: string) =>
    waitFor(() => svc.lines.find((l) => l.msg === msg)?.url as string | undefined, { what: msg });

  it('a one-click POST to the running service suppresses that contact for that list', async () => {
    const url = await listening('notification http endpoint listening');
    const headers = new ListUnsubscribeHeaders(
      new UnsubscribeTokens(KeyRing.parse(KEYS), 86_400_000),
      {
        publicUrl: url,
        mailto: 'unsubscribe@trellis.test',
      },
    );
    // A newsletter mail to Ann: the token names its notification.
    const { notifications } = await svc.client.sendEmail({
      to: ['ann@example.com'],
      inline: { subject: 'News', textBody: 'Hello', htmlBody: '' },
      idempotencyKey: 'news-1',
      category: 'newsletter',
    });
    const link = /^<([^>]+)>/.exec(
      headers.for(notifications[0].id, { kind: 'marketing', list: 'newsletter' }, new Date())[
        'List-Unsubscribe'
      ],
    )![1];
    const res = await fetch(link, { method: 'POST', body: 'List-Unsubscribe=One-Click' });
    expect(res.status).toBe(200);
    const client = await MongoClient.connect(infra.mongoUri);
    try {
      expect(
        await client.db(svc.database).collection('list_suppressions').find().toArray(),
      ).toMatchObject([
        { _id: { email: 'ann@example.com', list: 'newsletter' }, source: 'one-click' },
      ]);
    } finally {
      await client.close();
    }
    expect(await listening('bounce intake listening')).toMatch(/^smtp:\/\/127\.0\.0\.1:\d+$/);
  });

  it('refuses a bounce intake without return-path keys, and an unknown signing key id, at start', () => {
    expect(() => loadServiceConfig({ BOUNCE_SMTP_ENABLED: 'true' })).toThrow(/BOUNCE_KEYS/);
    expect(() => loadServiceConfig({ UNSUBSCRIBE_KEYS: KEYS, UNSUBSCRIBE_KEY_ID: 'k2' })).toThrow(
      /UNSUBSCRIBE_KEY_ID/,
    );
    expect(() => loadServiceConfig({ UNSUBSCRIBE_KEYS: 'k1:short' })).toThrow(/UNSUBSCRIBE_KEYS/);
  });
});
