import { generateKeyPairSync } from 'node:crypto';
import { dkimTransportOption } from './dkim-options';

describe('dkimTransportOption', () => {
  const pem = generateKeyPairSync('ed25519')
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();

  it('is undefined without a key (signing off)', () => {
    expect(
      dkimTransportOption({ privateKey: '', selector: 'trellis', domain: 'trellis.dev' }),
    ).toBeUndefined();
  });

  it('maps key, selector and domain, signing the List-Unsubscribe headers too', () => {
    expect(dkimTransportOption({ privateKey: pem, selector: 's1', domain: 'trellis.dev' })).toEqual(
      {
        domainName: 'trellis.dev',
        keySelector: 's1',
        privateKey: pem,
        headerFieldNames: expect.stringContaining('List-Unsubscribe:List-Unsubscribe-Post'),
      },
    );
  });

  it('refuses a key that is not a PEM private key, or a missing domain, at start', () => {
    expect(() =>
      dkimTransportOption({ privateKey: 'nope', selector: 's1', domain: 'trellis.dev' }),
    ).toThrow(/DKIM_PRIVATE_KEY is not a PEM private key/);
    expect(() => dkimTransportOption({ privateKey: pem, selector: 's1', domain: '' })).toThrow(
      /DKIM_DOMAIN/,
    );
  });
});
