/** Money is integer minor units in a bigint; there are no floats anywhere. */
export const INT64_MAX = (1n << 63n) - 1n;
export const INT64_MIN = -(1n << 63n);

export interface Money {
  currency: string;
  units: bigint;
}

// The ISO 4217 codes the runtime's ICU data knows (active currencies).
const SUPPORTED = new Set(Intl.supportedValuesOf('currency'));

/** Why `code` is not an accepted ISO 4217 code, or undefined when it is. */
export function currencyProblem(code: string): string | undefined {
  if (!/^[A-Z]{3}$/.test(code)) return 'must be an ISO 4217 code of three upper-case letters';
  if (!SUPPORTED.has(code)) return `${code} is not a supported ISO 4217 currency`;
  return undefined;
}
