import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, exportPKCS8, generateKeyPair, type JWK } from 'jose';

export interface DevIdentity {
  /** The service (or person, e.g. `admin`) this identity names: certificate SAN and token subject. */
  name: string;
  certFile: string;
  keyFile: string;
  /** PKCS#8 PEM of the ES256 key that signs this identity's service tokens. */
  tokenPrivateKeyPem: string;
  tokenPrivateKeyFile: string;
  tokenPublicJwk: JWK;
}

export interface DevPki {
  dir: string;
  caFile: string;
  identities: Record<string, DevIdentity>;
  /** JSON Web Key Set of every identity's token key (kid = name): what servers trust. */
  jwks: { keys: JWK[] };
  jwksFile: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

/**
 * A throwaway CA plus, per name, a certificate usable as both TLS server and client (SAN
 * `DNS:<name>`, `DNS:localhost`, `IP:127.0.0.1`) and an ES256 key pair for service tokens.
 * Development and tests only: keys are unencrypted files under `dir`.
 */
export async function createDevPki(dir: string, names: string[]): Promise<DevPki> {
  mkdirSync(dir, { recursive: true });
  const caKey = 'ca.key';
  const caFile = join(dir, 'ca.crt');
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', caKey], dir);
  openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      caKey,
      '-sha256',
      '-days',
      '2',
      '-subj',
      '/CN=Trellis devstack CA',
      '-out',
      'ca.crt',
    ],
    dir,
  );

  const identities: Record<string, DevIdentity> = {};
  for (const name of names) {
    const key = `${name}.key`;
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.ec.key`], dir);
    openssl(['pkcs8', '-topk8', '-nocrypt', '-in', `${name}.ec.key`, '-out', key], dir);
    openssl(['req', '-new', '-key', key, '-subj', `/CN=${name}`, '-out', `${name}.csr`], dir);
    writeFileSync(
      join(dir, `${name}.ext`),
      [
        `subjectAltName=DNS:${name},DNS:localhost,IP:127.0.0.1`,
        'extendedKeyUsage=serverAuth,clientAuth',
        'keyUsage=digitalSignature,keyEncipherment',
        'basicConstraints=CA:FALSE',
      ].join('\n'),
    );
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        caKey,
        '-CAcreateserial',
        '-days',
        '2',
        '-sha256',
        '-extfile',
        `${name}.ext`,
        '-out',
        `${name}.crt`,
      ],
      dir,
    );
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const tokenPrivateKeyPem = await exportPKCS8(privateKey);
    const tokenPrivateKeyFile = join(dir, `${name}.token.key`);
    writeFileSync(tokenPrivateKeyFile, tokenPrivateKeyPem, { mode: 0o600 });
    const tokenPublicJwk = { ...(await exportJWK(publicKey)), kid: name, alg: 'ES256', use: 'sig' };
    identities[name] = {
      name,
      certFile: join(dir, `${name}.crt`),
      keyFile: join(dir, key),
      tokenPrivateKeyPem,
      tokenPrivateKeyFile,
      tokenPublicJwk,
    };
  }
  const jwks = { keys: Object.values(identities).map((i) => i.tokenPublicJwk) };
  const jwksFile = join(dir, 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify(jwks, null, 2));
  return { dir, caFile, identities, jwks, jwksFile };
}
