import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceTokenSigner } from '@trellis/platform/grpc';

// Prints a 15-minute service token of the devstack's `admin` identity for the service named on the
// command line (the token's audience), for `grpcurl -H "authorization: Bearer $(…)"` in --secure mode.
async function main(): Promise<void> {
  const audience = process.argv[2];
  if (!audience) {
    console.error('usage: npm run -s token -- <account-service|job-service|notification-service>');
    process.exit(2);
  }
  const keyFile = join(__dirname, '..', '..', '..', '.data', 'pki', 'admin.token.key');
  const signer = new ServiceTokenSigner('admin', readFileSync(keyFile, 'utf8'), 15 * 60);
  console.log(await signer.token(audience));
}

main().catch((err: unknown) => {
  console.error(
    `cannot mint a token (start the devstack with --secure first): ${(err as Error).message}`,
  );
  process.exit(1);
});
