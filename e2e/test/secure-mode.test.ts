import { type ClientError, Metadata, Status } from 'nice-grpc';
import { accountV1, jobV1, notificationV1 } from '@trellis/contracts';
import {
  channelTlsCredentials,
  createGrpcClient,
  ServiceTokenSigner,
} from '@trellis/platform/grpc';
import { startSystem, type E2eSystem } from './support';

let system: E2eSystem;
beforeAll(async () => {
  system = await startSystem({ secure: true });
});
afterAll(() => system?.stop());

/** A client holding `identity`'s certificate and service tokens (each its own connection). */
function clientAs<D extends Parameters<typeof createGrpcClient>[0]>(
  identity: string,
  definition: D,
  address: string,
  audience: string,
) {
  const pki = system.devstack.pki!;
  const own = pki.identities[identity];
  return createGrpcClient(definition, {
    address,
    maxAttempts: 1,
    credentials: channelTlsCredentials({
      caFile: pki.caFile,
      certFile: own.certFile,
      keyFile: own.keyFile,
    }),
    serviceToken: {
      signer: new ServiceTokenSigner(identity, own.tokenPrivateKeyPem),
      audience,
    },
  });
}

function adminClient<D extends Parameters<typeof createGrpcClient>[0]>(
  definition: D,
  address: string,
  audience: string,
) {
  return clientAs('admin', definition, address, audience);
}

const codeOf = (call: Promise<unknown>) =>
  call.then(
    () => Status.OK,
    (e: ClientError) => e.code,
  );

