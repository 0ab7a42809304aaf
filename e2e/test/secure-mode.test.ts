import { type ClientError, Status } from 'nice-grpc';
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

function adminClient<D extends Parameters<typeof createGrpcClient>[0]>(
  definition: D,
  address: string,
  audience: string,
) {
  const pki = system.devstack.pki!;
  const admin = pki.identities.admin;
  return createGrpcClient(definition, {
    address,
    maxAttempts: 1,
    credentials: channelTlsCredentials({
      caFile: pki.caFile,
      certFile: admin.certFile,
      keyFile: admin.keyFile,
    }),
    serviceToken: { signer: new ServiceTokenSigner('admin', admin.tokenPrivateKeyPem), audience },
  });
}

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

  it('no log line carries a token or a private key', () => {
    const all = system.rawLogs.join('\n');
    expect(all).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/);
    expect(all).not.toContain('PRIVATE KEY');
    expect(system.logs.some((l) => l.event === 'security' && l.outcome === 'unauthenticated')).toBe(
      true,
    );
  });
});
