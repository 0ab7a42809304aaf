import { loadServiceConfig } from './config';

describe('account-service config', () => {
  it('has defaults that work unset, money limits as bigint', () => {
    const config = loadServiceConfig({});
    expect(config.GRPC_PORT).toBe(50051);
    expect(config.METRICS_PORT).toBe(9464);
    expect(config.MONGODB_DATABASE).toBe('trellis_account');
    expect(config.ACCOUNT_MAX_AMOUNT_UNITS).toBe(100_000_000_000n);
    expect(config.ACCOUNT_IDEMPOTENCY_TTL_SECONDS).toBeGreaterThanOrEqual(24 * 3600);
  });

  it('stops on a bad value with one line naming the variable', () => {
    expect(() => loadServiceConfig({ ACCOUNT_MAX_AMOUNT_UNITS: '0' })).toThrow(
      /^Invalid configuration: ACCOUNT_MAX_AMOUNT_UNITS is invalid/,
    );
    expect(() => loadServiceConfig({ ACCOUNT_MAX_AMOUNT_UNITS: '9223372036854775808' })).toThrow(
      /ACCOUNT_MAX_AMOUNT_UNITS/,
    );
    expect(() => loadServiceConfig({ ACCOUNT_IDEMPOTENCY_TTL_SECONDS: '60' })).toThrow(
      /ACCOUNT_IDEMPOTENCY_TTL_SECONDS/,
    );
    expect(
      loadServiceConfig({ ACCOUNT_MAX_AMOUNT_UNITS: '9223372036854775807' })
        .ACCOUNT_MAX_AMOUNT_UNITS,
    ).toBe(2n ** 63n - 1n);
  });
});