describe('npm start -- --secure: mTLS and service tokens end to end', () => {
  it('refuses a plaintext client', async () => {
    const plain = system.client(
      accountV1.AccountServiceDefinition,
      system.devstack.endpoints.account,
    );
    const err = (await plain
      .getAccount({ accountId: 'acc_x' })
      .catch((e: unknown) => e)) as ClientError;
    expect(err.code).toBe(Status.UNAVAILABLE);
  });

  it('refuses a token minted for another service', async () => {
    const { client, close } = adminClient(
      accountV1.AccountServiceDefinition,
      system.devstack.endpoints.account,
      'job-service',
    );
    const err = (await client
      .getAccount({ accountId: 'acc_x' })
      .catch((e: unknown) => e)) as ClientError;
    close();
    expect(err.code).toBe(Status.UNAUTHENTICATED);
  });

  it('the journey works: accounts, a transfer with receipts, and a campaign worked over mTLS between services', async () => {
    const { endpoints } = system.devstack;
    const accounts = adminClient(
      accountV1.AccountServiceDefinition,
      endpoints.account,
      'account-service',
    );
    const notifications = adminClient(
      notificationV1.NotificationServiceDefinition,
      endpoints.notification,
      'notification-service',
    );
    try {
      const open = async (name: string, email: string) =>
        (await accounts.client.openAccount({ ownerName: name, email, currencyCode: 'EUR' }))
          .account!.id;
      const erin = await open('Erin Secure', 'erin@secure.example');
      const frank = await open('Frank Secure', 'frank@secure.example');
      await accounts.client.deposit({
        accountId: erin,
        amount: { currencyCode: 'EUR', units: 5_000n },
        idempotencyKey: 'secure-dep',
      });
      await accounts.client.transfer({
        fromAccountId: erin,
        toAccountId: frank,
        amount: { currencyCode: 'EUR', units: 1_000n },
        idempotencyKey: 'secure-transfer',
      });
      const sink = system.devstack.smtp!;
      await sink.waitForMessages((m) => m.envelope.to.includes('frank@secure.example'), {
        count: 2,
        timeoutMs: 30_000,
      });

      // The campaign makes notification-service call job-service (CreateJob, then ClaimJobs as a worker).
      await notifications.client.createContact({ email: 'gina@campaign.example', name: 'Gina' });
      await notifications.client.createTemplate({
        templateId: 'secure-news',
        displayName: 'News',
        subject: 'News for {{recipient.name}}',
        textBody: 'Hello',
      });
      const { campaign } = await notifications.client.startCampaign({
        templateId: 'secure-news',
        emailDomain: 'campaign.example',
        idempotencyKey: 'secure-campaign',
      });
      const [mail] = await sink.waitForMessages(
        (m) => m.envelope.to.includes('gina@campaign.example'),
        { timeoutMs: 30_000 },
      );
      expect(mail.subject).toBe('News for Gina');
      expect(campaign!.id).toBeTruthy();
    } finally {
      accounts.close();
      notifications.close();
    }
  });

  it('only the admin identity may freeze an account; another service gets PERMISSION_DENIED', async () => {
    const pki = system.devstack.pki!;
    const { endpoints } = system.devstack;
    const admin = adminClient(
      accountV1.AccountServiceDefinition,
      endpoints.account,
      'account-service',
    );
    const identity = pki.identities['notification-service'];
    const asNotification = createGrpcClient(accountV1.AccountServiceDefinition, {
      address: endpoints.account,
      maxAttempts: 1,
      credentials: channelTlsCredentials({
        caFile: pki.caFile,
        certFile: identity.certFile,
        keyFile: identity.keyFile,
      }),
      serviceToken: {
        signer: new ServiceTokenSigner('notification-service', identity.tokenPrivateKeyPem),
        audience: 'account-service',
      },
    });
    try {
      const { account } = await admin.client.openAccount({
        ownerName: 'Hal Frozen',
        email: 'hal@secure.example',
        currencyCode: 'EUR',
      });
      const denied = (await asNotification.client
        .freezeAccount({ accountId: account!.id, reason: 'x' })
        .catch((e: unknown) => e)) as ClientError;
      expect(denied.code).toBe(Status.PERMISSION_DENIED);
      await expect(
        asNotification.client.getAccount({ accountId: account!.id }),
      ).resolves.toBeDefined();
      const frozen = await admin.client.freezeAccount({
        accountId: account!.id,
        reason: 'fraud check',
      });
      expect(frozen.account!.status).toBe(accountV1.AccountStatus.ACCOUNT_STATUS_FROZEN);
    } finally {
      admin.close();
      asNotification.close();
    }
  });

  it('only the notification-service may work email.campaign jobs', async () => {
    const jobs = adminClient(
      jobV1.JobServiceDefinition,
      system.devstack.endpoints.job,
      'job-service',
    );
    try {
      const denied = (await jobs.client
        .claimJobs({ workerId: 'intruder', types: ['email.campaign'], maxJobs: 1 })
        .catch((e: unknown) => e)) as ClientError;
      expect(denied.code).toBe(Status.PERMISSION_DENIED);
      await expect(
        jobs.client.claimJobs({ workerId: 'admin-worker', types: ['demo.echo'], maxJobs: 1 }),
      ).resolves.toBeDefined();
    } finally {
      jobs.close();
    }
  });

  it("each service's default policy refuses an identity with no business calling a method", async () => {
    const { endpoints } = system.devstack;
    const jobsAsAccount = clientAs(
      'account-service',
      jobV1.JobServiceDefinition,
      endpoints.job,
      'job-service',
    );
    const mailAsAccount = clientAs(
      'account-service',
      notificationV1.NotificationServiceDefinition,
      endpoints.notification,
      'notification-service',
    );
    const accountsAsJob = clientAs(
      'job-service',
      accountV1.AccountServiceDefinition,
      endpoints.account,
      'account-service',
    );
    const jobsAsNotification = clientAs(
      'notification-service',
      jobV1.JobServiceDefinition,
      endpoints.job,
      'job-service',
    );
    try {
      const jobs = jobsAsAccount.client;
      const mail = mailAsAccount.client;
      const refused = await Promise.all([
        codeOf(jobs.claimJobs({ workerId: 'w', types: ['demo.echo'], maxJobs: 1 })),
        codeOf(jobs.cancelJob({ jobId: 'job_x', reason: 'x' })),
        codeOf(jobs.createJob({ type: 'demo.echo', payload: { message: 'x' } })),
        codeOf(jobs.listJobs({})),
        codeOf(mail.removeSuppression({ email: 'nobody@example.com' })),
        codeOf(mail.createTemplate({ templateId: 't', displayName: 't', subject: 's' })),
        codeOf(mail.listContacts({})),
        codeOf(mail.startCampaign({ templateId: 't', emailDomain: 'x.example' })),
        codeOf(accountsAsJob.client.freezeAccount({ accountId: 'acc_x', reason: 'x' })),
        codeOf(jobsAsNotification.client.retryJob({ jobId: 'job_x' })),
      ]);
      expect(refused).toEqual(refused.map(() => Status.PERMISSION_DENIED));
      // What the same identities are there for still works: a service sends mail, the
      // notification-service works its job types.
      await expect(
        mail.sendEmail({
          to: ['policy@secure.example'],
          inline: { subject: 'allowed', textBody: 'x', htmlBody: '' },
          idempotencyKey: 'policy-send',
        }),
      ).resolves.toBeDefined();
      await expect(
        jobsAsNotification.client.claimJobs({
          workerId: 'notification-worker',
          types: ['demo.echo'],
          maxJobs: 1,
        }),
      ).resolves.toBeDefined();
    } finally {
      for (const handle of [jobsAsAccount, mailAsAccount, accountsAsJob, jobsAsNotification])
        handle.close();
    }
    const denied = system.logs.filter(
      (l) => l.event === 'security' && l.outcome === 'permission_denied',
    );
    expect(denied).toContainEqual(
      expect.objectContaining({
        caller: 'account-service',
        'rpc.method': '/trellis.job.v1.JobService/ClaimJobs',
      }),
    );
  });

  it('the per-caller send limit counts the authenticated service: forged headers and new connections stay limited', async () => {
    const { endpoints } = system.devstack;
    const send = (client: notificationV1.NotificationServiceClient, i: number, tag: string) =>
      codeOf(
        client.sendEmail(
          {
            to: ['limit@secure.example'],
            inline: { subject: `limit ${tag}`, textBody: 'x', htmlBody: '' },
            idempotencyKey: `limit-${tag}-${i}`,
          },
          { metadata: Metadata({ 'x-caller': `someone-${tag}-${i}` }) },
        ),
      );
    // The reproducer: 100 concurrent SendEmail, each naming another x-caller, half of
    // them over connections of their own, all with the account-service's credentials.
    const handles = Array.from({ length: 51 }, () =>
      clientAs(
        'account-service',
        notificationV1.NotificationServiceDefinition,
        endpoints.notification,
        'notification-service',
      ),
    );
    const asJob = clientAs(
      'job-service',
      notificationV1.NotificationServiceDefinition,
      endpoints.notification,
      'notification-service',
    );
    try {
      // Connections and tokens first (ListTemplates is not rate-limited), so the burst is fast.
      await Promise.all(handles.map((h) => h.client.listTemplates({})));
      const started = performance.now();
      const codes = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          send(handles[i % 2 === 0 ? 0 : 1 + (i >> 1)].client, i, 'account'),
        ),
      );
      const seconds = (performance.now() - started) / 1000;
      const ok = codes.filter((c) => c === Status.OK).length;
      const limited = codes.filter((c) => c === Status.RESOURCE_EXHAUSTED).length;
      expect(ok + limited).toBe(100);
      // One bucket (CALLER_RATE_BURST 40, 20/s) lets through at most the burst plus what refills
      // while the calls run; a bucket per header or connection would let all 100 through.
      expect(ok).toBeGreaterThanOrEqual(39);
      expect(ok).toBeLessThanOrEqual(40 + Math.ceil(20 * seconds) + 1);
      // Another service has its own bucket.
      expect(await send(asJob.client, 0, 'job')).toBe(Status.OK);
    } finally {
      handles.forEach((h) => h.close());
      asJob.close();
    }
    const access = system.logs.filter(
      (l) =>
        l['rpc.method'] === '/trellis.notification.v1.NotificationService/SendEmail' &&
        typeof l.msg === 'string' &&
        l.msg.startsWith('rpc'),
    );
    expect(new Set(access.map((l) => l.caller))).toEqual(
      new Set(['account-service', 'job-service']),
    );
  });

  it('no log line carries an email address, even errors about one', async () => {
    const notifications = adminClient(
      notificationV1.NotificationServiceDefinition,
      system.devstack.endpoints.notification,
      'notification-service',
    );
    try {
      expect(
        await codeOf(notifications.client.removeSuppression({ email: 'nobody@example.com' })),
      ).toBe(Status.NOT_FOUND);
    } finally {
      notifications.close();
    }
    const all = system.rawLogs.join('\n');
    expect(all).toContain('n***@example.com');
    // Every address this suite used, and any address at all: masked ones keep `***` before `@`.
    const addresses = all.match(
      /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g,
    );
    expect(addresses ?? []).toEqual([]);
  });

  it('no log line carries a token or a private key', () => {
    const all = system.rawLogs.join('\n');
    expect(all).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/);
    expect(all).not.toContain('PRIVATE KEY');
    expect(system.logs.some((l) => l.event === 'security' && l.outcome === 'unauthenticated')).toBe(
      true,
    );
  });
});
