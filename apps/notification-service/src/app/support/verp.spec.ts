import { KeyRing } from './key-ring';
import { VerpAddresses } from './verp';

const id = '0b6c9f52-3f7e-4c55-9d7a-3f0b1a2c4d5e';

describe('VerpAddresses', () => {
  const verp = new VerpAddresses(
    KeyRing.parse('k2:second-secret-0123456789,k1:first-secret-0123456789'),
    'bounce.trellis.test',
  );

  it('encodes a notification id into a return path that fits a local part, and decodes it', () => {
    const address = verp.encode(id);
    expect(address).toMatch(
      /^bounce\+0b6c9f52-3f7e-4c55-9d7a-3f0b1a2c4d5e\.[0-9a-f]{16}@bounce\.trellis\.test$/,
    );
    expect(address.split('@')[0].length).toBeLessThanOrEqual(64);
    expect(verp.decode(address)).toBe(id);
    expect(verp.decode(address.toUpperCase())).toBe(id);
  });

  it('decodes addresses signed with an older key of the ring', () => {
    const old = new VerpAddresses(
      KeyRing.parse('k1:first-secret-0123456789'),
      'bounce.trellis.test',
    );
    expect(verp.decode(old.encode(id))).toBe(id);
  });

  it('refuses forged, altered and foreign addresses', () => {
    const address = verp.encode(id);
    const other = 'ffffffff-3f7e-4c55-9d7a-3f0b1a2c4d5e';
    expect(verp.decode(address.replace(id, other))).toBeUndefined();
    expect(verp.decode(address.replace('bounce.trellis.test', 'evil.test'))).toBeUndefined();
    expect(verp.decode(`bounce+${id}.0000000000000000@bounce.trellis.test`)).toBeUndefined();
    expect(verp.decode('ann@example.com')).toBeUndefined();
  });
});
