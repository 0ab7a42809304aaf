// ISO 4217 minor-unit exponents that differ from 2.
const EXPONENT: Record<string, number> = {
  BHD: 3,
  BIF: 0,
  CLP: 0,
  DJF: 0,
  GNF: 0,
  IQD: 3,
  ISK: 0,
  JOD: 3,
  JPY: 0,
  KMF: 0,
  KRW: 0,
  KWD: 3,
  LYD: 3,
  OMR: 3,
  PYG: 0,
  RWF: 0,
  TND: 3,
  UGX: 0,
  UYI: 0,
  VND: 0,
  VUV: 0,
  XAF: 0,
  XOF: 0,
  XPF: 0,
};

/** "EUR 12.50" from 1250n minor units, in bigint arithmetic (no floats). */
export function formatMoney(currencyCode: string, units: bigint): string {
  const exponent = EXPONENT[currencyCode] ?? 2;
  const negative = units < 0n;
  const abs = negative ? -units : units;
  if (exponent === 0) return `${currencyCode} ${negative ? '-' : ''}${abs}`;
  const scale = 10n ** BigInt(exponent);
  const fraction = (abs % scale).toString().padStart(exponent, '0');
  return `${currencyCode} ${negative ? '-' : ''}${abs / scale}.${fraction}`;
}
