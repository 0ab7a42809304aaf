import type { Devstack } from './devstack';

/** The table a newcomer reads after `npm start`, plus how to call the services. */
export function printReady(devstack: Devstack, elapsedMs: number): void {
  const { endpoints: e, pki } = devstack;
  const rows: Array<[string, string, string]> = [
    ['account-service', e.account, e.metrics.account],
    ['job-service', e.job, e.metrics.job],
    ['notification-service', e.notification, e.metrics.notification],
  ];
  const width = Math.max(...rows.map((r) => r[0].length));
  const lines = [
    '',
    `Trellis is ready (${(elapsedMs / 1000).toFixed(1)} s)${pki ? ' — secure mode: mTLS + service tokens' : ''}`,
    '',
    `  ${'service'.padEnd(width)}  ${'gRPC'.padEnd(16)}  metrics`,
    ...rows.map(
      ([name, grpc, metrics]) => `  ${name.padEnd(width)}  ${grpc.padEnd(16)}  ${metrics}`,
    ),
    '',
    `  MongoDB   ${e.mongoUri}`,
    `  Kafka     ${e.kafkaBrokers.join(',')}`,
    `  SMTP      ${e.smtpUrl}`,
    `  Mailbox   ${e.mailboxUrl ?? '(real SMTP server: read mail there)'}`,
    `  Mail HTTP ${e.notificationHttpUrl} (one-click unsubscribe, delivery-event webhook)`,
    '',
  ];
  if (pki) {
    const admin = pki.identities.admin;
    const host = e.account.replace('127.0.0.1', 'localhost');
    lines.push(
      '  Call it with the admin identity (tokens live 15 minutes; audience = the service called):',
      `    grpcurl -cacert ${pki.caFile} -cert ${admin.certFile} -key ${admin.keyFile} \\`,
      `      -H "authorization: Bearer $(npm run -s token -- account-service)" ${host} list`,
      `    npx buf curl --cacert ${pki.caFile} --cert ${admin.certFile} --key ${admin.keyFile} --protocol grpc \\`,
      `      -H "authorization: Bearer $(npm run -s token -- account-service)" --list-methods https://${host}`,
      '',
    );
  } else {
    lines.push(
      `  Try:  grpcurl -plaintext ${e.account} list`,
      '        (README: the walkthrough)',
      '',
    );
  }
  lines.push('  Ctrl-C stops everything.', '');
  console.log(lines.join('\n'));
}
