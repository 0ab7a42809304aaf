import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { createDevPki } from './create-dev-pki';

describe('createDevPki', () => {
  it('issues CA-signed certificates naming each identity and a JWKS of token keys', async () => {
    const pki = await createDevPki(mkdtempSync(join(tmpdir(), 'pki-')), [
      'account-service',
      'admin',
    ]);
    const ca = new X509Certificate(readFileSync(pki.caFile));
    for (const name of ['account-service', 'admin']) {
      const identity = pki.identities[name];
      const cert = new X509Certificate(readFileSync(identity.certFile));
      expect(cert.verify(ca.publicKey)).toBe(true);
      expect(cert.subjectAltName).toContain(`DNS:${name}`);
      expect(cert.subjectAltName).toContain('IP Address:127.0.0.1');
      expect(
        execFileSync('openssl', ['verify', '-CAfile', pki.caFile, identity.certFile]).toString(),
      ).toContain('OK');
      expect(identity.tokenPrivateKeyPem).toContain('BEGIN PRIVATE KEY');
    }
    expect(pki.jwks.keys.map((k) => k.kid)).toEqual(['account-service', 'admin']);
    expect(JSON.parse(readFileSync(pki.jwksFile, 'utf8')).keys[0]).not.toHaveProperty('d');
  });
});
