import { ClientError, Status } from 'nice-grpc';
import { BadRequest, RichClientError } from 'nice-grpc-error-details';
import { notificationV1 } from '@trellis/contracts';
import { bufCurl } from '@trellis/platform/testing';
import {
  errorInfo,
  startInfra,
  startTestService,
  type Infra,
  type NotificationClient,
  type StartedService,
} from './support';

let infra: Infra;
let svc: StartedService;
let client: NotificationClient;

beforeAll(async () => {
  infra = await startInfra();
  svc = await startTestService(infra);
  client = svc.client;
});

afterAll(async () => {
  await svc?.stop();
  await infra?.stop();
});

async function failure(call: Promise<unknown>): Promise<ClientError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ClientError);
  return err as ClientError;
}

function violations(err: unknown): Array<{ field: string; description: string }> {
  if (!(err instanceof RichClientError)) return [];
  const bad = err.extra.find((d) => d.$type === BadRequest.$type) as BadRequest | undefined;
  return bad?.fieldViolations ?? [];
}

const base = { displayName: 'T', description: '', htmlBody: '' };

describe('templates', () => {
  it('creates version 1, keeps versions on update, renders any version; ALREADY_EXISTS and ABORTED', async () => {
    const { template } = await client.createTemplate({
      ...base,
      templateId: 'greeting',
      subject: 'Hi {{name}}',
      textBody: 'Hello {{name}} from {{city}}',
    });
    expect(template).toMatchObject({ id: 'greeting', version: 1 });
    const dup = await failure(
      client.createTemplate({ ...base, templateId: 'greeting', subject: 's', textBody: 't' }),
    );
    expect(dup.code).toBe(Status.ALREADY_EXISTS);

    const { template: v2 } = await client.updateTemplate({
      templateId: 'greeting',
      expectedVersion: 1,
      displayName: 'T2',
      subject: 'Hey {{name}}',
      textBody: 'Yo {{name}}',
    });
    expect(v2!.version).toBe(2);
    const stale = await failure(
      client.updateTemplate({
        templateId: 'greeting',
        expectedVersion: 1,
        displayName: 'x',
        subject: 's',
        textBody: 't',
      }),
    );
    expect(stale.code).toBe(Status.ABORTED);

    expect((await client.getTemplate({ templateId: 'greeting' })).template!.version).toBe(2);
    expect(
      (await client.getTemplate({ templateId: 'greeting', version: 1 })).template!.subject,
    ).toBe('Hi {{name}}');
    expect((await failure(client.getTemplate({ templateId: 'greeting', version: 9 }))).code).toBe(
      Status.NOT_FOUND,
    );

    const v1 = await client.renderTemplate({
      templateId: 'greeting',
      version: 1,
      variables: { name: 'Ann', city: 'Oslo' },
    });
    expect(v1).toMatchObject({
      subject: 'Hi Ann',
      textBody: 'Hello Ann from Oslo',
      templateVersion: 1,
    });
    const latest = await client.renderTemplate({
      templateId: 'greeting',
      variables: { name: 'Ann' },
    });
    expect(latest).toMatchObject({ subject: 'Hey Ann', textBody: 'Yo Ann', templateVersion: 2 });
  });

  it('a syntax error is INVALID_ARGUMENT TEMPLATE_SYNTAX naming the field, line and column', async () => {
    const err = await failure(
      client.createTemplate({
        ...base,
        templateId: 'broken',
        subject: 'ok',
        textBody: 'line one\nHello {{name}',
      }),
    );
    expect(err.code).toBe(Status.INVALID_ARGUMENT);
    expect(errorInfo(err)?.reason).toBe('TEMPLATE_SYNTAX');
    const [v] = violations(err);
    expect(v.field).toBe('text_body');
    expect(v.description).toBe("line 2, column 13: expected '}}' to close '{{name', found '}'");
    expect(err.details).toBe(
      "text_body: line 2, column 13: expected '}}' to close '{{name', found '}'",
    );
    const unclosed = await failure(
      client.createTemplate({
        ...base,
        templateId: 'broken2',
        subject: '{{#if x}}open',
        textBody: 't',
      }),
    );
    expect(violations(unclosed)[0]).toMatchObject({ field: 'subject' });
    expect(violations(unclosed)[0].description).toBe(
      "line 1, column 14: expected '{{/if}}' to close '{{#if x}}' from line 1, found the end of the template",
    );
  });

  it('a missing variable at render is TEMPLATE_VARIABLE_MISSING naming its path, not an empty string', async () => {
    await client.createTemplate({
      ...base,
      templateId: 'nested',
      subject: 'For {{user.name}}',
      textBody: '{{#if promo}}Promo {{promo}}{{/if}} {{recipient.email}}',
    });
    const err = await failure(
      client.renderTemplate({ templateId: 'nested', variables: { user: {} } }),
    );
    expect(err.code).toBe(Status.INVALID_ARGUMENT);
    expect(errorInfo(err)?.reason).toBe('TEMPLATE_VARIABLE_MISSING');
    expect(violations(err)[0].field).toBe('variables.user.name');
    const ok = await client.renderTemplate({
      templateId: 'nested',
      variables: { user: { name: 'Bo' } },
      recipient: 'Bo@Example.test',
    });
    expect(ok.subject).toBe('For Bo');
    expect(ok.textBody).toBe(' bo@example.test');
  });

  it('validates ids and lengths; lists latest versions by id with paging; event templates are seeded', async () => {
    const bad = await failure(
      client.createTemplate({ ...base, templateId: 'Bad Id', subject: 's', textBody: 't' }),
    );
    expect(violations(bad)[0].field).toBe('template_id');
    const empty = await failure(
      client.createTemplate({ ...base, templateId: 'x1', subject: '', textBody: '' }),
    );
    expect(violations(empty).map((v) => v.field)).toEqual(['subject', 'text_body']);
    const ids: string[] = [];
    let pageToken = '';
    do {
      const page = await client.listTemplates({ pageSize: 2, pageToken });
      ids.push(...page.templates.map((t) => t.id));
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(ids).toEqual([...ids].sort());
    expect(ids).toEqual(
      expect.arrayContaining([
        'account.welcome',
        'account.transfer-receipt',
        'account.frozen',
        'ops.job-dead-lettered',
      ]),
    );
    expect((await failure(client.listTemplates({ pageSize: -1 }))).code).toBe(
      Status.INVALID_ARGUMENT,
    );
  });
});

describe('ids and filters', () => {
  it('a malformed id is INVALID_ARGUMENT naming the field in every call; a well-formed unknown one NOT_FOUND', async () => {
    const uuid = (noun: string) => `is not a valid ${noun} id (expected a UUID)`;
    const template =
      'is not a valid template id (expected 1-63 characters of [a-z0-9.-] starting with a letter)';
    const content = { ...base, subject: 's', textBody: 't' };
    const calls: Array<[() => Promise<unknown>, string, string]> = [
      [() => client.getContact({ contactId: 'not-a-uuid' }), 'contact_id', uuid('contact')],
      [() => client.deleteContact({ contactId: 'not-a-uuid' }), 'contact_id', uuid('contact')],
      [
        () => client.getNotification({ notificationId: 'not-a-uuid' }),
        'notification_id',
        uuid('notification'),
      ],
      [() => client.getCampaign({ campaignId: 'not-a-uuid' }), 'campaign_id', uuid('campaign')],
      [() => client.cancelCampaign({ campaignId: 'not-a-uuid' }), 'campaign_id', uuid('campaign')],
      [() => client.getTemplate({ templateId: 'Not A Template' }), 'template_id', template],
      [() => client.renderTemplate({ templateId: 'Not A Template' }), 'template_id', template],
      [
        () => client.updateTemplate({ ...content, templateId: 'Not A Template' }),
        'template_id',
        template,
      ],
      [
        () =>
          client.sendEmail({
            to: ['a@example.test'],
            template: { templateId: 'Not A Template', templateVersion: 0 },
            idempotencyKey: 'malformed-template-id',
          }),
        'template.template_id',
        template,
      ],
    ];
    for (const [call, field, description] of calls) {
      const err = await failure(call());
      expect(err.code).toBe(Status.INVALID_ARGUMENT);
      expect(violations(err).map((v) => ({ field: v.field, description: v.description }))).toEqual([
        { field, description },
      ]);
    }
    const unknown = '00000000-0000-4000-8000-000000000000';
    for (const call of [
      () => client.getContact({ contactId: unknown }),
      () => client.getNotification({ notificationId: unknown }),
      () => client.getCampaign({ campaignId: unknown }),
      () => client.getTemplate({ templateId: 'no-such-template' }),
    ])
      expect((await failure(call())).code).toBe(Status.NOT_FOUND);
  });

  it('refuses ListNotifications filters no notification can match, naming the field', async () => {
    const now = Date.now();
    const cases: Array<[notificationV1.ListNotificationsRequest | object, string]> = [
      [{ createdAfter: new Date(now), createdBefore: new Date(now - 60_000) }, 'created_after'],
      [{ campaignId: 'not-a-uuid' }, 'campaign_id'],
      [{ recipient: 'not an address' }, 'recipient'],
    ];
    for (const [request, field] of cases) {
      const err = await failure(client.listNotifications(request));
      expect(err.code).toBe(Status.INVALID_ARGUMENT);
      expect(violations(err).map((v) => v.field)).toEqual([field]);
    }
  });
});

describe('contacts and suppressions', () => {
  it('email unique (ALREADY_EXISTS) and validated; stored lower-cased; get/delete NOT_FOUND', async () => {
    const { contact } = await client.createContact({
      email: 'Ann@Example.COM',
      name: 'Ann',
      address: {
        lines: ['1 Main St'],
        locality: 'Oslo',
        region: '',
        postalCode: '0150',
        countryCode: 'NO',
      },
      attributes: { tier: 'gold' },
    });
    expect(contact).toMatchObject({ email: 'ann@example.com', attributes: { tier: 'gold' } });
    expect((await client.getContact({ contactId: contact!.id })).contact!.address!.locality).toBe(
      'Oslo',
    );
    expect((await failure(client.createContact({ email: 'ann@example.com' }))).code).toBe(
      Status.ALREADY_EXISTS,
    );
    const invalid = await failure(
      client.createContact({ email: 'not an email', name: 'x'.repeat(201) }),
    );
    expect(violations(invalid).map((v) => v.field)).toEqual(['email', 'name']);
    await client.deleteContact({ contactId: contact!.id });
    expect((await failure(client.getContact({ contactId: contact!.id }))).code).toBe(
      Status.NOT_FOUND,
    );
    expect((await failure(client.deleteContact({ contactId: contact!.id }))).code).toBe(
      Status.NOT_FOUND,
    );
  });

  it('lists by email, filtered by exact domain, in pages; a foreign token is INVALID_PAGE_TOKEN', async () => {
    for (const email of [
      'b@dom.test',
      'a@dom.test',
      'c@dom.test',
      'z@sub.dom.test',
      'y@other.test',
    ]) {
      await client.createContact({ email });
    }
    const first = await client.listContacts({ emailDomain: 'DOM.test', pageSize: 2 });
    expect(first.contacts.map((c) => c.email)).toEqual(['a@dom.test', 'b@dom.test']);
    const second = await client.listContacts({
      emailDomain: 'dom.test',
      pageSize: 2,
      pageToken: first.nextPageToken,
    });
    expect(second.contacts.map((c) => c.email)).toEqual(['c@dom.test']);
    expect(second.nextPageToken).toBe('');
    const foreign = await failure(
      client.listContacts({ emailDomain: 'other.test', pageToken: first.nextPageToken }),
    );
    expect(errorInfo(foreign)?.reason).toBe('INVALID_PAGE_TOKEN');
    expect((await failure(client.listContacts({ pageToken: 'garbage!' }))).code).toBe(
      Status.INVALID_ARGUMENT,
    );
  });

  it('Unsubscribe is idempotent, ListSuppressions pages by email, RemoveSuppression NOT_FOUND when absent', async () => {
    const { suppression } = await client.unsubscribe({
      email: 'Out@Example.test',
      reason: notificationV1.SuppressionReason.SUPPRESSION_REASON_COMPLAINED,
      comment: 'spam',
    });
    expect(suppression).toMatchObject({ email: 'out@example.test', comment: 'spam' });
    const again = await client.unsubscribe({
      email: 'out@example.test',
      reason: 0,
      comment: 'other',
    });
    expect(again.suppression).toMatchObject({
      comment: 'spam',
      reason: notificationV1.SuppressionReason.SUPPRESSION_REASON_COMPLAINED,
    });
    await client.unsubscribe({ email: 'a-out@example.test', reason: 0, comment: '' });
    const page = await client.listSuppressions({ pageSize: 1 });
    expect(page.suppressions.map((s) => s.email)).toEqual(['a-out@example.test']);
    const rest = await client.listSuppressions({ pageSize: 10, pageToken: page.nextPageToken });
    expect(rest.suppressions.map((s) => s.email)).toEqual(['out@example.test']);
    await client.removeSuppression({ email: 'OUT@example.test' });
    expect((await failure(client.removeSuppression({ email: 'out@example.test' }))).code).toBe(
      Status.NOT_FOUND,
    );
    expect(
      violations(await failure(client.unsubscribe({ email: 'nope', reason: 0, comment: '' })))[0]
        .field,
    ).toBe('email');
  });

  it('is reachable by buf curl through server reflection', async () => {
    const result = await bufCurl([
      '--data',
      '{"email":"curl@example.test","name":"Curl"}',
      `http://${svc.service.grpcAddress}/trellis.notification.v1.NotificationService/CreateContact`,
    ]);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toMatchObject({
      contact: { email: 'curl@example.test', name: 'Curl' },
    });
  });
});
