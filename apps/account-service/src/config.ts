import { z } from 'zod';
import { envInt, loadConfig } from '@trellis/platform/config';
import { serviceConfigShape } from '@trellis/platform/bootstrap';

const INT64_MAX = (1n << 63n) - 1n;

/** A positive int64 given in decimal, held as a bigint (money never passes through a JS number). */
function envUnits(defaultValue: bigint) {
  return z
    .string()
    .regex(/^\d+$/, { message: `expected an integer between 1 and ${INT64_MAX}` })
    .optional()
    .transform((v) => (v === undefined ? defaultValue : BigInt(v)))
    .refine((n) => n >= 1n && n <= INT64_MAX, {
      message: `expected an integer between 1 and ${INT64_MAX}`,
    });
}

/**
 * With service tokens on: any authenticated service may read and move money (the account-service's
 * callers are the business's own services); only an operator identity may freeze, unfreeze or
 * close accounts.
 */
export const DEFAULT_AUTHZ_POLICY: Record<string, string[]> = {
  'trellis.account.v1.AccountService/*': ['*'],
  'trellis.account.v1.AccountService/FreezeAccount': ['admin'],
  'trellis.account.v1.AccountService/UnfreezeAccount': ['admin'],
  'trellis.account.v1.AccountService/CloseAccount': ['admin'],
};

export const configShape = {
  ...serviceConfigShape({
    grpcPort: 50051,
    metricsPort: 9464,
    database: 'trellis_account',
    authorizationPolicy: DEFAULT_AUTHZ_POLICY,
  }),
  /** Largest amount (minor units) one Deposit/Withdraw/Transfer or an overdraft limit may carry. */
  ACCOUNT_MAX_AMOUNT_UNITS: envUnits(100_000_000_000n),
  /** How long idempotency keys are remembered; at least 24 h (the API's promise). */
  ACCOUNT_IDEMPOTENCY_TTL_SECONDS: envInt(7 * 24 * 3600, 24 * 3600),
};

export type AccountServiceConfig = z.infer<z.ZodObject<typeof configShape>>;

export function loadServiceConfig(
  env: Record<string, string | undefined> = process.env,
): AccountServiceConfig {
  return loadConfig(configShape, env);
}
